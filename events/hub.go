package events

import (
	"context"
	"errors"
	"fmt"
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
	// ErrNotConnected: the hub had no Redis connection when the subscriber
	// came, so it could not promise to see every new event.
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
	// Linger is how long the process stays subscribed to a session's
	// channel after its last local subscriber left, so that reconnecting
	// clients cost Redis nothing (default 10s; negative: unsubscribe at
	// once).
	Linger time.Duration
	// Detach runs each stream on a connection of its own once its
	// response starts, so the handler returns and an idle connection
	// costs a few KB instead of ~40 (detach.go).
	Detach bool
}

const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Hub listens, for this process, to the live channels of the sessions its
// clients watch, and fans each announced event out to the local
// subscribers of its session. Dispatch never blocks: a subscriber whose
// buffer is full is dropped.
//
// Subscriptions follow the clients: the first local subscriber of a
// session subscribes the process to the session's channel (SUBSCRIBE, or
// SSUBSCRIBE on a Redis Cluster, on the node that owns the channel's
// slot); when the last one leaves, the channel is kept for Linger and
// then unsubscribed, so a reconnecting client costs Redis nothing. A
// subscriber is usable (Ready) only once Redis has confirmed its channel:
// only then can a replay of the stream be followed by the live events
// without a gap.
//
// Gap policy: when a Redis connection of the hub breaks (or Redis drops a
// subscription by itself, as a Cluster does when a slot moves),
// announcements published until it is back are lost to this process.
// Rather than patch each subscriber from the stream, the hub closes every
// local subscriber with ErrInterrupted; their SSE responses end and the
// clients reconnect with Last-Event-ID, which replays exactly what they
// missed from the stream. While disconnected, new subscribers are refused
// (ErrNotConnected) for the same reason.
type Hub struct {
	rdb     redis.UniversalClient
	cluster *redis.ClusterClient // non-nil on a Redis Cluster: sharded pub/sub
	opts    HubOptions
	log     *slog.Logger
	control string // a channel of this hub alone, whose confirmation says a connection is up

	mu        sync.Mutex
	sessions  map[uuid.UUID]*watch
	nsubs     int
	link      *link // the current connections; nil while disconnected
	connected bool
	down      bool
	up        chan struct{} // closed while connected
	everUp    bool

	ready     chan struct{}
	readyOnce sync.Once
	running   atomic.Bool

	received, malformed, delivered, dropped, reconnects, subscribes, unsubscribes atomic.Uint64

	detached detachedStreams // streams on their own goroutines (detach.go)
}

// watch is a session this process listens to.
type watch struct {
	subs      map[*Subscription]struct{}
	shard     *shard
	confirmed bool
	ready     chan struct{} // closed once Redis confirmed the subscription
	idle      time.Time     // when the last subscriber left; zero while it has some
}

// link is one generation of the hub's Redis connections; it ends as a
// whole, and every subscriber with it.
type link struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	shards map[string]*shard // by node address ("" off Cluster); guarded by Hub.mu
	wg     sync.WaitGroup
	up     atomic.Bool
	closed bool // guarded by Hub.mu: ended; no more shards
}

// shard is one pub/sub connection: to the server (or Sentinel's master),
// or to one Cluster master for the channels of its slots.
type shard struct {
	ps   *redis.PubSub
	kick chan struct{}
	// guarded by Hub.mu
	ops     []subOp        // to send, in order
	pending map[string]int // replies Redis still owes per channel
}

type subOp struct {
	subscribe bool
	channel   string
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
	if opts.Linger == 0 {
		opts.Linger = 10 * time.Second
	}
	cc, _ := rdb.(*redis.ClusterClient)
	return &Hub{
		rdb:      rdb,
		cluster:  cc,
		opts:     opts,
		log:      opts.Log,
		control:  "events:hub:" + uuid.NewString(),
		sessions: make(map[uuid.UUID]*watch),
		up:       make(chan struct{}),
		ready:    make(chan struct{}),
	}
}

// Ready is closed once the hub first connected to Redis. An API process
// should not report ready before.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Connected reports whether the hub's connection is up right now.
func (h *Hub) Connected() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.connected
}

