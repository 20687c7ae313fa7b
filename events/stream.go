package events

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// ErrTurnEnded is returned by Serve, before anything was written, when a
// turn stream is resumed with the id of the turn's final event: there is
// nothing left to send. The handler answers 204 No Content, which also
// stops a browser EventSource from reconnecting.
var ErrTurnEnded = errors.New("events: the turn has ended")

// DefaultHeartbeat is the heartbeat of a StreamRequest that sets none.
const DefaultHeartbeat = 15 * time.Second

// ReplayPage is how many stream entries one replay read fetches.
const ReplayPage = 500

// TurnStartMargin is how far before a turn's created_at its stream starts
// (see TurnFrom). The turn's created_at comes from Postgres' clock and the
// stream ids from Redis' clock: a margin absorbs a small skew between them.
// Events of other turns inside the margin are filtered out anyway.
const TurnStartMargin = time.Second

// Reasons of a reset event.
const (
	ResetTrimmed   = "history_trimmed"  // entries after the id were trimmed (MAXLEN)
	ResetExpired   = "history_expired"  // the session's stream expired or never existed
	ResetUnknownID = "unknown_event_id" // the id is ahead of the stream's last entry
)

// StreamRequest describes one SSE response.
type StreamRequest struct {
	SessionID uuid.UUID
	// LastEventID is the client's Last-Event-ID header (or last_event_id
	// query), "" when none. Events after it are sent.
	LastEventID string
	// TurnID selects a turn stream; uuid.Nil streams the whole session.
	TurnID uuid.UUID
	// Viewer is the player the stream is for: events addressed to another
	// player (a whisper's) or excluding this one (their own typing) are
	// not sent. uuid.Nil sees only events addressed to everybody.
	Viewer uuid.UUID
	// From is required for turn streams: an exclusive start id just before
	// the turn began, see TurnFrom.
	From string
	// Heartbeat is the interval of `: ping` comments (DefaultHeartbeat if 0).
	Heartbeat time.Duration
	// Retry is sent once as `retry:`, the client's reconnection delay
	// (nothing is sent if 0).
	Retry time.Duration
	// Stop, when it closes, ends the stream cleanly: the caller's hook for
	// a credential that expired or was revoked (the client reconnects with
	// a fresh one). The request's context cannot do this: a detached
	// stream outlives it.
	Stop <-chan struct{}
	// OnClose, when set, is called once the stream's response has ended,
	// on whichever goroutine served it (detached streams end after Serve
	// returned). It is not called when Serve fails before the stream
	// exists (a bad request, the hub unavailable).
	OnClose func()
}

// TurnFrom returns the From of a turn stream: the turn's created_at minus
// TurnStartMargin, as "<ms>-0".
func TurnFrom(createdAt time.Time) string {
	ms := createdAt.Add(-TurnStartMargin).UnixMilli()
	if ms < 0 {
		ms = 0
	}
	return StreamID{Ms: uint64(ms)}.String()
}

// plan is a validated StreamRequest.
type plan struct {
	viewer  string   // the player the stream is for (canonical), "" for none
	turn    string   // the turn's id, "" for a session stream
	hasLast bool     // the client sent a Last-Event-ID
	last    StreamID // its value
	from    StreamID // turn streams: start of the turn
	cursor  StreamID // exclusive start of the replay
}

// ValidateRequest checks a StreamRequest before anything is written: an
// invalid Last-Event-ID is an apperr Invalid (400) naming the field.
func ValidateRequest(req StreamRequest) error {
	_, err := req.plan()
	return err
}

