package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"
)

// These tests check the deployment files without running them: there is no
// Docker engine here. The compose file goes through the compose-spec
// loader (schema, interpolation, consistency), the Caddyfile through the
// real `caddy validate` and `caddy adapt`, whose JSON is then inspected.

func repoFile(t testing.TB, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", name)
	_, err := os.Stat(p)
	require.NoError(t, err, "%s is missing", name)
	return p
}

// ---------------------------------------------------------------- compose

// composeSecrets stand in for the secrets of .env.
var composeSecrets = map[string]string{
	"POSTGRES_PASSWORD": "pg-secret-for-the-test",
	"REDIS_PASSWORD":    "redis-secret-for-the-test",
	"S3_ACCESS_KEY":     "s3-key-for-the-test",
	"S3_SECRET_KEY":     "s3-secret-for-the-test",
	"JWT_SECRET":        "dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQtMTIzNDU2Nzg5MA==",
}

// envExample reads .env.example as KEY=VALUE pairs.
func envExample(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(repoFile(t, ".env.example"))
	require.NoError(t, err)
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "malformed line %q", line)
		env[k] = v
	}
	require.NoError(t, sc.Err())
	return env
}

func loadCompose(t *testing.T, env map[string]string, extra ...cli.ProjectOptionsFn) (*types.Project, error) {
	t.Helper()
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	path := repoFile(t, "docker-compose.yml")
	opts, err := cli.NewProjectOptions([]string{path}, append([]cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(filepath.Dir(path)),
		cli.WithEnv(list),
		cli.WithName("brightdawn"),
	}, extra...)...)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return opts.LoadProject(ctx)
}

