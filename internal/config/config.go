// Package config loads Bright Dawn's typed configuration from environment
// variables. Defaults run against the local stack of `go tool task dev`;
// anything invalid stops start-up with a message naming the variable.
package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/codeofconquest/brightdawn/internal/redisconn"
)

// Config is the whole configuration of a conquest process.
type Config struct {
	Env      string `env:"APP_ENV" envDefault:"development"`
	HTTPAddr string `env:"HTTP_ADDR" envDefault:":8080"`
	LogLevel string `env:"LOG_LEVEL" envDefault:"info"`
	LogJSON  bool   `env:"LOG_JSON" envDefault:"false"`

	DatabaseURL   string `env:"DATABASE_URL" envDefault:"postgres://postgres:postgres@127.0.0.1:55432/postgres?sslmode=disable&default_query_exec_mode=simple_protocol"`
	DatabaseConns int32  `env:"DATABASE_MAX_CONNS" envDefault:"8"`
	RedisURL      string `env:"REDIS_URL" envDefault:"redis://127.0.0.1:56379/0"`

	S3Endpoint  string `env:"S3_ENDPOINT" envDefault:"127.0.0.1:59000"`
	S3AccessKey string `env:"S3_ACCESS_KEY" envDefault:"conquest-dev"`
	S3SecretKey string `env:"S3_SECRET_KEY" envDefault:"conquest-dev-secret"`
	S3Bucket    string `env:"S3_BUCKET" envDefault:"conquest-assets"`
	// S3ExportsBucket holds session exports (docs/EXPORT.md).
	S3ExportsBucket string `env:"S3_EXPORTS_BUCKET" envDefault:"exports"`
	S3Region        string `env:"S3_REGION" envDefault:"us-east-1"`
	S3UseSSL        bool   `env:"S3_USE_SSL" envDefault:"false"`

	Auth   Auth
	Game   Game
	Assets Assets
	Ops    Ops

	// TurnLimits are the per-player turn limits (limits.go).
	TurnLimits TurnLimits
	// StreamLimits cap one replica's open SSE streams per player and per IP (limits.go).
	StreamLimits StreamLimits
	// PprofAddr, when set, serves net/http/pprof on this loopback address
	// (opt-in, for profiling; see docs/PERFORMANCE.md "Profiles").
	PprofAddr string `env:"PPROF_ADDR"`
	// SSEDetach serves each SSE stream on a connection of its own once its
	// response starts (events.HubOptions.Detach): a few KB per idle
	// connection instead of ~40 (docs/PERFORMANCE.md "SSE"). False: the
	// ordinary net/http path, the handler waiting while the stream is open.
	SSEDetach bool `env:"SSE_DETACH" envDefault:"true"`
	// HotCache serves the reads every turn makes of a session (its lore, its
	// members for the access check, its settings: mode and round timeout)
	// from Redis, invalidated by every write (internal/hotcache).
	HotCache bool `env:"HOT_CACHE" envDefault:"true"`
	// PresenceGrace is how long a player stays online in a party after
	// their last session stream closed, so a page reload is not a leave
	// (docs/PARTY.md).
	PresenceGrace time.Duration `env:"PRESENCE_GRACE" envDefault:"5s"`

	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// HTTPReadTimeout bounds reading one request (headers and body; an
	// open SSE stream is not cut by it, see api.ServerOptions);
	// HTTPIdleTimeout closes unused keep-alive connections.
	HTTPReadTimeout time.Duration `env:"HTTP_READ_TIMEOUT" envDefault:"30s"`
	HTTPIdleTimeout time.Duration `env:"HTTP_IDLE_TIMEOUT" envDefault:"120s"`
	// TrustedProxies lists the proxies (CIDRs or IPs) whose X-Forwarded-For
	// is believed when finding a client's IP for rate limits.
	TrustedProxies []string `env:"TRUSTED_PROXIES" envSeparator:"," envDefault:"127.0.0.1/32,::1/128"`

	// generatedKey is true when the JWT key was generated at start-up.
	generatedKey bool
}