// Run keeps the hub connected until ctx ends, reconnecting with exponential
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

// listen runs one link until one of its connections fails. confirmed
// reports whether it came up (so the backoff can start over).
func (h *Hub) listen(ctx context.Context) (confirmed bool, err error) {
	lctx, cancel := context.WithCancelCause(ctx)
	l := &link{ctx: lctx, cancel: cancel, shards: make(map[string]*shard)}
	defer func() {
		cancel(nil)
		h.mu.Lock()
		// No shard may start on this link from now on (its goroutines
		// would join l.wg while we wait for it).
		l.closed = true
		if h.link == l {
			h.link = nil
		}
		for _, sh := range l.shards {
			_ = sh.ps.Close() // ends a blocked read
		}
		h.mu.Unlock()
		l.wg.Wait()
	}()
	if h.cluster != nil {
		// Shard connections open as sessions need them; the cluster being
		// reachable is what "connected" means.
		if err := h.cluster.Ping(lctx).Err(); err != nil {
			return false, err
		}
		h.connect(l)
	} else {
		h.mu.Lock()
		h.startShardLocked(l, "", h.rdb.Subscribe(lctx, h.control))
		h.mu.Unlock()
	}
	l.wg.Add(1)
	go h.sweep(l)
	<-lctx.Done()
	return l.up.Load(), context.Cause(lctx)
}

func (h *Hub) startShardLocked(l *link, addr string, ps *redis.PubSub) *shard {
	sh := &shard{ps: ps, kick: make(chan struct{}, 1), pending: make(map[string]int)}
	l.shards[addr] = sh
	l.wg.Add(2)
	go h.receive(l, sh)
	go h.write(l, sh)
	return sh
}

// errUnexpected: Redis confirmed or dropped a subscription the hub did
// not ask for: go-redis re-subscribed on a new connection (events in
// between are lost), or a Cluster moved a slot.
var errUnexpected = errors.New("events: unexpected subscription change")

// receive reads one shard's connection until it fails.
func (h *Hub) receive(l *link, sh *shard) {
	defer l.wg.Done()
	pinged := false
	for {
		msg, err := sh.ps.ReceiveTimeout(l.ctx, h.opts.PingInterval)
		if err != nil {
			if l.ctx.Err() != nil {
				return
			}
			if isTimeout(err) && !pinged {
				if err := sh.ps.Ping(l.ctx); err != nil {
					l.cancel(err)
					return
				}
				pinged = true
				continue
			}
			l.cancel(err)
			return
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Channel == h.control {
				if m.Kind != "subscribe" || l.up.Load() {
					l.cancel(errUnexpected)
					return
				}
				h.connect(l)
				continue
			}
			if err := h.confirm(sh, m.Kind, m.Channel); err != nil {
				l.cancel(err)
				return
			}
		case *redis.Message:
			h.dispatch([]byte(m.Payload))
		}
	}
}

// write sends a shard's queued SUBSCRIBE/UNSUBSCRIBE commands in order,
// batching runs of the same kind into one command.
func (h *Hub) write(l *link, sh *shard) {
	defer l.wg.Done()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-sh.kick:
		}
		h.mu.Lock()
		ops := sh.ops
		sh.ops = nil
		h.mu.Unlock()
		for len(ops) > 0 {
			n := 1
			for n < len(ops) && ops[n].subscribe == ops[0].subscribe {
				n++
			}
			chans := make([]string, n)
			for i, op := range ops[:n] {
				chans[i] = op.channel
			}
			var err error
			switch {
			case ops[0].subscribe && h.cluster != nil:
				err = sh.ps.SSubscribe(l.ctx, chans...)
			case ops[0].subscribe:
				err = sh.ps.Subscribe(l.ctx, chans...)
			case h.cluster != nil:
				err = sh.ps.SUnsubscribe(l.ctx, chans...)
			default:
				err = sh.ps.Unsubscribe(l.ctx, chans...)
			}
			if err != nil {
				l.cancel(err)
				return
			}
			ops = ops[n:]
		}
	}
}

