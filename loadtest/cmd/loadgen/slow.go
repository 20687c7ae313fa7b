package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/events"
)

// runSlow: -clients session streams that never read (raw TCP with a small
// receive buffer) and one normal client follow one session while -events
// events of -size bytes are published as fast as Redis takes them. The
// server must drop the stalled clients (its per-client buffer fills), keep
// its memory bounded, and still deliver everything to the reader.
func runSlow(ctx context.Context, args []string) error {
	var c common
	fs := c.flagSet("slow", 5*time.Minute)
	nSlow := fs.Int("clients", 200, "clients that stop reading")
	nev := fs.Int("events", 3000, "events published")
	size := fs.Int("size", 4096, "bytes of padding per event")
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(ctx, c.maxTime)
	defer cancel()
	st, err := setUp(ctx, &c, setup{titles: []string{"slow clients"}, publish: true})
	if err != nil {
		return err
	}
	defer st.close()
	srv, p, sid := st.srv, st.p, st.sessions[0]

	var slow []net.Conn
	defer func() {
		for _, c := range slow {
			c.Close()
		}
	}()
	for i := 0; i < *nSlow; i++ {
		conn, err := p.dialSession(ctx, sid)
		if err != nil {
			return err
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		slow = append(slow, conn)
	}
	rctx, stopReader := context.WithCancel(ctx)
	defer stopReader()
	var got atomic.Int64
	var reconnects atomic.Int64
	inOrder := atomic.Bool{}
	inOrder.Store(true)
	readerDone := make(chan struct{})
	first, err := p.openSession(rctx, sid, "")
	if err != nil {
		return err
	}
	go func() {
		// Like a browser's EventSource: when the server drops it (too slow
		// for a burst), it reconnects with Last-Event-ID and catches up.
		defer close(readerDone)
		resp, lastID := first, ""
		for attempt := 0; attempt < 50 && rctx.Err() == nil; attempt++ {
			if resp == nil {
				reconnects.Add(1)
				time.Sleep(200 * time.Millisecond)
				if resp, err = p.openSession(rctx, sid, lastID); err != nil {
					resp = nil
					continue
				}
			}
			_ = events.Read(rctx, resp.Body, func(e events.Event) bool {
				if e.Type != pingType {
					return true
				}
				lastID = e.ID
				var d struct{ Seq int64 }
				_ = json.Unmarshal(e.Data, &d)
				if d.Seq != got.Load()+1 {
					inOrder.Store(false)
				}
				return got.Add(1) < int64(*nev)
			})
			resp.Body.Close()
			resp = nil
			if got.Load() >= int64(*nev) {
				return
			}
		}
	}()
	rss0 := rssKB(srv.pid())
	peak := rss0
	pad := strings.Repeat("x", *size)
	t0 := time.Now()
	for k := 1; k <= *nev; k++ {
		e, _ := events.NewEvent(pingType, uuid.Nil, map[string]any{"seq": k, "pad": pad})
		if _, err := st.pub.Publish(ctx, uuid.MustParse(sid), e); err != nil {
			return err
		}
		if k%100 == 0 {
			peak = max(peak, rssKB(srv.pid()))
		}
	}
	select {
	case <-readerDone:
	case <-time.After(60 * time.Second):
	}
	elapsed := time.Since(t0)
	time.Sleep(2 * time.Second)
	peak = max(peak, rssKB(srv.pid()))
	m := scrape(srv.URL, "conquest_sse_slow_clients_disconnected_total", "conquest_sse_connections")
	c.printLogs(srv)
	fmt.Printf("slow: %d stalled clients, %d events of %d B in %s; reader got %d (in order %v, %d reconnects); server RSS %d → peak %d KB; %v\n",
		*nSlow, *nev, *size, elapsed.Round(time.Millisecond), got.Load(), inOrder.Load(), reconnects.Load(), rss0, peak, m)
	report(&c, "slow", map[string]any{
		"stalled_clients": *nSlow, "events": *nev, "event_bytes": *size, "publish_seconds": elapsed.Seconds(),
		"reader_got": got.Load(), "reader_in_order": inOrder.Load(), "reader_reconnects": reconnects.Load(), "server_rss_kb_before": rss0, "server_rss_kb_peak": peak,
		"metrics": m, "server_alive": srv.alive(),
	})
	if got.Load() != int64(*nev) || !inOrder.Load() || !srv.alive() {
		return fmt.Errorf("the reading client got %d of %d events (in order: %v)", got.Load(), *nev, inOrder.Load())
	}
	return nil
}

// scrape reads the named unlabelled samples of the server's /metrics.
func scrape(base string, names ...string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		for _, n := range names {
			if f[0] == n {
				out[n], _ = strconv.ParseFloat(f[1], 64)
			}
		}
	}
	return out
}