func TestDeployComposeFile(t *testing.T) {
	env := envExample(t)
	t.Run(".env.example commits no secret", func(t *testing.T) {
		for k := range composeSecrets {
			v, ok := env[k]
			require.True(t, ok, ".env.example lists %s", k)
			require.Empty(t, v, "%s must be empty in .env.example", k)
		}
		for _, k := range []string{"METRICS_TOKEN", "OPENAI_API_KEY", "REPLICATE_API_TOKEN"} {
			require.Empty(t, env[k], k)
		}
	})

	t.Run("without the secrets it refuses to load, naming each", func(t *testing.T) {
		for k := range composeSecrets {
			partial := map[string]string{}
			for k2, v := range env {
				partial[k2] = v
			}
			for k2, v := range composeSecrets {
				if k2 != k {
					partial[k2] = v
				}
			}
			_, err := loadCompose(t, partial)
			require.Error(t, err, "loading without %s", k)
			require.Contains(t, err.Error(), k)
		}
	})

	for k, v := range composeSecrets {
		env[k] = v
	}
	env["API_REPLICAS"], env["WORKER_REPLICAS"] = "3", "5"
	p, err := loadCompose(t, env)
	require.NoError(t, err, "the compose file loads and validates")

	t.Run("it has every service of the deployment", func(t *testing.T) {
		require.ElementsMatch(t, []string{"postgres", "redis", "s3", "migrate", "api", "worker", "caddy"}, p.ServiceNames())
		require.True(t, strings.HasPrefix(p.Services["postgres"].Image, "pgvector/pgvector:pg17"))
		require.Equal(t, composeSecrets["POSTGRES_PASSWORD"], p.Services["postgres"].Environment.ToMapping()["POSTGRES_PASSWORD"])
	})

	t.Run("the S3 store is versitygw, keyed from the secrets, with the app's keys", func(t *testing.T) {
		s3 := p.Services["s3"]
		require.True(t, strings.HasPrefix(s3.Image, "versity/versitygw:v"), "a pinned versitygw image: %s", s3.Image)
		e := s3.Environment.ToMapping()
		require.Equal(t, composeSecrets["S3_ACCESS_KEY"], e["ROOT_ACCESS_KEY"])
		require.Equal(t, composeSecrets["S3_SECRET_KEY"], e["ROOT_SECRET_KEY"])
		require.Equal(t, "/health", e["VGW_HEALTH"])
		require.Equal(t, types.HealthCheckTest{"CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:7070/health"}, s3.HealthCheck.Test)
		require.Contains(t, strings.Join(s3.Entrypoint, " "), "posix --sidecar /data/meta /data/objects")
		app := p.Services["api"].Environment.ToMapping()
		require.Equal(t, "s3:7070", app["S3_ENDPOINT"])
		require.Equal(t, composeSecrets["S3_ACCESS_KEY"], app["S3_ACCESS_KEY"])
		require.Equal(t, composeSecrets["S3_SECRET_KEY"], app["S3_SECRET_KEY"])
		require.NotEmpty(t, app["S3_BUCKET"], "the app creates this bucket at start-up")
		var published []string
		for _, port := range s3.Ports {
			published = append(published, port.Published+"->"+strconv.FormatUint(uint64(port.Target), 10))
		}
		require.Equal(t, []string{"9000->7070"}, published, "browsers reach the store at S3_PUBLIC_URL")
	})

	t.Run("every long-running service has a health check", func(t *testing.T) {
		for _, name := range []string{"postgres", "redis", "s3", "api", "worker", "caddy"} {
			hc := p.Services[name].HealthCheck
			require.NotNil(t, hc, name)
			require.False(t, hc.Disable, name)
			require.NotEmpty(t, hc.Test, name)
		}
		require.Equal(t, types.HealthCheckTest{"CMD", "/conquest", "healthcheck"}, p.Services["api"].HealthCheck.Test)
	})

	t.Run("services start in order, on health", func(t *testing.T) {
		cond := func(svc, dep string) string {
			d, ok := p.Services[svc].DependsOn[dep]
			require.True(t, ok, "%s depends on %s", svc, dep)
			return d.Condition
		}
		require.Equal(t, types.ServiceConditionHealthy, cond("migrate", "postgres"))
		for _, svc := range []string{"api", "worker"} {
			require.Equal(t, types.ServiceConditionCompletedSuccessfully, cond(svc, "migrate"))
			require.Equal(t, types.ServiceConditionHealthy, cond(svc, "redis"))
			require.Equal(t, types.ServiceConditionStarted, cond(svc, "s3"), "the game does not wait for S3")
		}
		require.Equal(t, types.ServiceConditionHealthy, cond("caddy", "api"))
		require.Equal(t, types.ShellCommand{"migrate"}, p.Services["migrate"].Command)
		require.Equal(t, "no", p.Services["migrate"].Restart)
	})

	t.Run("api and worker scale: no container name, no host port, replicas from the environment", func(t *testing.T) {
		for svc, want := range map[string]int{"api": 3, "worker": 5} {
			s := p.Services[svc]
			require.Empty(t, s.ContainerName, svc)
			require.Empty(t, s.Ports, "%s publishes no host port", svc)
			require.NotNil(t, s.Deploy)
			require.Equal(t, want, *s.Deploy.Replicas)
			require.NotNil(t, s.Build, "%s is built from the Dockerfile", svc)
		}
		require.Equal(t, types.ShellCommand{"api"}, p.Services["api"].Command)
		require.Equal(t, types.ShellCommand{"worker"}, p.Services["worker"].Command)
	})

	t.Run("the app is configured from the secrets, not from literals", func(t *testing.T) {
		e := p.Services["api"].Environment.ToMapping()
		require.Contains(t, e["DATABASE_URL"], composeSecrets["POSTGRES_PASSWORD"])
		require.Contains(t, e["REDIS_URL"], composeSecrets["REDIS_PASSWORD"])
		require.Equal(t, composeSecrets["JWT_SECRET"], e["JWT_SECRET"])
		require.Equal(t, "production", e["APP_ENV"])
		require.Equal(t, "true", e["LOG_JSON"])
		require.Equal(t, "172.28.0.10/32", e["TRUSTED_PROXIES"], "only Caddy may set X-Forwarded-For")
		require.Equal(t, "172.28.0.10", p.Services["caddy"].Networks["default"].Ipv4Address)
		require.NotEmpty(t, e["SHUTDOWN_DELAY"])
		w := p.Services["worker"].Environment.ToMapping()
		require.Equal(t, ":9091", w["METRICS_ADDR"], "workers are scraped on their metrics port")
	})

	t.Run("redis persists with AOF and never evicts tasks", func(t *testing.T) {
		cmd := strings.Join(p.Services["redis"].Command, " ")
		require.Contains(t, cmd, "--appendonly yes")
		require.Contains(t, cmd, "--maxmemory-policy noeviction")
		require.Contains(t, cmd, `--requirepass "$REDIS_PASSWORD"`, "the password is read in the container, not written here")
	})

	t.Run("state lives in named volumes", func(t *testing.T) {
		mounts := map[string]string{}
		for _, svc := range []string{"postgres", "redis", "s3", "caddy"} {
			for _, v := range p.Services[svc].Volumes {
				mounts[svc+":"+v.Target] = v.Source
			}
		}
		require.Equal(t, "postgres-data", mounts["postgres:/var/lib/postgresql/data"])
		require.Equal(t, "redis-data", mounts["redis:/data"])
		require.Equal(t, "s3-data", mounts["s3:/data"])
		require.Equal(t, "caddy-data", mounts["caddy:/data"])
		require.Equal(t, repoFile(t, "Caddyfile"), mounts["caddy:/etc/caddy/Caddyfile"])
		for _, v := range []string{"postgres-data", "redis-data", "s3-data", "caddy-data", "caddy-config"} {
			require.Contains(t, p.Volumes, v)
		}
	})

	t.Run("caddy is the only way in, and finds every api replica", func(t *testing.T) {
		c := p.Services["caddy"]
		var published []string
		for _, port := range c.Ports {
			published = append(published, port.Published+"->"+strconv.FormatUint(uint64(port.Target), 10))
		}
		require.Contains(t, published, "80->80")
		require.Contains(t, published, "443->443")
		e := c.Environment.ToMapping()
		require.Equal(t, "dynamic", e["CONQUEST_UPSTREAM_MODE"])
		require.Equal(t, "api", e["CONQUEST_UPSTREAM_HOST"])
		for _, svc := range []string{"postgres", "redis", "api", "worker", "migrate"} {
			require.Empty(t, p.Services[svc].Ports, "%s is not published", svc)
		}
	})
}