func (h *Hub) enqueueLocked(sh *shard, op subOp) {
	sh.ops = append(sh.ops, op)
	sh.pending[op.channel]++
	if op.subscribe {
		h.subscribes.Add(1)
	} else {
		h.unsubscribes.Add(1)
	}
	select {
	case sh.kick <- struct{}{}:
	default:
	}
}

// confirm accounts for one reply to a (un)subscription. A session's watch
// is confirmed by the reply to the last command sent for its channel.
func (h *Hub) confirm(sh *shard, kind, channel string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := sh.pending[channel]
	if n == 0 {
		return fmt.Errorf("%w: %s %s", errUnexpected, kind, channel)
	}
	if n--; n > 0 {
		sh.pending[channel] = n
		return nil
	}
	delete(sh.pending, channel)
	if kind != "subscribe" && kind != "ssubscribe" {
		return nil
	}
	sid, ok := sessionOfChannel(channel)
	if !ok {
		return nil
	}
	if w := h.sessions[sid]; w != nil && w.shard == sh && !w.confirmed {
		w.confirmed = true
		close(w.ready)
	}
	return nil
}

// sweep unsubscribes from the sessions nobody watched for Linger.
func (h *Hub) sweep(l *link) {
	defer l.wg.Done()
	every := max(h.opts.Linger/2, 50*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.ctx.Done():
			return
		case now := <-t.C:
			h.mu.Lock()
			for sid, w := range h.sessions {
				if len(w.subs) == 0 && !w.idle.IsZero() && now.Sub(w.idle) >= h.opts.Linger {
					h.dropLocked(sid, w)
				}
			}
			h.mu.Unlock()
		}
	}
}

