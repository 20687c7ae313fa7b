package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// sqlCounter is a TCP proxy in front of the database that counts the
// statements conquest sends: simple-protocol Query messages and
// extended-protocol Execute messages (-count-sql). It forwards every byte
// unchanged.
type sqlCounter struct {
	ln       net.Listener
	target   string
	statemts atomic.Int64

	mu     sync.Mutex
	byKind map[string]int64 // simple-protocol round trips by the shape of their SQL
}

// startSQLCounter proxies a loopback port to the database of databaseURL
// and returns the URL that goes through it.
func startSQLCounter(databaseURL string) (*sqlCounter, string, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	s := &sqlCounter{ln: ln, target: u.Host, byKind: map[string]int64{}}
	go s.serve()
	u.Host = ln.Addr().String()
	return s, u.String(), nil
}

func (s *sqlCounter) statements() int64 { return s.statemts.Load() }

// kinds is a copy of the round trips counted so far by kind.
func (s *sqlCounter) kinds() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.byKind))
	for k, v := range s.byKind {
		out[k] = v
	}
	return out
}

var (
	sqlLiteral = regexp.MustCompile(`'(?:[^']|'')*'|\b\d+\b`)
	sqlSpace   = regexp.MustCompile(`\s+`)
)

// sqlKind names a simple-protocol query (a batch is one) by its statements'
// first words, literals replaced: what a round trip was for.
func sqlKind(q string) string {
	q = sqlSpace.ReplaceAllString(sqlLiteral.ReplaceAllString(q, "?"), " ")
	var parts []string
	for _, st := range strings.Split(q, ";") {
		st = strings.TrimSpace(st)
		if st == "" || strings.HasPrefix(st, "SELECT set_config(?synchronous_commit") {
			continue
		}
		if len(st) > 48 {
			st = st[:48]
		}
		parts = append(parts, st)
	}
	return strings.Join(parts, " ; ")
}

// kindDiff is after minus before, largest first, per turn.
func kindDiff(before, after map[string]int64, turns int64) []string {
	type kv struct {
		k string
		n int64
	}
	var rows []kv
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			rows = append(rows, kv{k, d})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].n > rows[j].n })
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%6.2f  %s", float64(r.n)/float64(turns), r.k))
	}
	return out
}

func (s *sqlCounter) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.proxy(c)
	}
}

func (s *sqlCounter) proxy(client net.Conn) {
	defer client.Close()
	backend, err := net.Dial("tcp", s.target)
	if err != nil {
		return
	}
	defer backend.Close()
	go func() {
		_, _ = io.Copy(client, backend)
		client.Close()
	}()
	r := bufio.NewReader(client)
	// The startup message has no type byte: int32 length, then the rest.
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if _, err := backend.Write(hdr[:]); err != nil || n < 4 {
		return
	}
	if _, err := io.CopyN(backend, r, int64(n-4)); err != nil {
		return
	}
	// Then typed messages: 1 byte type, int32 length (itself included).
	var head [5]byte
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return
		}
		switch head[0] {
		case 'Q', 'E':
			s.statemts.Add(1)
		}
		n := binary.BigEndian.Uint32(head[1:])
		if _, err := backend.Write(head[:]); err != nil || n < 4 {
			return
		}
		if head[0] == 'Q' {
			body := make([]byte, n-4)
			if _, err := io.ReadFull(r, body); err != nil {
				return
			}
			k := sqlKind(strings.TrimRight(string(body), "\x00"))
			s.mu.Lock()
			s.byKind[k]++
			s.mu.Unlock()
			if _, err := backend.Write(body); err != nil {
				return
			}
			continue
		}
		if _, err := io.CopyN(backend, r, int64(n-4)); err != nil {
			return
		}
	}
}