// Auth holds authentication settings.
type Auth struct {
	// JWTSecret signs access tokens (HS256). Base64 (std or URL) of at least 32 bytes.
	JWTSecret       string        `env:"JWT_SECRET"`
	Issuer          string        `env:"JWT_ISSUER" envDefault:"bright-dawn"`
	Audience        string        `env:"JWT_AUDIENCE" envDefault:"bright-dawn-api"`
	AccessTTL       time.Duration `env:"ACCESS_TOKEN_TTL" envDefault:"15m"`
	RefreshTTL      time.Duration `env:"REFRESH_TOKEN_TTL" envDefault:"720h"`
	StreamTicketTTL time.Duration `env:"STREAM_TICKET_TTL" envDefault:"60s"`
	// RefreshReuseWindow is how long a spent refresh token still answers
	// with the pair it was rotated into (two tabs refreshing at once);
	// after it, presenting it again counts as theft.
	RefreshReuseWindow time.Duration `env:"REFRESH_REUSE_WINDOW" envDefault:"10s"`
	// AdminEmails is read only by `conquest admin grant` (no email): an
	// operator bootstrap. Registration never grants a role by address.
	AdminEmails []string `env:"ADMIN_EMAILS" envSeparator:","`

	// Rate limits, per minute.
	LoginPerAccount int `env:"RATE_LOGIN_PER_ACCOUNT" envDefault:"10"`
	LoginPerIP      int `env:"RATE_LOGIN_PER_IP" envDefault:"30"`
	RegisterPerIP   int `env:"RATE_REGISTER_PER_IP" envDefault:"20"`

	// Argon2id parameters (OWASP minimum: m=19 MiB, t=2, p=1).
	ArgonMemoryKiB uint32 `env:"ARGON2_MEMORY_KIB" envDefault:"19456"`
	ArgonTime      uint32 `env:"ARGON2_TIME" envDefault:"2"`
	ArgonThreads   uint8  `env:"ARGON2_THREADS" envDefault:"1"`

	secret []byte
}

// Game holds settings of the turn pipeline and its providers.
type Game struct {
	EmbedProvider string `env:"EMBED_PROVIDER" envDefault:"hash"`
	EmbedModel    string `env:"EMBED_MODEL" envDefault:"hash-384-v2"`
	EmbedDim      int    `env:"EMBED_DIM" envDefault:"384"`
	DMProvider    string `env:"DM_PROVIDER" envDefault:"offline"`
	// DMWordDelay paces the offline narrator's streaming, word by word.
	DMWordDelay time.Duration `env:"DM_WORD_DELAY" envDefault:"25ms"`
	MemoryK     int           `env:"MEMORY_K" envDefault:"8"`
	RecentN     int           `env:"RECENT_MESSAGES" envDefault:"12"`
	// RulesPack is a YAML rule pack file (docs/RULES.md); empty means the
	// embedded SRD 5.1 basics.
	RulesPack string `env:"RULES_PACK"`

	WorkerConcurrency int           `env:"WORKER_CONCURRENCY" envDefault:"20"`
	WorkerQueues      []string      `env:"WORKER_QUEUES" envSeparator:","`
	TaskCheckInterval time.Duration `env:"TASK_CHECK_INTERVAL" envDefault:"100ms"`
	SweepInterval     time.Duration `env:"SWEEP_INTERVAL" envDefault:"10s"`
	StuckAfter        time.Duration `env:"TURN_STUCK_AFTER" envDefault:"30s"`
	TurnDeadline      time.Duration `env:"TURN_DEADLINE" envDefault:"10m"`

	// Providers of embeddings and of the Dungeon Master (issue #4).
	Providers Providers

	StreamMaxLen    int64         `env:"EVENTS_STREAM_MAXLEN" envDefault:"5000"`
	SSEHeartbeat    time.Duration `env:"SSE_HEARTBEAT" envDefault:"15s"`
	SSEClientBuffer int           `env:"SSE_CLIENT_BUFFER" envDefault:"256"`
}