func (h *Hub) dropLocked(sid uuid.UUID, w *watch) {
	delete(h.sessions, sid)
	if h.link != nil && w.shard != nil {
		h.enqueueLocked(w.shard, subOp{subscribe: false, channel: LiveChannel(sid)})
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (h *Hub) connect(l *link) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if l.closed {
		return
	}
	l.up.Store(true)
	h.link = l
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
	h.link = nil
	if h.connected {
		h.connected = false
		h.up = make(chan struct{})
	}
	h.closeAllLocked(ErrInterrupted)
	h.sessions = make(map[uuid.UUID]*watch)
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
	for _, w := range h.sessions {
		for s := range w.subs {
			h.closeLocked(s, reason)
		}
	}
}

// dispatch hands one announcement to the local subscribers of its session,
// encoded once and shared. It never blocks.
func (h *Hub) dispatch(payload []byte) {
	h.received.Add(1)
	// A session may linger with no subscriber: skip its decoding. (A
	// subscriber that registers right after this check subscribed after
	// the event was published, so its replay from the stream has it.)
	if sid, ok := peekSession(payload); ok {
		h.mu.Lock()
		w := h.sessions[sid]
		n := 0
		if w != nil {
			n = len(w.subs)
		}
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
	w := h.sessions[sid]
	if w == nil || len(w.subs) == 0 {
		return
	}
	f := newFrame(id, e)
	for s := range w.subs {
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
// down it is already closed and Err says why. Its frames start once Ready
// is closed (Redis confirmed the session's channel); subscribeWait waits
// for that.
func (h *Hub) Subscribe(sessionID uuid.UUID) *Subscription {
	s := &Subscription{hub: h, session: sessionID, ch: make(chan *Frame, h.opts.ClientBuffer), done: make(chan struct{})}
	channel := LiveChannel(sessionID)
	var node *redis.Client
	if h.cluster != nil {
		// The slot map is cached; this asks Redis only when it is stale.
		ctx, cancel := context.WithTimeout(context.Background(), h.opts.ConnectWait)
		node, _ = h.cluster.MasterForKey(ctx, channel)
		cancel()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		h.closeLocked(s, ErrShutdown)
		return s
	}
	if h.link == nil {
		h.closeLocked(s, ErrNotConnected)
		return s
	}
	w := h.sessions[sessionID]
	if w == nil {
		sh, ok := h.shardLocked(node)
		if !ok {
			h.closeLocked(s, ErrNotConnected)
			return s
		}
		w = &watch{subs: make(map[*Subscription]struct{}), shard: sh, ready: make(chan struct{})}
		h.sessions[sessionID] = w
		h.enqueueLocked(sh, subOp{subscribe: true, channel: channel})
	}
	w.subs[s] = struct{}{}
	w.idle = time.Time{}
	s.ready = w.ready
	h.nsubs++
	return s
}

// shardLocked is the connection for a new channel: the one connection off
// Cluster, else the one to node (opened on first use).
func (h *Hub) shardLocked(node *redis.Client) (*shard, bool) {
	l := h.link
	if h.cluster == nil {
		sh, ok := l.shards[""]
		return sh, ok
	}
	if node == nil {
		return nil, false
	}
	addr := node.Options().Addr
	if sh, ok := l.shards[addr]; ok {
		return sh, true
	}
	return h.startShardLocked(l, addr, node.SSubscribe(l.ctx)), true
}

// subscribeWait subscribes, waiting up to ConnectWait for the hub to
// (re)connect and for Redis to confirm the session's channel. Its errors
// are apperr Unavailable (503).
func (h *Hub) subscribeWait(ctx context.Context, sessionID uuid.UUID) (*Subscription, error) {
	t := time.NewTimer(h.opts.ConnectWait)
	defer t.Stop()
	s := h.Subscribe(sessionID)
	if errors.Is(s.Err(), ErrNotConnected) {
		h.mu.Lock()
		up := h.up
		h.mu.Unlock()
		select {
		case <-up:
			s = h.Subscribe(sessionID)
		case <-ctx.Done():
		case <-t.C:
		}
	}
	if err := s.Err(); err != nil {
		return nil, apperr.Wrap(err, apperr.Unavailable, "event stream unavailable")
	}
	select {
	case <-s.ready:
		return s, nil
	case <-s.done:
		err := s.Err()
		if err == nil {
			err = ErrInterrupted
		}
		return nil, apperr.Wrap(err, apperr.Unavailable, "event stream unavailable")
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	case <-t.C:
		s.Close()
		return nil, apperr.New(apperr.Unavailable, "event stream unavailable")
	}
}

func (h *Hub) closeLocked(s *Subscription, reason error) {
	if s.closed {
		return
	}
	s.closed = true
	s.err = reason
	close(s.ch)
	close(s.done)
	w := h.sessions[s.session]
	if w == nil {
		return
	}
	if _, ok := w.subs[s]; !ok {
		return
	}
	delete(w.subs, s)
	h.nsubs--
	if len(w.subs) > 0 {
		return
	}
	if h.opts.Linger < 0 || !w.confirmed {
		h.dropLocked(s.session, w)
		return
	}
	w.idle = time.Now()
}

// Stats are the hub's counters since it was created.
type Stats struct {
	Connected   bool
	Subscribers int    // current local subscribers
	Sessions    int    // sessions whose channels this process is subscribed to (or lingering on)
	Received    uint64 // announcements received from Redis
	Malformed   uint64 // announcements that could not be decoded
	Delivered   uint64 // frames handed to subscribers
	Dropped     uint64 // subscribers dropped because their buffer was full
	Reconnects  uint64 // connections after the first
	// Subscribes and Unsubscribes count the channel (un)subscriptions
	// sent to Redis: the churn the clients cost it.
	Subscribes, Unsubscribes uint64
}

// Stats returns a snapshot of the counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	st := Stats{Connected: h.connected, Subscribers: h.nsubs, Sessions: len(h.sessions)}
	h.mu.Unlock()
	st.Received = h.received.Load()
	st.Malformed = h.malformed.Load()
	st.Delivered = h.delivered.Load()
	st.Dropped = h.dropped.Load()
	st.Reconnects = h.reconnects.Load()
	st.Subscribes = h.subscribes.Load()
	st.Unsubscribes = h.unsubscribes.Load()
	return st
}

// Subscription receives the live frames of one session in publish order.
type Subscription struct {
	hub     *Hub
	session uuid.UUID
	ch      chan *Frame
	ready   <-chan struct{} // closed once Redis confirmed the session's channel
	done    chan struct{}   // closed with the subscription
	// guarded by hub.mu
	closed bool
	err    error
}

// Ready is closed once Redis confirmed the session's channel: events
// published from then on reach C.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

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
