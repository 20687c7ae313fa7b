package events

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Why a subscription ended (Subscription.Err).
var (
	// ErrSlowConsumer: the subscriber's buffer was full when an event came;
	// it was dropped rather than delay anybody else. Its client reconnects
	// with Last-Event-ID and catches up from the stream.
	ErrSlowConsumer = errors.New("events: subscriber too slow, dropped")
	// ErrInterrupted: the hub's Redis subscription broke (or was silently
	// re-established), so events may have been missed; every local
	// subscriber is closed and its client resumes with Last-Event-ID.
	ErrInterrupted = errors.New("events: live subscription interrupted, resume with Last-Event-ID")
	// ErrShutdown: the process is going down (Hub.Shutdown); clients resume
	// on another replica.
	ErrShutdown = errors.New("events: hub shut down")
	// ErrNotConnected: the hub had no confirmed Redis subscription when the
	// subscriber came, so it could not promise to see every new event.
	ErrNotConnected = errors.New("events: hub not connected to Redis")
)

// HubOptions configure a Hub. Zero values take the defaults.
type HubOptions struct {
	// ClientBuffer is how many frames may wait for one subscriber; when
	// full, the subscriber is dropped (default 256, config SSE_CLIENT_BUFFER).
	ClientBuffer int
	// Log receives connection problems (default slog.Default()).
	Log *slog.Logger
	// PingInterval is how long the subscription may stay silent before the
	// hub pings Redis to detect a dead connection (default 30s). A second
	// silent interval after the ping counts as a broken connection.
	PingInterval time.Duration
	// WriteTimeout bounds each write to an SSE client, so a stalled client
	// cannot hold its handler forever (default 30s).
	WriteTimeout time.Duration
	// ConnectWait is how long Serve waits for the hub's subscription while
	// Redis is reconnecting before answering 503 (default 5s).
	ConnectWait time.Duration
	// Detach runs each stream on a connection of its own once its
	// response starts, so the handler returns and an idle connection
	// costs a few KB instead of ~40 (detach.go).
	Detach bool
}

const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Hub keeps ONE Redis pub/sub subscription (to LiveChannel) per process and
// fans each announced event out to the local subscribers of its session.
// Dispatch never blocks: a subscriber whose buffer is full is dropped.
//
// Gap policy: when the Redis subscription breaks, announcements published
// until it is back are lost to this process. Rather than patch each
// subscriber from the stream, the hub closes every local subscriber with
// ErrInterrupted; their SSE responses end and the clients reconnect with
// Last-Event-ID, which replays exactly what they missed from the stream.
// While disconnected, new subscribers are refused (ErrNotConnected) for
// the same reason.
type Hub struct {
	rdb  redis.UniversalClient
	opts HubOptions
	log  *slog.Logger

	mu        sync.Mutex
	subs      map[uuid.UUID]map[*Subscription]struct{}
	nsubs     int
	connected bool
	down      bool
	up        chan struct{} // closed while connected
	everUp    bool

	ready     chan struct{}
	readyOnce sync.Once
	running   atomic.Bool

	received, malformed, delivered, dropped, reconnects atomic.Uint64

	detached detachedStreams // streams on their own goroutines (detach.go)
}

// NewHub returns a hub; call Run to connect it.
func NewHub(rdb redis.UniversalClient, opts HubOptions) *Hub {
	if opts.ClientBuffer < 1 {
		opts.ClientBuffer = 256
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 30 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	if opts.ConnectWait <= 0 {
		opts.ConnectWait = 5 * time.Second
	}
	return &Hub{
		rdb:   rdb,
		opts:  opts,
		log:   opts.Log,
		subs:  make(map[uuid.UUID]map[*Subscription]struct{}),
		up:    make(chan struct{}),
		ready: make(chan struct{}),
	}
}

// Ready is closed once the first subscription to LiveChannel is confirmed
// by Redis. An API process should not report ready before.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Connected reports whether the hub's subscription is confirmed right now.
func (h *Hub) Connected() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.connected
}

