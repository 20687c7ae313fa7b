// Package events carries game events from the workers to browsers: it
// publishes to per-session Redis Streams, fans the live events out to the
// SSE clients of each API process through per-session Redis
// subscriptions, and writes resumable text/event-stream responses.
//
// # Publishing
//
// Publisher.Publish runs one Lua script: XADD to "events:session:{<sid>}"
// (MAXLEN ~ bounded, EXPIRE refreshed to StreamTTL) and PUBLISH of a
// compact JSON announcement to the session's channel
// "events:live:{<sid>}" (SPUBLISH, sharded pub/sub, on a Redis Cluster;
// the shared hash tag puts stream and channel in one slot, as a script
// requires there). Because both happen atomically and Redis orders all
// commands, any event is either already in the stream or announced after
// it.
//
// # Fan-out
//
// Hub subscribes a process to the channels of the sessions its clients
// watch, adding a channel with a session's first local subscriber and
// dropping it a linger after the last one left, so that the events each
// replica receives divide with the replicas instead of multiplying. It
// hands each event, encoded once as an SSE frame, to the bounded channels
// of the local subscribers of its session. It never blocks: a subscriber whose buffer
// is full is dropped and its response ends; the client reconnects with
// Last-Event-ID and catches up from the stream. When the Redis
// subscription breaks, every local subscriber is closed the same way
// (ErrInterrupted), so no subscriber silently misses events.
//
// # Streams and resume
//
// Hub.Serve subscribes first (and waits for Redis to confirm the
// session's channel), then replays the stream after the client's
// Last-Event-ID in pages, then follows the live frames, dropping any id not
// above the last one handled (ids compare numerically, ms then seq). Each
// page is read in one MULTI with XINFO STREAM; when entries after the
// requested id were trimmed, the key expired, or the id is ahead of the
// stream, the client gets an explicit "reset" event. Trimming is detected
// exactly: every entry stores its predecessor's id ("prev"), so the first
// retained entry names the last id trimmed away (Redis 7.0's
// max-deleted-entry-id only tracks XDEL, not MAXLEN trimming). Turn streams replay from the turn's start, filter to
// that turn and end after its final event (dm.done, turn.failed or
// turn.cancelled).
//
// # Why not the r3labs/sse server
//
// The named dependency r3labs/sse/v2 is used for its client (tests and
// tools; it resends Last-Event-ID on reconnect). Its server does not fit:
// it keeps an in-memory event log per stream in each process (memory that
// grows with the history, and that another replica does not have), it
// cannot resume from an external log such as our Redis Streams, it has no
// policy for slow clients (no bounded, non-blocking fan-out that drops
// them), no "reset" when history is gone, and no stream that ends after
// a turn's final event. The writer here is small: one goroutine (the
// handler's) per connection, the response's own buffer, and frames
// shared between all subscribers of a session.
package events
