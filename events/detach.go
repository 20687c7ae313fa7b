package events

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/codeofconquest/brightdawn/internal/logging"
)

// Detached streams (HubOptions.Detach).
//
// An idle SSE connection served the ordinary way costs about 40 KB of the
// API process (docs/PERFORMANCE.md "SSE"): net/http keeps a 4 KB read
// buffer, a 4 KB write buffer and a 2 KB chunking buffer per connection,
// a background-read goroutine, and the handler's goroutine whose stack grew
// to 16 KB on the way through gin's middleware, auth and the database
// check, and which it keeps while it waits. A detached stream runs on a
// goroutine of its own from the start; once its response begins, it takes
// the connection over (Hijack), writes the response head itself, and the
// handler returns at once, releasing everything net/http and gin held.
// What stays per idle connection is that small goroutine, the
// subscription's buffer and the socket: about 8 KB.
//
// The response is delimited by closing the connection (no chunked
// encoding; `Connection: close`), which every HTTP/1.1 client and proxy
// understands. Errors before the response starts (503, 204 for a turn
// stream that ended) are still answered by the handler. Where the writer
// cannot be hijacked (HTTP/2, a wrapper that refuses) the stream goes on
// through the writer, and the handler waits for it as usual.
//
// A detached stream notices a client that went away at its next write
// (a heartbeat at the latest), rather than at once through net/http's
// background read.

// shutdownWait bounds how long Shutdown waits for detached streams to write
// their last block.
const shutdownWait = 2 * time.Second

// detachedStreams counts the streams running on their own goroutines.
type detachedStreams struct{ wg sync.WaitGroup }

// wait waits for the detached streams to end, at most max.
func (d *detachedStreams) wait(max time.Duration) {
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// errDetached: the stream went on on a goroutine of its own; Serve
// returns nil and the handler returns.
var errDetached = errors.New("events: stream detached")

// errKeepFollowing: the stream could not detach (its writer refused the
// hijack) and follows on the handler's goroutine.
var errKeepFollowing = errors.New("events: not detached")

// serveDetached serves s like Serve, except that once the response has
// started and the replay is done, following the live frames moves to a
// goroutine of its own, on the hijacked connection, and the handler
// returns. Everything before (authentication, the replay from Redis,
// errors answered by the handler) runs on the handler's goroutine as
// usual; the new goroutine starts with a small stack and keeps it.
func (h *Hub) serveDetached(ctx context.Context, w http.ResponseWriter, s *stream) error {
	dw := &detachWriter{inner: w}
	s.w = dw
	s.rc = http.NewResponseController(dw)
	s.handoff = func(context.Context) error {
		if !dw.detached() {
			return errKeepFollowing
		}
		// The request's context ends when the handler returns; the
		// stream outlives it, keeping its values (the request's logger).
		// The client leaving is seen by watchClose instead.
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		h.detached.wg.Add(1)
		go watchClose(dw.conn, cancel)
		go func() {
			defer h.detached.wg.Done()
			defer cancel()
			defer s.sub.Close()
			err := s.follow(sctx)
			s.finish(err)
			dw.close()
			if err != nil {
				logging.From(sctx).Info("stream ended", "err", err)
			}
		}()
		return errDetached
	}
	err := s.run(ctx)
	if errors.Is(err, errDetached) {
		return nil
	}
	s.finish(err)
	dw.close()
	s.sub.Close()
	return err
}

// watchClose reads the connection of a detached stream until it fails:
// the client closed it (or the stream did). An SSE client sends nothing
// after its request, so whatever it sends is discarded.
func watchClose(conn net.Conn, gone context.CancelFunc) {
	var b [1]byte
	for {
		if _, err := conn.Read(b[:]); err != nil {
			gone()
			return
		}
	}
}

// detachWriter is the ResponseWriter of a detached stream. Until the
// response starts it wraps the handler's writer; WriteHeader hijacks the
// connection, after which every method works on the connection alone, so
// the detached goroutine never touches the handler's writer (gin reuses
// it once the handler returns).
type detachWriter struct {
	inner http.ResponseWriter

	started bool
	failed  bool     // hijack refused: everything goes through inner
	conn    net.Conn // set once hijacked
	hdr     http.Header
	buf     []byte // written, not yet flushed; nil while idle
}

func (d *detachWriter) detached() bool { return d.conn != nil }

// Header returns the response's header map (the handler's, so headers the
// middleware set, such as X-Request-ID, go out with the response).
func (d *detachWriter) Header() http.Header {
	if d.hdr != nil {
		return d.hdr
	}
	return d.inner.Header()
}

// The methods below use inner only while not detached (d.conn == nil):
// on the handler's goroutine.

// WriteHeader starts the response: it takes the connection over and
// writes the head itself. It runs on the handler's goroutine.
func (d *detachWriter) WriteHeader(code int) {
	if d.started {
		return
	}
	d.started = true
	conn, _, err := http.NewResponseController(d.inner).Hijack()
	if err != nil {
		d.failed = true
		d.inner.WriteHeader(code)
		return
	}
	d.conn = conn
	d.buf = appendHead(d.buf[:0], code, d.inner.Header())
	// From here on the handler's header map is not ours to touch.
	d.hdr = http.Header{}
}

// appendHead writes an HTTP/1.1 response head for a body delimited by
// closing the connection.
func appendHead(b []byte, code int, h http.Header) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(code)...)
	b = append(b, "\r\n"...)
	for k, vs := range h {
		switch http.CanonicalHeaderKey(k) {
		case "Connection", "Content-Length", "Transfer-Encoding", "Keep-Alive":
			continue
		}
		for _, v := range vs {
			// Header values come from this process, but never let a line
			// break through.
			v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "Date: "...)
	b = time.Now().UTC().AppendFormat(b, http.TimeFormat)
	b = append(b, "\r\nConnection: close\r\n\r\n"...)
	return b
}

