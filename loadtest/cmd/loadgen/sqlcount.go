package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/url"
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
	s := &sqlCounter{ln: ln, target: u.Host}
	go s.serve()
	u.Host = ln.Addr().String()
	return s, u.String(), nil
}

func (s *sqlCounter) statements() int64 { return s.statemts.Load() }

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
		if _, err := io.CopyN(backend, r, int64(n-4)); err != nil {
			return
		}
	}
}
