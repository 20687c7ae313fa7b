package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/codeofconquest/brightdawn/events"
)

// runParty is the party soak of issue #15 (docs/PARTY.md): an owner and
// -players players who joined through a real invite, each with their own
// character and one session stream, play one session at -rate turns per
// second in all for -duration, taking turns; about one message in
// -whisper-every is a whisper. conquest's /metrics are sampled every
// -sample to show whether goroutines or memory grow, and every stream's
// events are checked at the end: each member must have received every
// public turn and their own whispers, and no other member's whisper.
//
// -mode free: every message is a turn. -mode rounds: the session plays in
// rounds; each member acts once per round, in turn, and the owner closes
// a round a whisper left short (a whisper is a free turn of its own).
func runParty(ctx context.Context, args []string) error {
	var c common
	fs := c.flagSet("party", 30*time.Minute)
	nplayers := fs.Int("players", 5, "players joining the owner's session")
	dur := fs.Duration("duration", 10*time.Minute, "how long the session plays")
	rate := fs.Float64("rate", 1, "messages per second, the whole session together")
	whisperEvery := fs.Int("whisper-every", 6, "about one message in this many is a whisper (0: none)")
	mode := fs.String("mode", "free", "free (every message a turn) or rounds (each member acts once per round)")
	every := fs.Duration("sample", 10*time.Second, "how often /metrics is sampled")
	drain := fs.Duration("drain", 60*time.Second, "after -duration, how long to wait for the turns still running")
	wordDelay := fs.String("word-delay", "0", "DM_WORD_DELAY of the offline DM (0: instant replies, the pipeline alone)")
	seed := fs.Uint64("seed", 1, "seed of the whisper draw")
	fs.Parse(args)
	if *nplayers < 1 || *nplayers+1 > 8 || *dur <= 0 || *rate <= 0 || *every <= 0 || *whisperEvery < 0 {
		return errors.New("-players must be 1 to 7 (8 members at most), -duration, -rate and -sample positive, -whisper-every not negative")
	}
	if *mode != "free" && *mode != "rounds" {
		return errors.New(`-mode must be "free" or "rounds"`)
	}
	ctx, cancel := context.WithTimeout(ctx, c.maxTime)
	defer cancel()

	// Tokens outlive the run: a stream ends with its access token.
	srv, err := startServer(ctx, &c, "DM_WORD_DELAY="+*wordDelay, "ACCESS_TOKEN_TTL=2h")
	if err != nil {
		return err
	}
	defer srv.stop()
	ms := &metricsSampler{url: srv.URL + "/metrics", start: time.Now()}
	before, err := ms.sample(ctx, "before")
	if err != nil {
		return fmt.Errorf("/metrics: %w", err)
	}

	members, sid, err := formParty(ctx, srv.URL, *nplayers)
	if err != nil {
		return err
	}
	if *mode == "rounds" {
		// The owner closes a round a whisper left short; the timeout is only a backstop.
		if err := members[0].call(ctx, "PATCH", "/api/sessions/"+sid, map[string]any{"mode": "rounds", "round_timeout": 120}, nil, 200); err != nil {
			return fmt.Errorf("rounds mode: %w", err)
		}
	}

	run := newPartyRun(len(members))
	sctx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	var streams sync.WaitGroup
	opened := make(chan error, len(members))
	for i, m := range members {
		streams.Go(func() { run.follow(sctx, m, i, sid, opened) })
	}
	for range members {
		if err := <-opened; err != nil {
			return fmt.Errorf("opening a stream: %w", err)
		}
	}
	time.Sleep(time.Second) // presence settles before the clock starts

	load0 := loadAvg()
	ms.start = time.Now()
	if _, err := ms.sample(ctx, "start"); err != nil {
		return err
	}
	sampling, stopSampling := context.WithCancel(ctx)
	var sampler sync.WaitGroup
	sampler.Go(func() { ms.every(sampling, *every) })

	g := partyGame{run: run, members: members, sid: sid, rounds: *mode == "rounds",
		whisperEvery: *whisperEvery, rng: rand.New(rand.NewPCG(*seed, 15))}
	g.play(ctx, time.Duration(float64(time.Second) / *rate), *dur)
	played := time.Since(ms.start)
	run.waitFinal(ctx, *drain)
	stopSampling()
	sampler.Wait()
	end, _ := ms.sample(ctx, "end")
	loadEnd := loadAvg()
	stopStreams()
	streams.Wait()
	time.Sleep(2 * time.Second)
	closed, _ := ms.sample(ctx, "streams closed")

	d := run.check()
	c.printLogs(srv)
	fmt.Print(ms.table())
	fmt.Printf("%s mode, %d members, %s: %s\noverhead (post → dm.done on the poster's stream) %s\n",
		*mode, len(members), played.Round(time.Second), d, run.overhead())
	summary := map[string]any{
		"mode": *mode, "members": len(members), "played_s": played.Seconds(), "rate_per_s": *rate,
		"word_delay": *wordDelay, "delivery": d, "overhead": run.overhead().summary(),
		"posts_failed": run.postFailed.Load(), "post_failures": run.failureCounts(), "rounds_closed_by_owner": run.ownerClosed.Load(),
		"session_events_per_member": run.sessionWideCounts(), "stream_reconnects": run.reconnects.Load(), "stream_resets": run.resets.Load(),
		"load_average_at_start": load0, "load_average_at_end": loadEnd,
		"metrics_before": before.values, "metrics_end": end.values, "metrics_streams_closed": closed.values,
		"trends": ms.trends(), "samples": ms.series(), "server_alive": srv.alive(),
	}
	report(&c, "party", summary)
	if c.svgOut != "" {
		title := fmt.Sprintf("party soak (%s): post → dm.done on the poster's stream, %d members", *mode, len(members))
		if err := writeDistSVG(c.svgOut, title, []namedDist{{"post → dm.done", run.overhead()}}); err != nil {
			return fmt.Errorf("-svg: %w", err)
		}
		over := strings.TrimSuffix(c.svgOut, ".svg") + "-over-time.svg"
		if err := ms.writeSVG(over, fmt.Sprintf("party soak (%s): conquest over the run, sampled every %s", *mode, *every)); err != nil {
			return fmt.Errorf("-svg: %w", err)
		}
	}
	if d.Violations > 0 {
		return fmt.Errorf("%d events of a whisper reached another member", d.Violations)
	}
	if d.Missing > 0 {
		return fmt.Errorf("%d deliveries missing", d.Missing)
	}
	return nil
}