// Run keeps the subscription until ctx ends, reconnecting with exponential
// backoff and jitter. It returns nil when ctx ends; only one Run may be
// active per hub.
func (h *Hub) Run(ctx context.Context) error {
	if !h.running.CompareAndSwap(false, true) {
		return errors.New("events: hub is already running")
	}
	defer h.running.Store(false)
	backoff := minBackoff
	for {
		confirmed, err := h.listen(ctx)
		h.interrupt()
		if ctx.Err() != nil {
			return nil
		}
		if confirmed {
			backoff = minBackoff
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		h.log.Warn("events: live subscription lost, reconnecting", "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listen runs one subscription until it fails. confirmed reports whether
// Redis confirmed it (so the backoff can start over).
func (h *Hub) listen(ctx context.Context) (confirmed bool, err error) {
	ps := h.rdb.Subscribe(ctx, LiveChannel)
	defer ps.Close()
	// A blocked read does not watch ctx; closing the connection ends it.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()

	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, h.opts.PingInterval)
		if err != nil {
			if ctx.Err() != nil {
				return confirmed, ctx.Err()
			}
			if isTimeout(err) && !pinged {
				if err := ps.Ping(ctx); err != nil {
					return confirmed, err
				}
				pinged = true
				continue
			}
			return confirmed, err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" || m.Channel != LiveChannel {
				continue
			}
			if confirmed {
				// go-redis re-subscribed on a new connection behind our
				// back: whatever was published in between is lost here.
				h.interrupt()
			}
			confirmed = true
			h.connect()
		case *redis.Message:
			if confirmed {
				h.dispatch([]byte(m.Payload))
			}
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (h *Hub) connect() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.everUp {
		h.reconnects.Add(1)
	}
	h.everUp = true
	if !h.connected {
		h.connected = true
		close(h.up)
	}
	h.readyOnce.Do(func() { close(h.ready) })
}

// interrupt marks the hub disconnected and closes every subscriber: they
// may miss events from now on (see the gap policy on Hub).
func (h *Hub) interrupt() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.connected {
		h.connected = false
		h.up = make(chan struct{})
	}
	h.closeAllLocked(ErrInterrupted)
}

// Shutdown closes every subscriber with ErrShutdown and refuses new ones:
// an API replica going down ends its SSE responses so that the clients
// resume on another replica. Run keeps going until its ctx ends.
func (h *Hub) Shutdown() {
	h.mu.Lock()
	h.down = true
	h.closeAllLocked(ErrShutdown)
	h.mu.Unlock()
	// Detached streams write their retry hint on their own goroutines.
	h.detached.wait(shutdownWait)
}

func (h *Hub) closeAllLocked(reason error) {
	for _, set := range h.subs {
		for s := range set {
			h.closeLocked(s, reason)
		}
	}
}

// dispatch hands one announcement to the local subscribers of its session,
// encoded once and shared. It never blocks.
func (h *Hub) dispatch(payload []byte) {
	h.received.Add(1)
	// Every process hears every session: skip the decoding of events that
	// no local client waits for. (A subscriber that registers right after
	// this check subscribed after the event was published, so its replay
	// from the stream has it.)
	if sid, ok := peekSession(payload); ok {
		h.mu.Lock()
		n := len(h.subs[sid])
		h.mu.Unlock()
		if n == 0 {
			return
		}
	}
	sid, id, e, err := parseLive(payload)
	if err != nil {
		h.malformed.Add(1)
		h.log.Warn("events: ignoring malformed live event", "err", err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.subs[sid]
	if len(set) == 0 {
		return
	}
	f := newFrame(id, e)
	for s := range set {
		select {
		case s.ch <- f:
			h.delivered.Add(1)
		default:
			h.dropped.Add(1)
			h.closeLocked(s, ErrSlowConsumer)
		}
	}
}

// Subscribe registers a local subscriber for a session's live events. It
// always returns a Subscription; when the hub is not connected or shut
// down it is already closed and Err says why.
func (h *Hub) Subscribe(sessionID uuid.UUID) *Subscription {
	s := &Subscription{hub: h, session: sessionID, ch: make(chan *Frame, h.opts.ClientBuffer)}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.down:
		h.closeLocked(s, ErrShutdown)
	case !h.connected:
		h.closeLocked(s, ErrNotConnected)
	default:
		set := h.subs[sessionID]
		if set == nil {
			set = make(map[*Subscription]struct{})
			h.subs[sessionID] = set
		}
		set[s] = struct{}{}
		h.nsubs++
	}
	return s
}

// subscribeWait subscribes, waiting up to ConnectWait for the hub to
// (re)connect. Its errors are apperr Unavailable (503).
func (h *Hub) subscribeWait(ctx context.Context, sessionID uuid.UUID) (*Subscription, error) {
	s := h.Subscribe(sessionID)
	if errors.Is(s.Err(), ErrNotConnected) {
		h.mu.Lock()
		up := h.up
		h.mu.Unlock()
		t := time.NewTimer(h.opts.ConnectWait)
		select {
		case <-up:
			s = h.Subscribe(sessionID)
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	if err := s.Err(); err != nil {
		return nil, apperr.Wrap(err, apperr.Unavailable, "event stream unavailable")
	}
	return s, nil
}

func (h *Hub) closeLocked(s *Subscription, reason error) {
	if s.closed {
		return
	}
	s.closed = true
	s.err = reason
	close(s.ch)
	if set := h.subs[s.session]; set != nil {
		if _, ok := set[s]; ok {
			delete(set, s)
			h.nsubs--
			if len(set) == 0 {
				delete(h.subs, s.session)
			}
		}
	}
}

// Stats are the hub's counters since it was created.
type Stats struct {
	Connected   bool
	Subscribers int    // current local subscribers
	Received    uint64 // announcements read from LiveChannel
	Malformed   uint64 // announcements that could not be decoded
	Delivered   uint64 // frames handed to subscribers
	Dropped     uint64 // subscribers dropped because their buffer was full
	Reconnects  uint64 // confirmed subscriptions after the first
}

// Stats returns a snapshot of the counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	st := Stats{Connected: h.connected, Subscribers: h.nsubs}
	h.mu.Unlock()
	st.Received = h.received.Load()
	st.Malformed = h.malformed.Load()
	st.Delivered = h.delivered.Load()
	st.Dropped = h.dropped.Load()
	st.Reconnects = h.reconnects.Load()
	return st
}

// Subscription receives the live frames of one session in publish order.
type Subscription struct {
	hub     *Hub
	session uuid.UUID
	ch      chan *Frame
	// guarded by hub.mu
	closed bool
	err    error
}

// C delivers the frames; it is closed when the subscription ends.
func (s *Subscription) C() <-chan *Frame { return s.ch }

// Err says why the subscription ended: ErrSlowConsumer, ErrInterrupted,
// ErrShutdown or ErrNotConnected; nil while it is open or after Close.
func (s *Subscription) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}

// Dropped reports whether the hub dropped this subscriber for being slow.
func (s *Subscription) Dropped() bool { return errors.Is(s.Err(), ErrSlowConsumer) }

// Close unsubscribes. It is safe to call more than once.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.closeLocked(s, nil)
}