// ---------------------------------------------------------------- Dockerfile

func TestDeployDockerfile(t *testing.T) {
	b, err := os.ReadFile(repoFile(t, "Dockerfile"))
	require.NoError(t, err)
	df := string(b)
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(df, -1)
	require.GreaterOrEqual(t, len(froms), 2, "multi-stage")
	final := froms[len(froms)-1][1]
	require.Regexp(t, `^(gcr\.io/distroless/static|scratch|alpine)`, final)
	require.Contains(t, df, "CGO_ENABLED=0", "a static binary")
	users := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllStringSubmatch(df, -1)
	require.NotEmpty(t, users)
	last := users[len(users)-1][1]
	require.NotContains(t, []string{"root", "0", "0:0"}, last, "runs as non-root")
	require.Contains(t, df, `ENTRYPOINT ["/conquest"]`)
	// A module replaced by a folder of the repository (go.mod) must be in
	// the build before `go mod download`, which resolves it.
	gomod, err := os.ReadFile(repoFile(t, "go.mod"))
	require.NoError(t, err)
	download := strings.Index(df, "go mod download")
	require.Positive(t, download)
	for _, m := range regexp.MustCompile(`(?m)^replace\s+\S+\s+=>\s+\./(\S+)`).FindAllStringSubmatch(string(gomod), -1) {
		dir := strings.SplitN(m[1], "/", 2)[0]
		at := strings.Index(df, "COPY "+dir+"/")
		require.True(t, at >= 0 && at < download, "the Dockerfile copies %s/ (a go.mod replace) before go mod download", dir)
	}
	ign, err := os.ReadFile(repoFile(t, ".dockerignore"))
	require.NoError(t, err)
	for _, p := range []string{".git", ".stack", ".env", "devstack/node_modules"} {
		require.Contains(t, strings.Fields(string(ign)), p, ".dockerignore keeps %s out of the image", p)
	}
}

