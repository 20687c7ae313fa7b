package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
)

// runIdle opens -conns session streams to ONE `conquest api` process and
// holds them idle, then reports the server's RSS, Go heap and goroutines
// per connection (after a forced GC through pprof). The client side uses
// raw TCP connections that only read the response head, so it stays small.
func runIdle(ctx context.Context, args []string) error {
	var c common
	fs := c.flagSet("idle", 10*time.Minute)
	fs.Set("cmd", "api")
	conns := fs.Int("conns", 10000, "idle SSE connections")
	nsess := fs.Int("sessions", 100, "sessions they are spread over")
	hold := fs.Duration("hold", 20*time.Second, "how long to hold them before measuring (spans a heartbeat)")
	heapOut := fs.String("heap-profile", "", "save a heap profile (after GC) with the connections open")
	fs.Parse(args)
	c.pprof = true
	ctx, cancel := context.WithTimeout(ctx, c.maxTime)
	defer cancel()
	if c.base != "" {
		return fmt.Errorf("idle measures the process it starts; -base is not supported")
	}
	st, err := setUp(ctx, &c, setup{titles: numbered("idle", *nsess), env: []string{"SSE_HEARTBEAT=15s"}})
	if err != nil {
		return err
	}
	defer st.close()
	srv, p, sessions := st.srv, st.p, st.sessions
	// Warm the process up (pools, first handlers) before the baseline.
	if err := openMany(ctx, 50, 50, func(i int) error {
		conn, err := p.dialSession(ctx, sessions[i%len(sessions)])
		if err == nil {
			conn.Close()
		}
		return err
	}); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	measure := func() map[string]int64 {
		// Several GCs: the runtime halves an idle goroutine's grown stack
		// at most once per GC, and a live server collects regularly
		// (at least every 2 minutes), so this is the steady state.
		var hi, hs, st, ha int64
		for range 4 {
			hi, hs, st, ha, _ = heapStats(srv)
			time.Sleep(250 * time.Millisecond)
		}
		return map[string]int64{"rss_kb": rssKB(srv.pid()), "heap_inuse": hi, "heap_alloc": ha, "heap_sys": hs, "stack_inuse": st,
			"goroutines": int64(goroutines(srv)), "fds": int64(openFDs(srv.pid())), "threads": threads(srv.pid())}
	}
	before := measure()

	var mu sync.Mutex
	held := make([]net.Conn, 0, *conns)
	t0 := time.Now()
	err = openMany(ctx, *conns, 200, func(i int) error {
		conn, err := p.dialSession(ctx, sessions[i%len(sessions)])
		if err != nil {
			return err
		}
		mu.Lock()
		held = append(held, conn)
		mu.Unlock()
		return nil
	})
	openTime := time.Since(t0)
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	if err != nil {
		return fmt.Errorf("opened %d of %d: %w (client fd limit %d, server's %s)", len(held), *conns, err, fileLimit(), procLimitNoFile(srv.pid()))
	}
	select {
	case <-time.After(*hold):
	case <-ctx.Done():
		return ctx.Err()
	}
	after := measure()
	if *heapOut != "" {
		if err := saveProfile(ctx, srv, "heap?gc=1", *heapOut); err != nil {
			return err
		}
	}
	n := int64(len(held))
	per := func(k string) float64 { return float64(after[k]-before[k]) / float64(n) }
	fmt.Printf("%d idle connections opened in %s; per connection: RSS %.1f KB, heap %.1f KB, stacks %.1f KB, %.2f goroutines\n",
		n, openTime.Round(time.Millisecond), per("rss_kb"), per("heap_inuse")/1024, per("stack_inuse")/1024, per("goroutines"))
	alive := srv.alive()
	for _, c := range held {
		c.Close()
	}
	held = nil
	time.Sleep(3 * time.Second)
	closed := measure()
	report(&c, "idle", map[string]any{
		"conns": n, "sessions": *nsess, "open_seconds": openTime.Seconds(), "before": before, "with_conns": after, "after_close": closed,
		"rss_kb_per_conn": per("rss_kb"), "heap_kb_per_conn": per("heap_inuse") / 1024, "heap_alloc_kb_per_conn": per("heap_alloc") / 1024, "stack_kb_per_conn": per("stack_inuse") / 1024,
		"goroutines_per_conn": per("goroutines"), "server_alive": alive,
		"client_fd_limit": fileLimit(), "server_fd_limit": procLimitNoFile(srv.pid()),
	})
	c.printLogs(srv)
	return nil
}

// dialStream opens an SSE stream over a raw TCP connection and returns it
// once the response head said 200; nothing more is read from it.
func dialStream(ctx context.Context, base, token, path string, hdr ...string) (net.Conn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nAccept: text/event-stream\r\n", path, u.Host, token)
	for i := 0; i+1 < len(hdr); i += 2 {
		fmt.Fprintf(&req, "%s: %s\r\n", hdr[i], hdr[i+1])
	}
	req.WriteString("\r\n")
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write([]byte(req.String())); err != nil {
		conn.Close()
		return nil, err
	}
	// Read byte by byte up to the end of the head, so nothing of the body
	// is consumed into a buffer we would then have to keep.
	br := bufio.NewReaderSize(conn, 16)
	var head strings.Builder
	for !strings.HasSuffix(head.String(), "\r\n\r\n") {
		b, err := br.ReadByte()
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("read head: %w", err)
		}
		head.WriteByte(b)
		if head.Len() > 8192 {
			conn.Close()
			return nil, fmt.Errorf("response head too long")
		}
	}
	_ = conn.SetDeadline(time.Time{})
	if !strings.HasPrefix(head.String(), "HTTP/1.1 200") {
		conn.Close()
		return nil, fmt.Errorf("answer: %.60q", head.String())
	}
	return conn, nil
}