func (req StreamRequest) plan() (plan, error) {
	var p plan
	if req.SessionID == uuid.Nil {
		return p, apperr.Invalidf("session_id", "is required")
	}
	if req.Viewer != uuid.Nil {
		p.viewer = req.Viewer.String()
	}
	if req.LastEventID != "" {
		id, err := ParseID(req.LastEventID)
		if err != nil {
			return p, err
		}
		p.hasLast, p.last, p.cursor = true, id, id
	}
	if req.TurnID != uuid.Nil {
		p.turn = req.TurnID.String()
		from, err := ParseID(req.From)
		if err != nil {
			// From is computed by the server, never sent by a client.
			return p, apperr.Wrap(err, apperr.Internal, "turn stream without a valid start")
		}
		p.from = from
		// Before From, the stream holds other turns only.
		if !p.hasLast || p.cursor.Less(from) {
			p.cursor = from
		}
	}
	return p, nil
}

// Serve writes the events of a session or turn to w as text/event-stream
// until the turn ends, the client goes away (ctx), the hub shuts down, or
// the subscriber is dropped or interrupted (the client then resumes with
// Last-Event-ID).
//
// Resume without gap or duplicate: subscribe to the hub FIRST, then replay
// the stream after the start id in pages, then follow the live frames,
// skipping every frame whose id is not above the last id handled. Publish
// is atomic and Redis orders everything, so an event is either in the
// replay or announced after the subscription was made.
//
// Errors: an *apperr.Error (or ErrTurnEnded) means nothing was written and
// the handler answers with it. Any other error happened mid-stream, after
// the headers went out, and is for the logs only (ErrSlowConsumer,
// ErrInterrupted, write or Redis errors).
func (h *Hub) Serve(ctx context.Context, w http.ResponseWriter, req StreamRequest) error {
	p, err := req.plan()
	if err != nil {
		return err
	}
	sub, err := h.subscribeWait(ctx, req.SessionID)
	if err != nil {
		return err
	}
	hb := req.Heartbeat
	if hb <= 0 {
		hb = DefaultHeartbeat
	}
	s := &stream{
		hub: h, w: w, rc: http.NewResponseController(w),
		p: p, key: StreamKey(req.SessionID), sub: sub,
		heartbeat: hb, retry: req.Retry,
		stop: req.Stop, onClose: req.OnClose,
	}
	if h.opts.Detach {
		return h.serveDetached(ctx, w, s) // owns sub from here (detach.go)
	}
	defer sub.Close()
	err = s.run(ctx)
	s.finish(err)
	return err
}

// stream is the state of one SSE response; it lives on the handler's
// goroutine only.
type stream struct {
	hub       *Hub
	w         http.ResponseWriter
	rc        *http.ResponseController
	p         plan
	key       string
	sub       *Subscription
	heartbeat time.Duration
	retry     time.Duration
	stop      <-chan struct{} // StreamRequest.Stop
	onClose   func()          // StreamRequest.OnClose

	started  bool     // headers written
	lastSent StreamID // the last id handled (written or filtered out)
	wrote    bool     // something was written since the last heartbeat tick

	// handoff, when set, moves the following of live frames to a goroutine
	// of its own (detach.go); it returns errKeepFollowing to follow here.
	handoff func(ctx context.Context) error
}

func (s *stream) run(ctx context.Context) error {
	if s.p.turn == "" && !s.p.hasLast {
		return s.serveLive(ctx)
	}
	cursor := s.p.cursor
	for first := true; ; first = false {
		pg, err := s.readPage(ctx, cursor, first)
		if err != nil {
			return s.fail(err)
		}
		if pg.gone != nil {
			return s.sessionGone(pg.gone)
		}
		if reason := s.resetReason(pg, cursor); reason != "" {
			return s.reset(ctx, pg.last, reason)
		}
		for _, m := range pg.entries {
			f, ok := entryFrame(m)
			if !ok {
				if id, ok := redisID(m.ID); ok && cursor.Less(id) {
					cursor = id
				}
				continue
			}
			if !cursor.Less(f.ID) {
				// The inclusive first read returns the client's own last
				// event: if it ended this turn, there is nothing to stream.
				if first && s.p.turn != "" && f.ID == s.p.last && s.ownsTerminal(f) {
					return ErrTurnEnded
				}
				continue
			}
			cursor = f.ID
			if (s.p.turn != "" && f.Event.TurnID != s.p.turn && !f.Event.EndsSession()) || !f.Event.VisibleTo(s.p.viewer) {
				continue
			}
			if err := s.write(f.Bytes); err != nil {
				return err
			}
			if s.ends(f) {
				return s.flush()
			}
		}
		s.lastSent = cursor
		if s.started {
			if err := s.flush(); err != nil {
				return err
			}
		}
		if !pg.full {
			break
		}
	}
	if err := s.start(nil); err != nil {
		return err
	}
	return s.follow(ctx)
}

