package config

import (
	"net"
	"net/netip"
)

// TurnLimits bound how fast one player can start turns (429 rate_limited).
type TurnLimits struct {
	// InFlight is how many of a player's turns may be unfinished at once,
	// counted in Postgres when a message is posted.
	InFlight int `env:"TURNS_IN_FLIGHT_PER_PLAYER" envDefault:"3"`
	// PerMinute is how many turns a player may start per minute (Redis GCRA,
	// shared by all API replicas).
	PerMinute int `env:"TURNS_PER_MINUTE_PER_PLAYER" envDefault:"30"`
	// Characters and Sessions cap what one player may create (409
	// too_many_characters / too_many_sessions beyond).
	Characters int `env:"CHARACTERS_PER_PLAYER" envDefault:"50"`
	Sessions   int `env:"SESSIONS_PER_PLAYER" envDefault:"200"`
}

func (l *TurnLimits) validate(bad func(name, format string, args ...any)) {
	if l.InFlight < 1 || l.InFlight > 1000 {
		bad("TURNS_IN_FLIGHT_PER_PLAYER", "must be between 1 and 1000")
	}
	if l.PerMinute < 1 || l.PerMinute > 100000 {
		bad("TURNS_PER_MINUTE_PER_PLAYER", "must be between 1 and 100000")
	}
	if l.Characters < 1 || l.Characters > 100000 {
		bad("CHARACTERS_PER_PLAYER", "must be between 1 and 100000")
	}
	if l.Sessions < 1 || l.Sessions > 100000 {
		bad("SESSIONS_PER_PLAYER", "must be between 1 and 100000")
	}
}

// validatePprof checks PPROF_ADDR: profiles expose internals, so the
// listener must be on a loopback address (reach it through SSH or kubectl
// port-forward), never on all interfaces.
func validatePprof(addr string, bad func(name, format string, args ...any)) {
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		bad("PPROF_ADDR", "must be host:port, got %q", addr)
		return
	}
	if host == "localhost" {
		return
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		bad("PPROF_ADDR", "must be a loopback address such as 127.0.0.1:6060, got %q", addr)
	}
}

// StreamLimits bound the open SSE streams of one API replica (429
// rate_limited with Retry-After beyond them). They are counted per replica,
// in memory: what they protect (file descriptors, memory, goroutines) is
// the replica's own, and a count in Redis would leak on every crash
// (docs/SECURITY.md).
type StreamLimits struct {
	PerPlayer int `env:"STREAMS_PER_PLAYER" envDefault:"32"`
	PerIP     int `env:"STREAMS_PER_IP" envDefault:"64"`
}

func (l *StreamLimits) validate(bad func(name, format string, args ...any)) {
	if l.PerPlayer < 1 || l.PerPlayer > 100000 {
		bad("STREAMS_PER_PLAYER", "must be between 1 and 100000")
	}
	if l.PerIP < 1 || l.PerIP > 100000 {
		bad("STREAMS_PER_IP", "must be between 1 and 100000")
	}
}