// ---------------------------------------------------------------- Caddyfile

// caddyBin finds caddy; the test stack installs it (Debian package) when
// it can. These tests do not skip: the Caddyfile must be checked.
func caddyBin(t testing.TB) string {
	t.Helper()
	exe, err := exec.LookPath("caddy")
	if err != nil {
		t.Fatal("caddy is not on PATH: run the suite with `go tool task test` (the stack installs Debian's caddy as root) or `apt-get install caddy`")
	}
	return exe
}

// caddyEnv isolates caddy's storage (the local CA of `tls internal`) in a
// temporary folder and sets the Caddyfile's variables.
func caddyEnv(t testing.TB, vars map[string]string) []string {
	t.Helper()
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_DATA_HOME=" + filepath.Join(home, "data"), "XDG_CONFIG_HOME=" + filepath.Join(home, "config"), "PATH=" + os.Getenv("PATH")}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

func caddyCmd(t testing.TB, vars map[string]string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, caddyBin(t), args...)
	cmd.Env = caddyEnv(t, vars)
	cmd.Dir = t.TempDir()
	return cmd.CombinedOutput()
}

// adaptCaddyfile returns the repo Caddyfile as Caddy's JSON under vars.
func adaptCaddyfile(t testing.TB, vars map[string]string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, caddyBin(t), "adapt", "--adapter", "caddyfile", "--config", repoFile(t, "Caddyfile"))
	cmd.Env = caddyEnv(t, vars)
	out, err := cmd.Output()
	var stderr string
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = string(ee.Stderr)
	}
	require.NoError(t, err, "caddy adapt: %s", stderr)
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(out, &cfg))
	return cfg
}

// leaf is a list of handlers that run together, with every matcher on
// the way to them (outermost first).
type leaf struct {
	matchers []any
	handlers []map[string]any
}

func (l leaf) handler(name string) map[string]any {
	for _, h := range l.handlers {
		if h["handler"] == name {
			return h
		}
	}
	return nil
}

func (l leaf) matchJSON() string {
	b, _ := json.Marshal(l.matchers)
	return string(b)
}

