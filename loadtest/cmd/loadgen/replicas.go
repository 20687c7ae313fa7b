package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/events"
	"github.com/codeofconquest/brightdawn/internal/redisconn"
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
// reconnects per second the replicas handled and how many failed. With
// -resume (the default) a reconnect sends the Last-Event-ID of the
// session's first event, as a client back from a dropped connection does,
// so each one replays the rest from the session's Redis stream; with -raw
// (the default) a churner writes the request on a fresh TCP connection and
// reads only the response head, so the client's own cost (net/http's
// per-connection goroutines and buffers) weighs less in the figure.
func runReplicas(ctx context.Context, args []string) error {
	var c common
	fs := c.flagSet("replicas", 10*time.Minute)
	nrep := fs.Int("replicas", 4, "API processes")
	nsess := fs.Int("sessions", 1000, "sessions, one stream each, spread round-robin over the replicas")
	nev := fs.Int("events", 4000, "events published, to the sessions in turn")
	churn := fs.Duration("churn", 10*time.Second, "how long to reconnect streams after the fan-out (0: skip)")
	churners := fs.Int("churners", 64, "clients reconnecting at once during -churn")
	resume := fs.Bool("resume", true, "reconnect with Last-Event-ID (the session's first event): every reconnect replays from the Redis stream")
	raw := fs.Bool("raw", true, "churners open streams with a bare HTTP/1.1 request on a new TCP connection and read only the head (false: net/http's client)")
	profile := fs.String("profile", "cpu-churn.pprof", "where -pprof saves a CPU profile of the first replica during -churn")
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
	firstID := make([]string, *nsess) // each written by its session's reader only
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
					if firstID[i] == "" {
						firstID[i] = e.ID
					}
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
		if !*resume {
			firstID = nil
		}
		var profErr error
		var pw sync.WaitGroup
		if c.pprof {
			pw.Go(func() { profErr = saveCPUProfile(ctx, st.srv, int(churn.Seconds()), *profile) })
		}
		appCPU, redisCPU := serverCPU(ctx, bases)
		ok, failed, why := reconnectChurn(ctx, churnSpec{players: players, sessions: st.sessions, lastIDs: firstID, raw: *raw}, *churn, *churners)
		app2, redis2 := serverCPU(ctx, bases)
		pw.Wait()
		rate := float64(ok) / churn.Seconds()
		perApp, perRedis := 1000*(app2-appCPU)/float64(max(ok, 1)), 1000*(redis2-redisCPU)/float64(max(ok, 1))
		fmt.Printf("churn: %d reconnects in %s (%.0f/s), %d failed %v (resume %v, raw %v, %d churners)\n", ok, *churn, rate, failed, why, *resume, *raw, *churners)
		fmt.Printf("churn CPU per reconnect: %.3f ms in the replicas (%.1f s in all), %.3f ms in Redis\n", perApp, app2-appCPU, perRedis)
		summary["churn_reconnects"], summary["churn_per_second"], summary["churn_failed"] = ok, rate, failed
		summary["churn_resume"], summary["churn_raw"], summary["churners"] = *resume, *raw, *churners
		summary["churn_cpu_ms_per_reconnect_replicas"], summary["churn_cpu_ms_per_reconnect_redis"] = perApp, perRedis
		if profErr != nil {
			return fmt.Errorf("profile: %w", profErr)
		}
	}
	c.printLogs(st.srv)
	report(&c, "replicas", summary)
	if got.Load() != int64(*nev) {
		return fmt.Errorf("%d of %d events delivered", got.Load(), *nev)
	}
	return nil
}

// serverCPU is the CPU time (user + system, seconds) the replicas have used
// (their process_cpu_seconds_total, summed) and the one Redis server has
// (INFO cpu; 0 on a Cluster or Sentinel set-up, where it is several).
func serverCPU(ctx context.Context, bases []string) (app, rds float64) {
	for _, b := range bases {
		app += scrape(b, "process_cpu_seconds_total")["process_cpu_seconds_total"]
	}
	opt, err := redisconn.Parse(os.Getenv("REDIS_URL"))
	if err != nil || opt.Mode != redisconn.Single {
		return app, 0
	}
	rdb := opt.NewClient()
	defer rdb.Close()
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return app, 0
	}
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, _ := strconv.ParseFloat(v, 64)
			rds += f
		}
	}
	return app, rds
}

// churnSpec is what reconnectChurn reconnects to, and how.
type churnSpec struct {
	players  []*player // one per replica
	sessions []string
	lastIDs  []string // per session, the Last-Event-ID to send ("" or nil: none)
	raw      bool     // a bare request on a new connection instead of net/http
}

// reconnectChurn has n clients open a stream on a random session of a
// random replica, read the response head (the replica has authenticated,
// checked membership, subscribed and replayed) and close it, again and
// again for d.
func reconnectChurn(ctx context.Context, cs churnSpec, d time.Duration, n int) (ok, failed int64, why map[string]int) {
	end := time.Now().Add(d)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	// An operation cut off by the end of the run is neither a success nor
	// a failure. The clock says so before ctx does: a connection's deadline
	// (end) can fire before ctx's timer has run on a loaded box.
	over := func() bool { return ctx.Err() != nil || !time.Now().Before(end) }
	var okN, failN atomic.Int64
	var mu sync.Mutex
	why = map[string]int{} // failures by their error, cut to its gist
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			buf := make([]byte, 4096)
			for !over() {
				p := cs.players[rand.N(len(cs.players))]
				i := rand.N(len(cs.sessions))
				last := ""
				if cs.lastIDs != nil {
					last = cs.lastIDs[i]
				}
				var err error
				if cs.raw {
					err = openHead(ctx, p, cs.sessions[i], last, buf)
				} else {
					var resp *http.Response
					if resp, err = p.openSession(ctx, cs.sessions[i], last); err == nil {
						resp.Body.Close()
					}
				}
				switch {
				case over():
				case err == nil:
					okN.Add(1)
				default:
					failN.Add(1)
					mu.Lock()
					why[errGist(err)]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return okN.Load(), failN.Load(), why
}

// errGist is an error's message without the addresses and ids that make
// each one unique, so that failures can be counted by kind.
func errGist(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && !strings.HasPrefix(msg, "HTTP") {
		msg = strings.TrimSpace(msg[i+2:])
	}
	return msg
}

// openHead opens a session's stream with one write on a new TCP
// connection, reads until the end of the response head (into buf, which
// the replay that follows it may also land in), checks for 200 and closes.
func openHead(ctx context.Context, p *player, sessionID, lastID string, buf []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(p.base, "http://"))
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	req := "GET " + sessionEvents(sessionID) + " HTTP/1.1\r\nHost: " + conn.RemoteAddr().String() +
		"\r\nAuthorization: Bearer " + p.token + "\r\nAccept: text/event-stream\r\n"
	if lastID != "" {
		req += "Last-Event-ID: " + lastID + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		return err
	}
	n := 0
	for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
		if n == len(buf) {
			return fmt.Errorf("response head longer than %d bytes", len(buf))
		}
		m, err := conn.Read(buf[n:])
		if err != nil {
			return fmt.Errorf("read head: %w", err)
		}
		n += m
	}
	if !bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 200")) {
		line, _, _ := bytes.Cut(buf[:n], []byte("\r\n"))
		return fmt.Errorf("%s", line)
	}
	return nil
}