// serveLive starts a session stream without Last-Event-ID at the current
// end of the stream, whose id goes to the client at once.
func (s *stream) serveLive(ctx context.Context) error {
	pg, err := s.readInfo(ctx)
	if err != nil {
		return s.fail(err)
	}
	if pg.gone != nil {
		return s.sessionGone(pg.gone)
	}
	s.lastSent = pg.last
	if err := s.start(&pg.last); err != nil {
		return err
	}
	return s.follow(ctx)
}

// reset tells the client its history is gone. A session stream goes on
// live from the current end; a turn stream ends.
func (s *stream) reset(ctx context.Context, end StreamID, reason string) error {
	if err := s.write(resetFrame(end, reason)); err != nil {
		return err
	}
	if err := s.flush(); err != nil {
		return err
	}
	if s.p.turn != "" {
		return nil
	}
	s.lastSent = end
	return s.follow(ctx)
}

// resetReason decides, from the stream's state read atomically with the
// page, whether events after cursor may have been lost.
func (s *stream) resetReason(pg page, cursor StreamID) string {
	if !pg.exists {
		switch {
		case s.p.hasLast && !s.p.last.IsZero():
			return ResetExpired
		case s.p.turn != "" && !s.p.hasLast &&
			time.UnixMilli(int64(min(s.p.from.Ms, 1<<62))).Before(time.Now().Add(-StreamTTL)):
			// The turn is older than any stream can live: its events expired.
			return ResetExpired
		}
		return ""
	}
	if s.p.hasLast && pg.last.Less(s.p.last) {
		return ResetUnknownID
	}
	if pg.maxDeletedKnown && cursor.Less(pg.maxDeleted) {
		// An entry after the cursor was deleted with XDEL.
		return ResetTrimmed
	}
	switch {
	case pg.length == 0:
		// Everything was trimmed (not done by this package, but possible).
		if cursor.Less(pg.last) {
			return ResetTrimmed
		}
	case pg.firstPrevKnown:
		// Trimming removes a prefix: the first entry's predecessor is the
		// last id trimmed away. Anything after the cursor gone?
		if cursor.Less(pg.firstPrev) {
			return ResetTrimmed
		}
	case cursor.Less(pg.first) && pg.deleted:
		// An entry not written by Publisher: be conservative.
		return ResetTrimmed
	}
	return ""
}

func (s *stream) ownsTerminal(f *Frame) bool {
	return s.p.turn != "" && f.Event.TurnID == s.p.turn && f.Event.Terminal()
}

// ends reports whether the stream ends after f: its turn's final event, or
// the session's deletion.
func (s *stream) ends(f *Frame) bool { return s.ownsTerminal(f) || f.Event.EndsSession() }

// sessionGone ends a stream that opened (or resumed) after its session's
// stream was ended (EndSession raced the access check): it sends the
// session.deleted entry, so the client stops as if it had been there.
func (s *stream) sessionGone(m *redis.XMessage) error {
	if f, ok := entryFrame(*m); ok {
		if err := s.write(f.Bytes); err != nil {
			return err
		}
	}
	if err := s.start(nil); err != nil {
		return err
	}
	return s.flush()
}