// Load reads the environment and validates the result.
func Load() (*Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Production reports whether APP_ENV is production.
func (c *Config) Production() bool { return c.Env == "production" }

// GeneratedJWTKey reports whether the JWT key was generated at start-up
// (development only; tokens do not survive a restart or another replica).
func (c *Config) GeneratedJWTKey() bool { return c.generatedKey }

// Secret returns the decoded JWT signing key.
func (a *Auth) Secret() []byte { return a.secret }

func (c *Config) validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: %s", name, fmt.Sprintf(format, args...)))
	}
	switch c.Env {
	case "development", "test", "production":
	default:
		bad("APP_ENV", "must be development, test or production, got %q", c.Env)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		bad("DATABASE_URL", "must be a postgres:// URL")
	}
	if _, err := redisconn.Parse(c.RedisURL); err != nil {
		bad("REDIS_URL", "%v", err)
	}
	if c.DatabaseConns < 1 {
		bad("DATABASE_MAX_CONNS", "must be at least 1")
	}
	if c.S3Endpoint == "" || strings.Contains(c.S3Endpoint, "/") {
		bad("S3_ENDPOINT", "must be host:port without scheme or path")
	}
	if c.S3Bucket == "" {
		bad("S3_BUCKET", "must not be empty")
	}

	a := &c.Auth
	if a.JWTSecret == "" {
		if c.Production() {
			bad("JWT_SECRET", "is required in production (base64 of at least 32 random bytes)")
		} else {
			a.secret = make([]byte, 32)
			if _, err := rand.Read(a.secret); err != nil {
				bad("JWT_SECRET", "cannot generate a development key: %v", err)
			}
			c.generatedKey = true
		}
	} else {
		key, err := decodeKey(a.JWTSecret)
		switch {
		case err != nil:
			bad("JWT_SECRET", "must be base64: %v", err)
		case len(key) < 32:
			bad("JWT_SECRET", "must decode to at least 32 bytes, got %d", len(key))
		default:
			a.secret = key
		}
	}
	if a.AccessTTL < time.Second || a.AccessTTL > 24*time.Hour {
		bad("ACCESS_TOKEN_TTL", "must be between 1s and 24h")
	}
	if a.RefreshTTL < a.AccessTTL {
		bad("REFRESH_TOKEN_TTL", "must be at least ACCESS_TOKEN_TTL")
	}
	if a.StreamTicketTTL < time.Second || a.StreamTicketTTL > 10*time.Minute {
		bad("STREAM_TICKET_TTL", "must be between 1s and 10m")
	}
	if a.RefreshReuseWindow < 0 || a.RefreshReuseWindow > time.Minute {
		bad("REFRESH_REUSE_WINDOW", "must be between 0s and 1m")
	}
	if a.Issuer == "" {
		bad("JWT_ISSUER", "must not be empty")
	}
	if a.Audience == "" {
		bad("JWT_AUDIENCE", "must not be empty")
	}
	for name, v := range map[string]int{"RATE_LOGIN_PER_ACCOUNT": a.LoginPerAccount, "RATE_LOGIN_PER_IP": a.LoginPerIP, "RATE_REGISTER_PER_IP": a.RegisterPerIP} {
		if v < 1 {
			bad(name, "must be at least 1 per minute")
		}
	}
	if a.ArgonMemoryKiB < 19456 {
		bad("ARGON2_MEMORY_KIB", "must be at least 19456 (19 MiB, OWASP)")
	}
	if a.ArgonTime < 2 {
		bad("ARGON2_TIME", "must be at least 2")
	}
	if a.ArgonThreads < 1 {
		bad("ARGON2_THREADS", "must be at least 1")
	}
	for i, e := range a.AdminEmails {
		a.AdminEmails[i] = strings.ToLower(strings.TrimSpace(e))
	}

	g := &c.Game
	g.validateProviders(bad)
	if g.MemoryK < 1 || g.MemoryK > 64 {
		bad("MEMORY_K", "must be between 1 and 64")
	}
	if g.RecentN < 0 || g.RecentN > 200 {
		bad("RECENT_MESSAGES", "must be between 0 and 200")
	}
	if g.WorkerConcurrency < 1 {
		bad("WORKER_CONCURRENCY", "must be at least 1")
	}
	if g.TaskCheckInterval <= 0 {
		bad("TASK_CHECK_INTERVAL", "must be positive")
	}
	if g.StreamMaxLen < 100 {
		bad("EVENTS_STREAM_MAXLEN", "must be at least 100")
	}
	if g.SSEHeartbeat < time.Second {
		bad("SSE_HEARTBEAT", "must be at least 1s")
	}
	if g.SSEClientBuffer < 8 {
		bad("SSE_CLIENT_BUFFER", "must be at least 8")
	}
	if g.SweepInterval < time.Second {
		bad("SWEEP_INTERVAL", "must be at least 1s")
	}
	if g.StuckAfter < time.Second {
		bad("TURN_STUCK_AFTER", "must be at least 1s")
	}
	c.Assets.validate(bad)
	if c.HTTPReadTimeout < time.Second || c.HTTPIdleTimeout < time.Second {
		bad("HTTP_READ_TIMEOUT", "HTTP_READ_TIMEOUT and HTTP_IDLE_TIMEOUT must be at least 1s")
	}
	c.TurnLimits.validate(bad)
	c.StreamLimits.validate(bad)
	validatePprof(c.PprofAddr, bad)
	errs = append(errs, c.Ops.check(c.Production())...)
	return errors.Join(errs...)
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not valid base64")
}
