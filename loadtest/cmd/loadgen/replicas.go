package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/events"
)

// runReplicas measures how live events divide between API replicas: it
// starts -replicas API processes on the stack, opens one stream on each of
// -sessions sessions, spread round-robin over the replicas, publishes
// -events events to the sessions in turn (through the workers' Publisher)
// and reads, from each replica's /metrics, how many announcements it
// received from Redis (conquest_events_received_total). With one shared
// channel every replica receives every event; with per-session channels a
// replica receives only its sessions' events. It then runs -churn of
// reconnects: -churners clients close and reopen streams on random
// sessions of random replicas as fast as they can, and it reports the
// reconnects per second the replicas handled and how many failed.
func runReplicas(ctx context.Context, args []string) error {
	var c common
	fs := c.flagSet("replicas", 10*time.Minute)
	nrep := fs.Int("replicas", 4, "API processes")
	nsess := fs.Int("sessions", 1000, "sessions, one stream each, spread round-robin over the replicas")
	nev := fs.Int("events", 4000, "events published, to the sessions in turn")
	churn := fs.Duration("churn", 10*time.Second, "how long to reconnect streams after the fan-out (0: skip)")
	churners := fs.Int("churners", 64, "clients reconnecting at once during -churn")
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(ctx, c.maxTime)
	defer cancel()

	titles := numbered("replica session", *nsess)
	st, err := setUp(ctx, &c, setup{titles: titles, publish: true, env: []string{
		"SESSIONS_PER_PLAYER=100000", "STREAMS_PER_PLAYER=100000", "STREAMS_PER_IP=100000",
	}})
	if err != nil {
		return err
	}
	defer st.close()
	bases := []string{st.srv.URL}
	for len(bases) < *nrep {
		b, err := st.srv.addAPI(ctx)
		if err != nil {
			return fmt.Errorf("replica %d: %w", len(bases), err)
		}
		bases = append(bases, b)
	}
	players := make([]*player, len(bases))
	for i, b := range bases {
		q := *st.p
		q.base = b
		players[i] = &q
	}

	// One stream per session, session i on replica i % replicas.
	sctx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	var got atomic.Int64
	var wg sync.WaitGroup
	openErr := openMany(sctx, *nsess, 50, func(i int) error {
		resp, err := players[i%len(players)].openSession(sctx, st.sessions[i], "")
		if err != nil {
			return err
		}
		wg.Go(func() {
			defer resp.Body.Close()
			_ = events.Read(sctx, resp.Body, func(e events.Event) bool {
				if e.Type == pingType {
					got.Add(1)
				}
				return true
			})
		})
		return nil
	})
	if openErr != nil {
		return fmt.Errorf("opening streams: %w", openErr)
	}
	const metric = "conquest_events_received_total"
	before := make([]float64, len(bases))
	for i, b := range bases {
		before[i] = scrape(b, metric)[metric]
	}
	t0 := time.Now()
	for k := range *nev {
		e, err := events.NewEvent(pingType, uuid.Nil, map[string]any{"seq": k + 1})
		if err != nil {
			return err
		}
		if _, err := st.pub.Publish(ctx, uuid.MustParse(st.sessions[k%*nsess]), e); err != nil {
			return err
		}
	}
	publishTime := time.Since(t0)
	deadline := time.Now().Add(30 * time.Second)
	for got.Load() < int64(*nev) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	received := make([]float64, len(bases))
	share := make([]float64, len(bases))
	for i, b := range bases {
		received[i] = scrape(b, metric)[metric] - before[i]
		share[i] = received[i] / float64(*nev)
	}
	fmt.Printf("published %d events in %s; delivered %d\n", *nev, rnd(publishTime), got.Load())
	for i := range bases {
		fmt.Printf("replica %d received %.0f (%.1f %% of all events)\n", i, received[i], 100*share[i])
	}
	stopStreams()
	wg.Wait()

	summary := map[string]any{
		"replicas": *nrep, "sessions": *nsess, "events": *nev, "delivered": got.Load(),
		"received_per_replica": received, "share_per_replica": share,
	}
	if *churn > 0 {
		ok, failed := reconnectChurn(ctx, players, st.sessions, *churn, *churners)
		rate := float64(ok) / churn.Seconds()
		fmt.Printf("churn: %d reconnects in %s (%.0f/s), %d failed\n", ok, *churn, rate, failed)
		summary["churn_reconnects"], summary["churn_per_second"], summary["churn_failed"] = ok, rate, failed
	}
	c.printLogs(st.srv)
	report(&c, "replicas", summary)
	if got.Load() != int64(*nev) {
		return fmt.Errorf("%d of %d events delivered", got.Load(), *nev)
	}
	return nil
}

// reconnectChurn has n clients open a stream on a random session of a
// random replica, read its first bytes (the response head: the replica has
// subscribed and replayed) and close it, again and again for d.
func reconnectChurn(ctx context.Context, players []*player, sessions []string, d time.Duration, n int) (ok, failed int64) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var okN, failN atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				p := players[rand.N(len(players))]
				resp, err := p.openSession(ctx, sessions[rand.N(len(sessions))], "")
				if err != nil {
					if ctx.Err() == nil {
						failN.Add(1)
					}
					continue
				}
				resp.Body.Close()
				okN.Add(1)
			}
		})
	}
	wg.Wait()
	return okN.Load(), failN.Load()
}