func (d *detachWriter) Write(p []byte) (int, error) {
	if !d.started {
		d.WriteHeader(http.StatusOK)
	}
	if d.failed {
		return d.inner.Write(p)
	}
	// Like a 4 KB bufio.Writer, allocated only while there is something
	// to send: a stalled client holds at most that much here (the frames
	// themselves are shared by every subscriber).
	if len(d.buf)+len(p) > writeBuffer {
		if err := d.FlushError(); err != nil {
			return 0, err
		}
		if len(p) > writeBuffer {
			return d.conn.Write(p)
		}
	}
	d.buf = append(d.buf, p...)
	return len(p), nil
}

// writeBuffer is what a detached stream gathers before it writes.
const writeBuffer = 4 << 10

// FlushError sends what was written (http.ResponseController uses it).
func (d *detachWriter) FlushError() error {
	if d.failed {
		return http.NewResponseController(d.inner).Flush()
	}
	if d.conn == nil || len(d.buf) == 0 {
		return nil
	}
	_, err := d.conn.Write(d.buf)
	d.buf = nil // an idle stream keeps no buffer
	return err
}

// SetWriteDeadline bounds the next flush (http.ResponseController uses it).
func (d *detachWriter) SetWriteDeadline(t time.Time) error {
	if d.failed {
		return http.NewResponseController(d.inner).SetWriteDeadline(t)
	}
	if d.conn == nil {
		return nil // nothing is written before the response starts
	}
	return d.conn.SetWriteDeadline(t)
}

// Hijack hands the connection to stream.finish, which closes it at once
// when the client is stalled.
func (d *detachWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if d.failed {
		return http.NewResponseController(d.inner).Hijack()
	}
	if d.conn == nil {
		return nil, nil, errors.New("events: stream not started")
	}
	return d.conn, nil, nil
}

// close ends a detached response: the body ends with the connection.
func (d *detachWriter) close() {
	if d.conn == nil {
		return
	}
	_ = d.conn.Close()
	d.buf = nil
}
