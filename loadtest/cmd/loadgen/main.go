// Command loadgen measures what k6 cannot here (docs/PERFORMANCE.md):
// time to first dm.delta against a fake model, sustained turns per second,
// fan-out of one event to many SSE subscribers, memory of thousands of
// idle SSE connections, reconnect storms and clients that stop reading,
// and the raw insert rate of the database alone.
//
// Run it inside a throwaway stack, which exports DATABASE_URL, REDIS_URL
// and S3_*; loadgen then builds and starts `conquest` itself on a free
// loopback port with the settings of the measurement:
//
//	go run ./cmd/stack test -- go run ./loadtest/cmd/loadgen ttft -concurrency 20 -turns 400
//
// Every loop is bounded in count and in time; every address is loopback.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const usage = `usage: loadgen <scenario> [flags]   (loadgen <scenario> -h for its flags)

scenarios:
  k6        the k6 scripts of loadtest/k6 (player journey, API only); builds k6 once
  ttft      pipeline overhead on time to first token, against a fake model
  turns     sustained turns per second with the instant offline DM
  fanout    one event to many subscribers of one session: delivery latency
  replicas  events received per API replica (1,000 sessions over 4 replicas) and reconnect churn
  idle      thousands of idle SSE connections: server RSS per connection
  storm     reconnect storm: many clients resume with Last-Event-ID at once
  slow      clients that stop reading while events flow: memory stays bounded
  party     6-player party soak: 1 turn/s with whispers; goroutines and memory over time, whisper leaks
  dbbench   insert rate of the database alone (pgx, same PGlite)
  pgmux     PGlite socket server stalls with concurrent exec-mode connections
  chart     compare the -json summaries of runs (before/after) as an SVG bar chart

The server is started from the environment of the test stack unless -base
is given. Every scenario prints a summary; -json writes it as JSON too;
ttft and turns draw their latency distributions with -svg.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	name, args := os.Args[1], os.Args[2:]
	scenarios := map[string]func(context.Context, []string) error{
		"ttft": runTTFT, "turns": runTurns, "fanout": runFanout, "idle": runIdle,
		"storm": runStorm, "slow": runSlow, "dbbench": runDBBench, "pgmux": runPGMux, "k6": runK6,
		"chart": runChart, "replicas": runReplicas, "party": runParty,
	}
	run, ok := scenarios[name]
	if !ok {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	raiseFileLimit()
	if err := run(ctx, args); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen "+name+":", err)
		os.Exit(1)
	}
}

// common are the flags every scenario shares.
type common struct {
	base     string
	cmd      string
	env      multiFlag
	jsonOut  string
	svgOut   string
	maxTime  time.Duration
	pprof    bool
	workers  int
	keepLogs bool
	pgMode   string
	countSQL bool
	bin      string
}

// flagSet is a scenario's flag set with the common flags registered on c;
// maxTime is the scenario's default -max-time.
func (c *common) flagSet(name string, maxTime time.Duration) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	c.register(fs, maxTime)
	return fs
}

// printLogs prints the started conquest's log when -logs asks for it.
func (c *common) printLogs(srv *server) {
	if c.keepLogs {
		fmt.Fprintln(os.Stderr, srv.logs())
	}
}

func (c *common) register(fs *flag.FlagSet, maxTime time.Duration) {
	fs.StringVar(&c.base, "base", "", "URL of a running conquest API (default: start one from the stack's environment)")
	fs.StringVar(&c.cmd, "cmd", "all", "what to start: all, or api (plus -workers worker processes)")
	fs.IntVar(&c.workers, "workers", 0, "extra `conquest worker` processes to start")
	fs.Var(&c.env, "env", "KEY=VALUE for the started conquest (repeatable)")
	fs.StringVar(&c.jsonOut, "json", "", "also write the summary as JSON to this file")
	fs.StringVar(&c.svgOut, "svg", "", "ttft, turns: also draw the latency distributions as an SVG chart in this file")
	fs.DurationVar(&c.maxTime, "max-time", maxTime, "hard bound on the whole run")
	fs.BoolVar(&c.pprof, "pprof", false, "start conquest with PPROF_ADDR on a loopback port and save a CPU profile of the run")
	fs.StringVar(&c.bin, "bin", "", "the conquest binary to start (default: build this tree's); for before/after runs in one stack")
	fs.BoolVar(&c.keepLogs, "logs", false, "print the started conquest's log at the end")
	fs.BoolVar(&c.countSQL, "count-sql", false, "put a counting proxy between conquest and the database and report SQL round trips (Query and Execute messages; a batch is one) per turn")
	fs.StringVar(&c.pgMode, "pg-mode", "", "default_query_exec_mode for the started conquest's DATABASE_URL; \"\" (default): as given — the stack's PGlite URL says simple_protocol, a real Postgres's DATABASE_URL runs with pgx's statement cache as in production; see `loadgen pgmux`")
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// raiseFileLimit lifts the soft RLIMIT_NOFILE to the hard limit: thousands
// of SSE connections need as many descriptors. (Go does this itself since
// 1.19 for the process; it is done explicitly here so the figure is
// printed.)
func raiseFileLimit() {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}

func fileLimit() uint64 {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil {
		return 0
	}
	return rl.Cur
}