// formParty registers the owner and n players, each with a character of
// their own; the owner starts a session with theirs and makes an invite
// that the players join with theirs. members[0] is the owner.
func formParty(ctx context.Context, base string, n int) ([]*player, string, error) {
	members := make([]*player, n+1)
	chars := make([]string, n+1)
	for i := range members {
		p, err := register(ctx, base)
		if err != nil {
			return nil, "", err
		}
		var ch struct{ Character struct{ ID string } }
		body := map[string]any{"name": fmt.Sprintf("Hero %d", i), "class": "fighter", "level": 1}
		if err := p.call(ctx, "POST", "/api/characters", body, &ch, 201); err != nil {
			return nil, "", fmt.Errorf("character: %w", err)
		}
		members[i], chars[i] = p, ch.Character.ID
	}
	owner := members[0]
	var s struct{ Session struct{ ID string } }
	if err := owner.call(ctx, "POST", "/api/sessions", map[string]any{"title": "party soak", "character_id": chars[0]}, &s, 201); err != nil {
		return nil, "", fmt.Errorf("session: %w", err)
	}
	sid := s.Session.ID
	var inv struct{ Invite struct{ Code string } }
	if err := owner.call(ctx, "POST", "/api/sessions/"+sid+"/invites", map[string]any{"max_uses": n}, &inv, 201); err != nil {
		return nil, "", fmt.Errorf("invite: %w", err)
	}
	for i, p := range members[1:] {
		if err := p.call(ctx, "POST", "/api/invites/"+inv.Invite.Code+"/join", map[string]any{"character_id": chars[i+1]}, nil, 200); err != nil {
			return nil, "", fmt.Errorf("join: %w", err)
		}
	}
	return members, sid, nil
}

