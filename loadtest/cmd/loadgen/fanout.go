package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/events"
)

// pingType is the event type loadgen publishes into its own sessions.
const pingType = "loadtest.ping"

// runFanout opens -subscribers session streams on ONE session of one API
// process, then publishes -events events into the session (through the
// same Publisher the workers use) and measures, for every subscriber, the
// time from just before Publish to the event's arrival.
func runFanout(ctx context.Context, args []string) error {
	var c common
	fs := c.flagSet("fanout", 5*time.Minute)
	subs := fs.Int("subscribers", 1000, "session streams on the one session")
	nev := fs.Int("events", 20, "events published")
	gap := fs.Duration("gap", 250*time.Millisecond, "pause between events")
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(ctx, c.maxTime)
	defer cancel()

	st, err := setUp(ctx, &c, setup{titles: []string{"fan-out"}, publish: true})
	if err != nil {
		return err
	}
	defer st.close()
	srv, p, sid := st.srv, st.p, st.sessions[0]

	recv := make([][]time.Time, *nev+1)
	for i := range recv {
		recv[i] = make([]time.Time, *subs)
	}
	sctx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	var open atomic.Int64
	var wg sync.WaitGroup
	openErr := openMany(sctx, *subs, 100, func(i int) error {
		resp, err := p.openSession(sctx, sid, "")
		if err != nil {
			return err
		}
		open.Add(1)
		wg.Go(func() {
			defer resp.Body.Close()
			_ = events.Read(sctx, resp.Body, func(e events.Event) bool {
				if e.Type != pingType {
					return true
				}
				at := time.Now()
				var d struct{ Seq int }
				if json.Unmarshal(e.Data, &d) == nil && d.Seq > 0 && d.Seq <= *nev {
					recv[d.Seq][i] = at
				}
				return true
			})
		})
		return nil
	})
	if openErr != nil {
		return fmt.Errorf("opening streams (%d open): %w", open.Load(), openErr)
	}
	rss0 := rssKB(srv.pid())
	time.Sleep(time.Second)
	sent := make([]time.Time, *nev+1)
	for k := 1; k <= *nev; k++ {
		e, err := events.NewEvent(pingType, uuid.Nil, map[string]any{"seq": k})
		if err != nil {
			return err
		}
		sent[k] = time.Now()
		if _, err := st.pub.Publish(ctx, uuid.MustParse(sid), e); err != nil {
			return err
		}
		time.Sleep(*gap)
	}
	time.Sleep(3 * time.Second)
	stopStreams()
	var all, lastPerEvent dist
	missing := 0
	for k := 1; k <= *nev; k++ {
		var last time.Duration
		for i := 0; i < *subs; i++ {
			if recv[k][i].IsZero() {
				missing++
				continue
			}
			d := recv[k][i].Sub(sent[k])
			all = append(all, d)
			last = max(last, d)
		}
		lastPerEvent = append(lastPerEvent, last)
	}
	wg.Wait()
	c.printLogs(srv)
	fmt.Printf("deliveries %s\nlast subscriber per event %s\nmissing %d\n", all, lastPerEvent, missing)
	report(&c, "fanout", map[string]any{
		"subscribers": *subs, "events": *nev, "deliveries": all.summary(), "last_subscriber_per_event": lastPerEvent.summary(),
		"missing": missing, "server_rss_kb_with_subscribers": rss0, "server_alive": srv.alive(),
	})
	if missing > 0 {
		return fmt.Errorf("%d deliveries missing", missing)
	}
	return nil
}

// openMany runs open(i) for i in [0,n) with at most par at once; the first
// error stops it.
func openMany(ctx context.Context, n, par int, open func(i int) error) error {
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	var first error
	var mu sync.Mutex
	for i := 0; i < n; i++ {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := open(i); err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("stream %d: %w", i, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first == nil {
		return ctx.Err()
	}
	return first
}