// follow writes live frames until the stream ends.
func (s *stream) follow(ctx context.Context) error {
	if h := s.handoff; h != nil {
		s.handoff = nil
		if err := h(ctx); !errors.Is(err, errKeepFollowing) {
			return err
		}
	}
	if err := s.flush(); err != nil {
		return err
	}
	tick := time.NewTicker(s.heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.stop:
			return nil
		case <-tick.C:
			if s.wrote {
				s.wrote = false
				continue
			}
			if err := s.write(heartbeat); err != nil {
				return err
			}
			if err := s.flush(); err != nil {
				return err
			}
			s.wrote = false
		case f, ok := <-s.sub.C():
			// Write what is queued, then flush once.
			for {
				if !ok {
					return s.ended()
				}
				done, err := s.deliver(f)
				if err != nil {
					return err
				}
				if done {
					return s.flush()
				}
				select {
				case f, ok = <-s.sub.C():
					continue
				default:
				}
				break
			}
			if err := s.flush(); err != nil {
				return err
			}
		}
	}
}

// ended handles the hub closing the subscription.
func (s *stream) ended() error {
	if errors.Is(s.sub.Err(), ErrShutdown) {
		// Best effort: the client reconnects either way.
		_ = s.write(shutdownBlock())
	}
	ferr := s.flush()
	switch err := s.sub.Err(); {
	case err == nil, errors.Is(err, ErrShutdown):
		return ferr
	default:
		return err
	}
}

// deliver writes one live frame unless the replay already covered it or it
// belongs to another turn. done reports the end of the turn.
//
// Each connection sees only the events its player may (Event.VisibleTo):
// the hub shares one frame among all subscribers of a session and the
// filter is a comparison of two short strings per frame. Ephemeral frames
// (typing) have no id: they are written when visible and never move the
// resume position.
func (s *stream) deliver(f *Frame) (done bool, err error) {
	if f.Event.Ephemeral {
		if s.p.turn != "" || !f.Event.VisibleTo(s.p.viewer) {
			return false, nil
		}
		return false, s.write(f.Bytes)
	}
	if !s.lastSent.Less(f.ID) {
		return false, nil
	}
	s.lastSent = f.ID
	if (s.p.turn != "" && f.Event.TurnID != s.p.turn && !f.Event.EndsSession()) || !f.Event.VisibleTo(s.p.viewer) {
		return false, nil
	}
	if err := s.write(f.Bytes); err != nil {
		return false, err
	}
	return s.ends(f), nil
}

// finish leaves the connection in a sane state for net/http, whose final
// flush (the terminating chunk) runs under the deadline set here; net/http
// clears it once the response is done. After a clean end the flush gets
// a normal WriteTimeout. A client that is stalled (dropped as slow, or a
// write failed) is cut off at once instead: the deadline is set in the
// past, so that flush fails and net/http closes the connection; where the
// writer allows it (not gin's after a body write) the connection is also
// hijacked and closed right away. The client resumes with Last-Event-ID
// like after any network error.
func (s *stream) finish(err error) {
	if s.onClose != nil {
		defer s.onClose()
	}
	if !s.started {
		return
	}
	var werr *writeError
	if errors.Is(err, ErrSlowConsumer) || errors.As(err, &werr) {
		_ = s.rc.SetWriteDeadline(time.Now())
		if conn, _, herr := s.rc.Hijack(); herr == nil {
			_ = conn.Close()
		}
		return
	}
	_ = s.flush()
}

// writeError is a failed write to the client.
type writeError struct{ err error }

func (e *writeError) Error() string { return "events: write to client: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// start writes the headers and the opening block once.
func (s *stream) start(id *StreamID) error {
	if s.started {
		return nil
	}
	s.started = true
	setStreamHeaders(s.w.Header())
	s.w.WriteHeader(http.StatusOK)
	if b := openingBlock(s.retry, id); b != nil {
		return s.write(b)
	}
	return nil
}

// write sends bytes into the response's own small buffer; each write gets a
// fresh deadline so a stalled client cannot hold the handler forever (the
// server's WriteTimeout, meant for short answers, is overridden).
func (s *stream) write(b []byte) error {
	if !s.started {
		if err := s.start(nil); err != nil {
			return err
		}
	}
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.hub.opts.WriteTimeout))
	if _, err := s.w.Write(b); err != nil {
		return &writeError{err}
	}
	s.wrote = true
	return nil
}