// partyGame posts the session's messages.
type partyGame struct {
	run          *partyRun
	members      []*player
	sid          string
	rounds       bool
	whisperEvery int
	rng          *rand.Rand
}

// play posts one message every gap for dur, the members in turn. In free
// mode a post does not wait for the one before (a slow answer does not
// slow the clock; at most 64 are in flight); in rounds mode the posts of a
// round go one after another, so the owner's close follows the round's
// last action.
func (g *partyGame) play(ctx context.Context, gap, dur time.Duration) {
	tick := time.NewTicker(gap)
	defer tick.Stop()
	stop := time.After(dur)
	inflight := make(chan struct{}, 64)
	var wg sync.WaitGroup
	defer wg.Wait()
	for k := 0; ; k++ {
		m := k % len(g.members)
		private := g.whisperEvery > 0 && g.rng.IntN(g.whisperEvery) == 0
		content := fmt.Sprintf("Message %d: I search the room for anything useful.", k)
		if g.rounds {
			g.post(ctx, m, content, private)
			if m == len(g.members)-1 {
				g.closeShortRound(ctx)
			}
		} else {
			select {
			case inflight <- struct{}{}:
				wg.Go(func() {
					defer func() { <-inflight }()
					g.post(ctx, m, content, private)
				})
			default:
				g.run.failed(errors.New("64 posts in flight: skipped"))
			}
		}
		select {
		case <-tick.C:
		case <-stop:
			return
		case <-ctx.Done():
			return
		}
	}
}

// post sends member m's message and records the turn it started, if any.
func (g *partyGame) post(ctx context.Context, m int, content string, private bool) {
	body := map[string]any{"content": content}
	if private {
		body["visibility"] = "private"
	}
	var out struct {
		Turn  *struct{ ID string }
		Round *struct {
			ID     string
			TurnID *string `json:"turn_id"`
		}
	}
	at := time.Now()
	if err := g.members[m].call(ctx, "POST", "/api/sessions/"+g.sid+"/messages", body, &out, 202); err != nil {
		if ctx.Err() == nil {
			g.run.failed(err)
		}
		return
	}
	if out.Turn != nil {
		g.run.posted(partyPost{Turn: out.Turn.ID, Author: m, Private: private, At: at})
	}
}

// closeShortRound: after every member's go, the owner closes the round if
// a whisper kept it open (the last action's answer started no turn).
func (g *partyGame) closeShortRound(ctx context.Context) {
	if g.run.roundComplete() {
		return
	}
	var out struct{ Turn *struct{ ID string } }
	at := time.Now()
	err := g.members[0].call(ctx, "POST", "/api/sessions/"+g.sid+"/rounds/close", nil, &out, 200)
	var ae *apiError
	switch {
	case err == nil && out.Turn != nil:
		g.run.ownerClosed.Add(1)
		g.run.posted(partyPost{Turn: out.Turn.ID, Author: 0, At: at})
		g.run.roundComplete() // the next round starts counting from here
	case errors.As(err, &ae) && ae.Status == 409:
		// Every member whispered: there was no round to close.
	case err != nil && ctx.Err() == nil:
		g.run.failed(err)
	}
}

// partyRun is what the run saw: the turns posted and each member's stream.
type partyRun struct {
	mu    sync.Mutex
	posts []partyPost
	seen  []map[string]turnSeen // per member, by turn id
	// roundTurns counts the posts that started a turn since the last
	// roundComplete (rounds mode).
	roundTurns         int
	postFailed         atomic.Int64
	failures           map[string]int // the failed posts by error (first 120 bytes)
	ownerClosed        atomic.Int64
	reconnects, resets atomic.Int64
	// sessionWide counts, per member, the events of no turn by type
	// (round.*, presence, member.*): round events must match everywhere.
	sessionWide []map[string]int
}

