package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/events"
)

// runStorm: -clients session streams follow -sessions sessions; they all
// drop, events keep being published, and they all come back AT ONCE with
// Last-Event-ID while more events are published during the replay. Every
// client must then hold every event of its session exactly once, in order.
// Then as many requests with a malformed Last-Event-ID arrive at once.
func runStorm(ctx context.Context, args []string) error {
	var c common
	fs := c.flagSet("storm", 5*time.Minute)
	nClients := fs.Int("clients", 1000, "SSE clients")
	nSess := fs.Int("sessions", 10, "sessions they follow")
	e1 := fs.Int("before", 10, "events per session before the drop")
	e2 := fs.Int("away", 20, "events per session while the clients are away")
	e3 := fs.Int("during", 10, "events per session during the reconnect storm")
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(ctx, c.maxTime)
	defer cancel()
	st, err := setUp(ctx, &c, setup{titles: numbered("storm", *nSess), publish: true})
	if err != nil {
		return err
	}
	defer st.close()
	srv, p, sessions := st.srv, st.p, st.sessions
	seq := make([]int, *nSess)
	publishRound := func(n int) error {
		for k := 0; k < n; k++ {
			for s := range sessions {
				seq[s]++
				e, _ := events.NewEvent(pingType, uuid.Nil, map[string]any{"seq": seq[s], "pad": "some narration of a typical delta size"})
				if _, err := st.pub.Publish(ctx, uuid.MustParse(sessions[s]), e); err != nil {
					return err
				}
			}
		}
		return nil
	}

	type client struct {
		sess   int
		lastID string
		seqs   []int
	}
	clients := make([]*client, *nClients)
	for i := range clients {
		clients[i] = &client{sess: i % *nSess}
	}
	// read follows a stream until the client holds want events or ctx ends.
	read := func(ctx context.Context, cl *client, resp *http.Response, want int, first *time.Time) {
		defer resp.Body.Close()
		_ = events.Read(ctx, resp.Body, func(e events.Event) bool {
			if e.Type != pingType {
				return true
			}
			if first != nil && first.IsZero() {
				*first = time.Now()
			}
			var d struct{ Seq int }
			_ = json.Unmarshal(e.Data, &d)
			cl.seqs = append(cl.seqs, d.Seq)
			cl.lastID = e.ID
			return len(cl.seqs) < want
		})
	}

	// Phase 1: everybody connected and caught up with the first events.
	phase1, stop1 := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if err := openMany(phase1, *nClients, 100, func(i int) error {
		resp, err := p.openSession(phase1, sessions[clients[i].sess], "")
		if err != nil {
			return err
		}
		wg.Go(func() { read(phase1, clients[i], resp, *e1, nil) })
		return nil
	}); err != nil {
		stop1()
		return err
	}
	if err := publishRound(*e1); err != nil {
		stop1()
		return err
	}
	waitDone := make(chan struct{})
	go func() { wg.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(30 * time.Second):
	}
	stop1()
	wg.Wait()
	short := 0
	for _, cl := range clients {
		if len(cl.seqs) < *e1 {
			short++
		}
	}
	if short > 0 {
		return fmt.Errorf("%d clients did not get the first %d events", short, *e1)
	}

	// Phase 2: they are away; the story goes on.
	if err := publishRound(*e2); err != nil {
		return err
	}

	// Phase 3: all reconnect at once, while more events are published.
	total := *e1 + *e2 + *e3
	rssPeak := rssKB(srv.pid())
	var samplerStop atomic.Bool
	go func() {
		for !samplerStop.Load() {
			rssPeak = max(rssPeak, rssKB(srv.pid()))
			time.Sleep(50 * time.Millisecond)
		}
	}()
	release := make(chan struct{})
	var (
		mu                sync.Mutex
		firstLat, doneLat dist
		refused, retried  atomic.Int64
		failed            []error
	)
	storm, stop3 := context.WithTimeout(ctx, 90*time.Second)
	defer stop3()
	var t0 time.Time
	for i := range clients {
		wg.Go(func() {
			cl := clients[i]
			<-release
			var first time.Time
			for attempt := 0; attempt < 10 && len(cl.seqs) < total; attempt++ {
				if attempt > 0 {
					retried.Add(1)
					time.Sleep(time.Second) // an EventSource's retry delay
				}
				resp, err := p.openSession(storm, sessions[cl.sess], cl.lastID)
				if err != nil {
					var ae *apiError
					if errors.As(err, &ae) {
						refused.Add(1)
					}
					continue
				}
				read(storm, cl, resp, total, &first)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(cl.seqs) < total {
				failed = append(failed, fmt.Errorf("client %d: %d of %d events", i, len(cl.seqs), total))
				return
			}
			firstLat = append(firstLat, first.Sub(t0))
			doneLat = append(doneLat, time.Since(t0))
		})
	}
	t0 = time.Now()
	close(release)
	time.Sleep(100 * time.Millisecond)
	if err := publishRound(*e3); err != nil {
		return err
	}
	wg.Wait()
	samplerStop.Store(true)

	// Exactly once, in order, for everybody.
	bad := 0
	for _, cl := range clients {
		ok := len(cl.seqs) == total
		for k, s := range cl.seqs {
			if s != k+1 {
				ok = false
				break
			}
		}
		if !ok {
			bad++
		}
	}

	// Malformed Last-Event-IDs, all at once.
	var malformed400, malformedOther atomic.Int64
	_ = openMany(ctx, *nClients, 200, func(i int) error {
		_, err := p.openSession(ctx, sessions[i%*nSess], []string{"not-an-id", "1-2-3", "99999999999999999999999-1", "-1", "1.5-0"}[i%5])
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == 400 {
			malformed400.Add(1)
		} else {
			malformedOther.Add(1)
		}
		return nil
	})
	c.printLogs(srv)
	fmt.Printf("storm: %d clients; first replayed event %s; caught up %s; refused %d, retries %d, wrong sequences %d, failed %d\n",
		*nClients, firstLat, doneLat, refused.Load(), retried.Load(), bad, len(failed))
	report(&c, "storm", map[string]any{
		"clients": *nClients, "sessions": *nSess, "events_per_session": total,
		"first_event_after_release": firstLat.summary(), "caught_up_after_release": doneLat.summary(),
		"refused": refused.Load(), "retries": retried.Load(), "wrong_sequences": bad, "failed": len(failed),
		"server_rss_kb_peak": rssPeak, "server_rss_kb_after": rssKB(srv.pid()), "server_alive": srv.alive(),
		"malformed_last_event_id": map[string]int64{"answered_400": malformed400.Load(), "other": malformedOther.Load()},
	})
	if bad > 0 || len(failed) > 0 || !srv.alive() {
		return fmt.Errorf("storm: %d wrong sequences, %d clients failed: %v", bad, len(failed), errors.Join(failed[:min(len(failed), 5)]...))
	}
	return nil
}
