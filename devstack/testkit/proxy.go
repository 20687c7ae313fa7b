package testkit

import (
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
)

// Proxy is a TCP proxy in front of a server that a test can pause: while
// paused it accepts connections and reads what either side sends, but
// forwards nothing and drops it, as a server behind a dead network path
// looks to its clients (it stops answering; what was sent meanwhile never
// arrives). A connection that lost bytes is unusable afterwards; clients
// that timed out close theirs anyway.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	paused bool
}

// NewProxy proxies a listener on a free loopback port to target
// (host:port); it stops when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &Proxy{ln: ln, target: target}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Pause stops forwarding, and drops, what either side sends on any connection.
func (p *Proxy) Pause() {
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
}

// Resume forwards again.
func (p *Proxy) Resume() {
	p.mu.Lock()
	p.paused = false
	p.mu.Unlock()
}

func (p *Proxy) serve(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { p.pipe(up, c); done <- struct{}{} }()
	go func() { p.pipe(c, up); done <- struct{}{} }()
	<-done // either side closed: close both
}

func (p *Proxy) pipe(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			paused := p.paused
			p.mu.Unlock()
			if paused {
				continue
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// DatabaseURLVia is the test stack's DATABASE_URL with its host and port
// replaced by addr (a Proxy's).
func DatabaseURLVia(t testing.TB, addr string) string {
	t.Helper()
	RequireStack(t)
	u, err := url.Parse(os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatalf("DATABASE_URL: %v", err)
	}
	u.Host = addr
	return u.String()
}

// DatabaseAddr is the host:port of the test stack's DATABASE_URL.
func DatabaseAddr(t testing.TB) string {
	t.Helper()
	RequireStack(t)
	u, err := url.Parse(os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatalf("DATABASE_URL: %v", err)
	}
	return u.Host
}