func newPartyRun(members int) *partyRun {
	r := &partyRun{seen: make([]map[string]turnSeen, members), sessionWide: make([]map[string]int, members)}
	for i := range r.seen {
		r.seen[i], r.sessionWide[i] = map[string]turnSeen{}, map[string]int{}
	}
	return r
}

func (r *partyRun) failed(err error) {
	r.postFailed.Add(1)
	msg := err.Error()
	if len(msg) > 120 {
		msg = msg[:120]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failures == nil {
		r.failures = map[string]int{}
	}
	r.failures[msg]++
}

func (r *partyRun) posted(p partyPost) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posts = append(r.posts, p)
	if !p.Private {
		r.roundTurns++
	}
}

// roundComplete reports whether the round just played started its turn
// by itself (every member acted), and starts counting the next.
func (r *partyRun) roundComplete() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	done := r.roundTurns > 0
	r.roundTurns = 0
	return done
}

// follow holds member i's session stream until ctx ends, resuming with
// Last-Event-ID if it drops, and records every event of a turn.
func (r *partyRun) follow(ctx context.Context, p *player, i int, sid string, opened chan<- error) {
	lastID := ""
	first := true
	for ctx.Err() == nil {
		resp, err := p.openSession(ctx, sid, lastID)
		if first {
			opened <- err
			first = false
		}
		if err != nil {
			if ctx.Err() == nil {
				r.reconnects.Add(1)
				time.Sleep(time.Second)
			}
			continue
		}
		_ = events.Read(ctx, resp.Body, func(e events.Event) bool {
			if e.ID != "" {
				lastID = e.ID
			}
			r.saw(i, e, time.Now())
			return true
		})
		resp.Body.Close()
		if ctx.Err() == nil {
			r.reconnects.Add(1)
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func (r *partyRun) saw(i int, e events.Event, at time.Time) {
	if e.Type == events.TypeReset {
		r.resets.Add(1)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.TurnID == "" {
		r.sessionWide[i][e.Type]++
		return
	}
	s := r.seen[i][e.TurnID]
	s.Events++
	if events.IsTerminal(e.Type) && s.Final == "" {
		s.Final, s.FinalAt = e.Type, at
	}
	r.seen[i][e.TurnID] = s
}

// waitFinal waits until every posted turn's poster saw its final event,
// for at most d.
func (r *partyRun) waitFinal(ctx context.Context, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		r.mu.Lock()
		pending := 0
		for _, p := range r.posts {
			if r.seen[p.Author][p.Turn].Final == "" {
				pending++
			}
		}
		r.mu.Unlock()
		if pending == 0 {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (r *partyRun) failureCounts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.failures)
}

// sessionWideCounts copies the per-member counts of events of no turn.
func (r *partyRun) sessionWideCounts() []map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]map[string]int, len(r.sessionWide))
	for i, m := range r.sessionWide {
		out[i] = maps.Clone(m)
	}
	return out
}

func (r *partyRun) check() partyDelivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return checkDelivery(r.posts, r.seen)
}

// overhead is, per completed turn, the time from its POST to dm.done on
// its poster's stream.
func (r *partyRun) overhead() dist {
	r.mu.Lock()
	defer r.mu.Unlock()
	var d dist
	for _, p := range r.posts {
		if s := r.seen[p.Author][p.Turn]; s.Final == events.TypeDMDone {
			d = append(d, s.FinalAt.Sub(p.At))
		}
	}
	return d
}

// partyPost is a turn the run started: a free-mode message, a whisper, or
// the turn of a round (Author: who completed or closed it).
type partyPost struct {
	Turn    string
	Author  int
	Private bool
	At      time.Time
}

// turnSeen is what one member's stream showed of one turn.
type turnSeen struct {
	Events  int
	Final   string // the final event's type, "" if none arrived
	FinalAt time.Time
}