func (s *stream) flush() error {
	if !s.started {
		return nil
	}
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.hub.opts.WriteTimeout))
	if err := s.rc.Flush(); err != nil {
		return &writeError{err}
	}
	return nil
}

// fail turns a Redis error into the right kind: before the headers, a 503
// for the handler; after, an error for the logs.
func (s *stream) fail(err error) error {
	if !s.started {
		return apperr.Wrap(err, apperr.Unavailable, "event stream unavailable")
	}
	return fmt.Errorf("events: replay: %w", err)
}

// page is one replay read with the stream's state at the same instant.
type page struct {
	exists          bool
	last            StreamID // last-generated-id; 0-0 when the key is missing
	maxDeleted      StreamID // max-deleted-entry-id: XDEL (Redis ≥ 7)
	maxDeletedKnown bool
	length          int64
	first           StreamID // the first retained entry
	firstPrev       StreamID // its "prev": the last id trimmed before it
	firstPrevKnown  bool
	deleted         bool // entries were removed (or Redis < 7 cannot say)
	entries         []redis.XMessage
	full            bool // the read hit its COUNT: there may be more
	// gone is the stream's session.deleted entry when the session was
	// deleted (EndSession): nothing else is left, nothing will come.
	gone *redis.XMessage
}

// readPage reads entries after cursor (from cursor itself when inclusive)
// and XINFO STREAM in one MULTI, so the reset decision and the entries
// describe the same moment: trimming cannot slip between them.
func (s *stream) readPage(ctx context.Context, cursor StreamID, inclusive bool) (page, error) {
	start, count := "("+cursor.String(), int64(ReplayPage)
	if inclusive {
		start, count = cursor.String(), ReplayPage+1
	}
	pipe := s.hub.rdb.TxPipeline()
	info := pipe.XInfoStream(ctx, s.key)
	rng := pipe.XRangeN(ctx, s.key, start, "+", count)
	_, _ = pipe.Exec(ctx)
	pg, err := pageInfo(info)
	if err != nil {
		return pg, err
	}
	if err := rng.Err(); err != nil {
		return pg, err
	}
	pg.entries = rng.Val()
	pg.full = int64(len(pg.entries)) >= count
	return pg, nil
}

// readInfo reads the stream's state only.
func (s *stream) readInfo(ctx context.Context) (page, error) {
	return pageInfo(s.hub.rdb.XInfoStream(ctx, s.key))
}

func pageInfo(info *redis.XInfoStreamCmd) (page, error) {
	var pg page
	if err := info.Err(); err != nil {
		if isNoSuchKey(err) {
			return pg, nil
		}
		return pg, err
	}
	v := info.Val()
	pg.exists = true
	pg.last, _ = redisID(v.LastGeneratedID)
	pg.maxDeleted, pg.maxDeletedKnown = redisID(v.MaxDeletedEntryID)
	pg.length = v.Length
	pg.first, _ = redisID(v.FirstEntry.ID)
	if prev, ok := v.FirstEntry.Values["prev"].(string); ok {
		pg.firstPrev, pg.firstPrevKnown = redisID(prev)
	}
	pg.deleted = v.EntriesAdded == 0 || v.EntriesAdded > v.Length
	if typ, _ := v.LastEntry.Values["type"].(string); typ == TypeSessionDeleted {
		last := v.LastEntry
		pg.gone = &last
	}
	return pg, nil
}

func isNoSuchKey(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.Contains(rerr.Error(), "no such key")
}