// leaves walks the routes of every server, through subroutes.
func leaves(cfg map[string]any) []leaf {
	var out []leaf
	var walk func(routes []any, matchers []any)
	walk = func(routes []any, matchers []any) {
		for _, r := range routes {
			route := r.(map[string]any)
			m := slices.Clone(matchers)
			if match, ok := route["match"]; ok {
				m = append(m, match)
			}
			var own []map[string]any
			for _, h := range asList(route["handle"]) {
				h := h.(map[string]any)
				if h["handler"] == "subroute" {
					walk(asList(h["routes"]), m)
					continue
				}
				own = append(own, h)
			}
			if len(own) > 0 {
				out = append(out, leaf{matchers: m, handlers: own})
			}
		}
	}
	for _, srv := range dig(cfg, "apps", "http", "servers").(map[string]any) {
		walk(asList(srv.(map[string]any)["routes"]), nil)
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// proxies returns the leaves with a reverse_proxy, split into the SSE one
// and the rest.
func proxies(t *testing.T, cfg map[string]any) (sse leaf, rest []leaf) {
	t.Helper()
	found := false
	for _, l := range leaves(cfg) {
		if l.handler("reverse_proxy") == nil {
			continue
		}
		if strings.Contains(l.matchJSON(), "path_regexp") {
			require.False(t, found, "one SSE route")
			sse, found = l, true
			continue
		}
		rest = append(rest, l)
	}
	require.True(t, found, "an SSE route")
	require.NotEmpty(t, rest)
	return sse, rest
}

func TestDeployCaddyfile(t *testing.T) {
	t.Run("caddy validate accepts it for localhost, a public domain and plain HTTP", func(t *testing.T) {
		for _, vars := range []map[string]string{
			{},
			{"SITE_ADDRESS": "game.example.com", "TLS_MODE": "ops@example.com", "CONQUEST_UPSTREAM_MODE": "dynamic"},
			{"SITE_ADDRESS": "http://127.0.0.1:18088", "CONQUEST_UPSTREAMS": "127.0.0.1:18081 127.0.0.1:18082", "CADDY_ADMIN": "off", "CADDY_TRUSTED_PROXIES": "10.0.0.0/8", "METRICS_PUBLIC": "true"},
		} {
			out, err := caddyCmd(t, vars, "validate", "--adapter", "caddyfile", "--config", repoFile(t, "Caddyfile"))
			require.NoError(t, err, "%v: %s", vars, out)
			require.Contains(t, string(out), "Valid configuration")
		}
	})

	upstreams := map[string]string{"SITE_ADDRESS": "http://127.0.0.1:18088", "CONQUEST_UPSTREAMS": "127.0.0.1:18081 127.0.0.1:18082"}
	cfg := adaptCaddyfile(t, upstreams)
	sse, rest := proxies(t, cfg)

	t.Run("SSE routes are flushed at once and never compressed", func(t *testing.T) {
		rp := sse.handler("reverse_proxy")
		require.EqualValues(t, -1, rp["flush_interval"])
		require.Nil(t, sse.handler("encode"), "no encode on the SSE route")
		re := regexp.MustCompile(dig(sse.matchers[len(sse.matchers)-1].([]any)[0], "path_regexp", "pattern").(string))
		for _, p := range []string{"/api/sessions/0b6f3c2e-7c1a-4e0e-9a53-8e4f1f2d9a10/events", "/api/turns/0b6f3c2e-7c1a-4e0e-9a53-8e4f1f2d9a10/events"} {
			require.True(t, re.MatchString(p), p)
		}
		for _, p := range []string{"/api/sessions/x/messages", "/api/sessions", "/api/sessions/x/events/more"} {
			require.False(t, re.MatchString(p), p)
		}
	})

	t.Run("everything else is compressed, but only types that are not event streams", func(t *testing.T) {
		for _, l := range rest {
			enc := l.handler("encode")
			require.NotNil(t, enc, "encode on %s", l.matchJSON())
			require.Contains(t, enc["encodings"], "gzip")
			require.Contains(t, enc["encodings"], "zstd")
			patterns := dig(enc, "match", "headers", "Content-Type").([]any)
			require.NotEmpty(t, patterns)
			for _, p := range patterns {
				prefix := strings.TrimSuffix(p.(string), "*")
				require.False(t, strings.HasPrefix("text/event-stream", prefix), "%s would compress SSE", p)
			}
			require.Contains(t, patterns, "application/json*")
		}
	})

	t.Run("the replicas are load-balanced and actively health-checked on /readyz", func(t *testing.T) {
		for _, l := range append(rest, sse) {
			rp := l.handler("reverse_proxy")
			var dials []string
			for _, u := range asList(rp["upstreams"]) {
				dials = append(dials, dig(u, "dial").(string))
			}
			require.Equal(t, []string{"127.0.0.1:18081", "127.0.0.1:18082"}, dials)
			require.Equal(t, "/readyz", dig(rp, "health_checks", "active", "uri"))
			require.EqualValues(t, 200, dig(rp, "health_checks", "active", "expect_status"))
			require.NotNil(t, dig(rp, "health_checks", "passive", "fail_duration"))
			require.Contains(t, []any{"least_conn", "round_robin"}, dig(rp, "load_balancing", "selection_policy", "policy"))
			require.Greater(t, dig(rp, "load_balancing", "try_duration").(float64), 0.0, "a dead replica is retried elsewhere")
			require.Nil(t, rp["trusted_proxies"], "no proxy in front of Caddy is trusted by default")
		}
	})

	t.Run("/metrics is not public unless METRICS_PUBLIC=true", func(t *testing.T) {
		blocked := func(cfg map[string]any) bool {
			for _, l := range leaves(cfg) {
				if strings.Contains(l.matchJSON(), `"/metrics"`) {
					sr := l.handler("static_response")
					require.NotNil(t, sr)
					require.EqualValues(t, 404, sr["status_code"])
					expr := l.matchJSON()
					return strings.Contains(expr, `\"false\" != \"true\"`)
				}
			}
			t.Fatal("no /metrics route")
			return false
		}
		require.True(t, blocked(cfg))
		require.False(t, blocked(adaptCaddyfile(t, map[string]string{"METRICS_PUBLIC": "true"})))
	})

	t.Run("security headers are set, HSTS only over TLS", func(t *testing.T) {
		var set map[string]any
		var hsts leaf
		for _, l := range leaves(cfg) {
			for _, h := range l.handlers {
				if h["handler"] != "headers" {
					continue
				}
				s, _ := dig(h, "response", "set").(map[string]any)
				if _, ok := s["Strict-Transport-Security"]; ok {
					hsts = l
					continue
				}
				if set == nil {
					set = map[string]any{}
				}
				for k, v := range s {
					set[k] = v
				}
			}
		}
		require.Contains(t, set, "X-Content-Type-Options")
		require.Contains(t, set, "Referrer-Policy")
		csp := set["Content-Security-Policy"].([]any)[0].(string)
		require.Contains(t, csp, "default-src 'self'")
		require.Contains(t, csp, "frame-ancestors 'none'")
		require.Contains(t, hsts.matchJSON(), `"protocol":"https"`)
	})

	t.Run("access logs are JSON", func(t *testing.T) {
		logs := dig(cfg, "logging", "logs").(map[string]any)
		var ok bool
		for name, l := range logs {
			if name == "default" {
				continue
			}
			require.Equal(t, "json", dig(l, "encoder", "format"))
			ok = true
		}
		require.True(t, ok, "an access log")
	})

	t.Run("hostname and TLS come from the environment", func(t *testing.T) {
		local := adaptCaddyfile(t, nil)
		srv := dig(local, "apps", "http", "servers", "srv0")
		require.Equal(t, []any{":8443"}, dig(srv, "listen"))
		issuers, _ := json.Marshal(dig(local, "apps", "tls", "automation"))
		require.Contains(t, string(issuers), `"module":"internal"`, "localhost gets the local CA")

		public := adaptCaddyfile(t, map[string]string{"SITE_ADDRESS": "game.example.com", "TLS_MODE": "ops@example.com"})
		acme, _ := json.Marshal(dig(public, "apps", "tls", "automation"))
		require.Contains(t, string(acme), "ops@example.com", "a public name gets ACME with the contact email")
		require.NotContains(t, string(acme), `"module":"internal"`)

		plain, _ := json.Marshal(dig(cfg, "apps", "tls"))
		require.Equal(t, "null", string(plain), "an http:// address has no TLS")
	})

	t.Run("dynamic upstreams follow every A record of the api service", func(t *testing.T) {
		dyn := adaptCaddyfile(t, map[string]string{"CONQUEST_UPSTREAM_MODE": "dynamic"})
		sse, _ := proxies(t, dyn)
		du := dig(sse.handler("reverse_proxy"), "dynamic_upstreams").(map[string]any)
		require.Equal(t, "a", du["source"])
		require.Equal(t, "api", du["name"])
		require.Equal(t, "8080", du["port"])
	})

	t.Run("trusted proxies in front of Caddy come from the environment", func(t *testing.T) {
		tp := adaptCaddyfile(t, map[string]string{"CADDY_TRUSTED_PROXIES": "10.1.0.0/16 192.168.7.7/32"})
		sse, _ := proxies(t, tp)
		require.Equal(t, []any{"10.1.0.0/16", "192.168.7.7/32"}, sse.handler("reverse_proxy")["trusted_proxies"])
	})
}