// partyDelivery is the outcome of checkDelivery.
type partyDelivery struct {
	Turns     int            `json:"turns"`     // turns started
	Whispers  int            `json:"whispers"`  // of which whispers
	Finals    map[string]int `json:"finals"`    // final event of each turn, on its poster's stream ("none": none arrived)
	Expected  int            `json:"expected"`  // (turn, member) pairs that must be delivered
	Missing   int            `json:"missing"`   // of which no final event arrived
	Mismatch  int            `json:"mismatch"`  // public turns whose members saw different numbers of events
	Violation []string       `json:"violation"` // "member m saw n events of member a's whisper t"
	// Violations counts events of a whisper received by another member.
	Violations int `json:"violations"`
	// Unknown counts turns seen on a stream that no post of the run
	// returned (a POST whose answer was lost): they cannot be classified.
	Unknown int `json:"unknown"`
}

func (d partyDelivery) String() string {
	return fmt.Sprintf("turns %d (whispers %d), finals %v; deliveries expected %d, missing %d, public turns with uneven event counts %d, whisper events seen by another member %d, unknown turns %d",
		d.Turns, d.Whispers, d.Finals, d.Expected, d.Missing, d.Mismatch, d.Violations, d.Unknown)
}

// checkDelivery checks what each member's stream showed against the
// turns posted: a public turn must reach every member with its final event
// (and the same number of events everywhere), a whisper its author alone.
// Any event of a whisper on another member's stream is a violation.
func checkDelivery(posts []partyPost, seen []map[string]turnSeen) partyDelivery {
	d := partyDelivery{Turns: len(posts), Finals: map[string]int{}}
	byTurn := make(map[string]partyPost, len(posts))
	for _, p := range posts {
		byTurn[p.Turn] = p
		if p.Private {
			d.Whispers++
		}
		final := seen[p.Author][p.Turn].Final
		if final == "" {
			final = "none"
		}
		d.Finals[final]++
		counts := map[int]bool{}
		for m := range seen {
			if p.Private && m != p.Author {
				continue
			}
			d.Expected++
			s := seen[m][p.Turn]
			if s.Final == "" {
				d.Missing++
			}
			counts[s.Events] = true
		}
		if len(counts) > 1 {
			d.Mismatch++
		}
	}
	for m, turns := range seen {
		for id, s := range turns {
			p, ok := byTurn[id]
			switch {
			case !ok:
				d.Unknown++
			case p.Private && p.Author != m:
				d.Violations += s.Events
				d.Violation = append(d.Violation, fmt.Sprintf("member %d saw %d events of member %d's whisper %s", m, s.Events, p.Author, id))
			}
		}
	}
	return d
}

// --- /metrics sampling

// partyMetrics are the series sampled from conquest's /metrics.
var partyMetrics = []string{
	"go_goroutines", "go_memstats_heap_inuse_bytes", "process_resident_memory_bytes",
	"conquest_sse_connections",
}

type metricsSample struct {
	label  string
	at     time.Duration // since the sampler's start
	values map[string]float64
}

type metricsSampler struct {
	url     string
	start   time.Time
	mu      sync.Mutex
	samples []metricsSample // the run's samples: "start", every tick, "end"
}

// sample scrapes /metrics; the run's samples ("start", ticks, "end") are kept.
func (s *metricsSampler) sample(ctx context.Context, label string) (metricsSample, error) {
	text, err := fetchText(ctx, s.url)
	if err != nil {
		return metricsSample{label: label}, err
	}
	ms := metricsSample{label: label, at: time.Since(s.start), values: parseMetrics(text, partyMetrics)}
	if label != "before" && label != "streams closed" {
		s.mu.Lock()
		s.samples = append(s.samples, ms)
		s.mu.Unlock()
	}
	return ms, nil
}

func (s *metricsSampler) every(ctx context.Context, d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = s.sample(ctx, "")
		}
	}
}

