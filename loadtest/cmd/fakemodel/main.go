// Command fakemodel serves an OpenAI-compatible streaming
// /v1/chat/completions with a fixed first-token delay and token rate, for
// load tests of the pipeline's overhead (loadtest/fakemodel):
//
//	fakemodel -addr 127.0.0.1:18080 -first-token 200ms -rate 50 -tokens 40
//
// Point conquest at it with DM_PROVIDER=openai DM_MODEL=fake
// OPENAI_BASE_URL=http://127.0.0.1:18080/v1. Every completion is logged as
// a JSON line with first_token_unix_ns; GET /timings/{id} answers the same
// for the request whose prompt carried the marker [lt:{id}].
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/codeofconquest/brightdawn/loadtest/fakemodel"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "listen address (loopback only)")
	first := flag.Duration("first-token", 200*time.Millisecond, "delay before the first token")
	rate := flag.Float64("rate", 50, "tokens per second after the first (0: back to back)")
	tokens := flag.Int("tokens", 40, "content chunks per reply")
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintln(os.Stderr, "fakemodel: -addr must be a loopback host:port")
		os.Exit(2)
	}
	var interval time.Duration
	if *rate > 0 {
		interval = time.Duration(float64(time.Second) / *rate)
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	srv := fakemodel.New(fakemodel.Options{FirstToken: *first, TokenInterval: interval, Tokens: *tokens, Log: log})
	log.Info("fake model listening", "addr", *addr, "first_token", first.String(), "token_interval", interval.String(), "tokens", *tokens)
	hs := &http.Server{Addr: *addr, Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	if err := hs.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "fakemodel:", err)
		os.Exit(1)
	}
}