// series is the run's samples for -json: seconds since the start and
// the values (memory in MiB).
func (s *metricsSampler) series() []map[string]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]float64, 0, len(s.samples))
	for _, smp := range s.samples {
		row := map[string]float64{"at_s": math.Round(smp.at.Seconds()*10) / 10}
		for k, v := range smp.values {
			if strings.HasSuffix(k, "_bytes") {
				k, v = strings.TrimSuffix(k, "_bytes")+"_mib", math.Round(v/(1<<20)*10)/10
			}
			row[k] = v
		}
		out = append(out, row)
	}
	return out
}

// writeSVG draws goroutines and memory (MiB) over the run on one axis:
// a leak is a line that keeps rising.
func (s *metricsSampler) writeSVG(path, title string) error {
	rows := s.series()
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "minutes"
	p.Y.Label.Text = "goroutines / MiB"
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	top := 0.0
	for i, name := range []string{"go_goroutines", "go_memstats_heap_inuse_mib", "process_resident_memory_mib"} {
		var xys plotter.XYs
		for _, r := range rows {
			if v, ok := r[name]; ok {
				xys = append(xys, plotter.XY{X: r["at_s"] / 60, Y: v})
				top = max(top, v)
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(name, line)
	}
	p.Y.Min, p.Y.Max = 0, top*1.35 // room for the legend
	return saveSVG(p, path)
}

// trend is a series over the run: its first, last and largest value and
// the slope of its least-squares line, per minute, over the whole run and
// over its second half (past the warm-up: a heap that grows at first and
// then stays level is not a leak).
type trend struct {
	Start, End, Max     float64
	SlopePerMin         float64 `json:"slope_per_min"`
	SlopePerMinLastHalf float64 `json:"slope_per_min_last_half"`
}

func (s *metricsSampler) trends() map[string]trend {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]trend{}
	for _, name := range partyMetrics {
		var xs, ys []float64
		for _, smp := range s.samples {
			if v, ok := smp.values[name]; ok {
				xs, ys = append(xs, smp.at.Minutes()), append(ys, v)
			}
		}
		if len(ys) == 0 {
			continue
		}
		h := len(xs) / 2
		t := trend{Start: ys[0], End: ys[len(ys)-1], Max: ys[0], SlopePerMin: slope(xs, ys), SlopePerMinLastHalf: slope(xs[h:], ys[h:])}
		for _, y := range ys {
			t.Max = max(t.Max, y)
		}
		out[name] = t
	}
	return out
}

// table prints the trends, memory in MiB.
func (s *metricsSampler) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-34s %12s %12s %12s %14s %18s\n", "series", "start", "end", "max", "slope/min", "2nd half slope/min")
	for _, name := range partyMetrics {
		t, ok := s.trends()[name]
		if !ok {
			continue
		}
		scale, unit := 1.0, ""
		if strings.HasSuffix(name, "_bytes") {
			scale, unit = 1<<20, " MiB"
		}
		fmt.Fprintf(&b, "%-34s %12.1f %12.1f %12.1f %14.3f %18.3f%s\n", name, t.Start/scale, t.End/scale, t.Max/scale, t.SlopePerMin/scale, t.SlopePerMinLastHalf/scale, unit)
	}
	return b.String()
}

// slope is the slope of the least-squares line through (xs[i], ys[i]);
// 0 with fewer than two distinct xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if len(xs) < 2 || len(xs) != len(ys) {
		return 0
	}
	var sx, sy float64
	for i := range xs {
		sx, sy = sx+xs[i], sy+ys[i]
	}
	mx, my := sx/n, sy/n
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// parseMetrics reads the unlabelled samples of the named series from a
// Prometheus text exposition.
func parseMetrics(text string, names []string) map[string]float64 {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	for line := range strings.SplitSeq(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !want[f[0]] {
			continue
		}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			out[f[0]] = v
		}
	}
	return out
}

// fetchText GETs url and returns its body (a 200 only).
func fetchText(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return "", err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", &apiError{Status: resp.StatusCode, Body: string(b)}
	}
	return string(b), nil
}
