package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// chromiumPath is Debian's chromium; the stack launcher installs it.
const chromiumPath = "/usr/bin/chromium"

// browser is one headless Chromium tab driving the web client.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu      sync.Mutex
	console []string // errors and exceptions the page logged
}

// newBrowser starts headless Chromium (width×height) for base. Missing
// Chromium fails the test: these tests must not pass by skipping.
func newBrowser(t *testing.T, base string, width, height int) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s not found: install the Debian package `chromium` (apt-get install -y chromium)", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base}
	// The first run starts the browser; it must not carry a timeout.
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))), "start chromium")
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.console = append(b.console, m.String())
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.console) > 0 {
			t.Logf("browser console errors:\n  %s", strings.Join(b.console, "\n  "))
		}
	})
	return b
}

// exceptions returns the uncaught exceptions the page threw so far.
func (b *browser) exceptions() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, c := range b.console {
		if strings.Contains(c, "Uncaught") {
			out = append(out, c)
		}
	}
	return out
}

// do runs actions with a timeout, failing the test (with a screenshot) on error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// open navigates to a client route ("/#/login").
func (b *browser) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path))
}

// eval evaluates a JavaScript expression and decodes its value into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fail("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it is true. Errors while
// polling (a page reloading) count as "not yet".
func (b *browser) waitFor(what, expr string, within time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("Boolean(%s)", expr)))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			b.fail("waiting %s for %s (%s): last error %v", within, what, expr, lastErr)
		}
		time.Sleep(80 * time.Millisecond)
	}
}

// fill sets an input's value as typing would (so input events fire).
func (b *browser) fill(sel, value string) {
	b.t.Helper()
	b.waitFor(sel+" to be on the page", fmt.Sprintf("document.querySelector(%q)", sel), 10*time.Second)
	eval[bool](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`, sel))
	b.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), value))
}

// pressEnter presses Enter in the focused element as a keyboard does. (CDP's
// "char" event would insert a line break even after the page cancelled the
// keydown, which a real keyboard does not do.)
func (b *browser) pressEnter() {
	b.t.Helper()
	b.do("press Enter", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
				Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
			})
			if err != nil {
				return err
			}
		}
		return nil
	}))
}

// click clicks the first element matching sel once it is visible.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// text returns the textContent of the first element matching sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf("document.querySelector(%q)?.textContent ?? ''", sel))
}

// screenshot saves a PNG of the viewport under artifacts/ (git-ignored)
// at the repository root and returns its path.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(b.t, err, "screenshot")
	dir := artifactsDir(b.t)
	path := filepath.Join(dir, name+".png")
	require.NoError(b.t, os.WriteFile(path, buf, 0o644))
	b.t.Logf("screenshot: %s", path)
	return path
}

// fail saves a screenshot of the failing page and fails the test.
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(b.t.Name()) + "-failure"
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		path := filepath.Join(artifactsDir(b.t), name+".png")
		if os.WriteFile(path, buf, 0o644) == nil {
			b.t.Logf("failure screenshot: %s", path)
		}
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main')?.innerText ?? ''`)); err == nil {
		b.t.Logf("page text:\n%s", html)
	}
	b.t.Fatalf(format, args...)
}

// artifactsDir is <repo>/artifacts, created on demand.
func artifactsDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "artifacts")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return filepath.Clean(dir)
}

// signUpInBrowser registers a new player through the web client's form
// and returns the email (password: browserPassword).
func (b *browser) signUpInBrowser(name string) string {
	b.t.Helper()
	email := uniqueBrowserEmail()
	b.open("/#/register")
	b.fill("input[name=display_name]", name)
	b.fill("input[name=email]", email)
	b.fill("input[name=password]", browserPassword)
	b.click("form button[type=submit]")
	b.waitFor("the characters page after registering", `location.hash === '#/characters' && document.querySelector('h1')?.textContent === 'Characters'`, 15*time.Second)
	return email
}

// signInInBrowser signs in through the form.
func (b *browser) signInInBrowser(email string) {
	b.t.Helper()
	b.open("/#/login")
	b.fill("input[name=email]", email)
	b.fill("input[name=password]", browserPassword)
	b.click("form button[type=submit]")
	b.waitFor("the adventures page after signing in", `location.hash === '#/sessions' && document.querySelector('h1')?.textContent === 'Adventures'`, 15*time.Second)
}

const browserPassword = "correct horse battery"

// playing opens a browser on base, signed in as p, at the game view of the
// session, and waits until its event stream is open.
func playing(t *testing.T, base string, p player, sessionID string) *browser {
	t.Helper()
	b := newBrowser(t, base, 1280, 860)
	b.signInInBrowser(p.Email)
	b.open("/#/play/" + sessionID)
	b.waitFor("the game view, live", `document.querySelector('.connection')?.dataset.state === 'open'`, 15*time.Second)
	return b
}

func uniqueBrowserEmail() string { return testkit.UniqueEmail("browser") }

// loginREST signs a player in over HTTP, for checks behind the browser's back.
func loginREST(t *testing.T, base, email string) player {
	t.Helper()
	c := testkit.NewClient(base)
	resp := c.Do(t, "POST", "/auth/login", map[string]any{"email": email, "password": browserPassword})
	require.Equal(t, 200, resp.Status, string(resp.Body))
	return signedIn(t, c, resp, email)
}

// tinyPNG writes a small real PNG (a gradient) and returns its path.
func tinyPNG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 48, 48))
	for y := range 48 {
		for x := range 48 {
			img.Set(x, y, color.RGBA{R: uint8(120 + 2*x), G: uint8(60 + y), B: 40, A: 255})
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	path := filepath.Join(t.TempDir(), "portrait.png")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return path
}

// restMessages reads a session's newest messages over REST.
func restMessages(t *testing.T, p player, sessionID string) []message {
	t.Helper()
	resp := p.Client.Do(t, "GET", "/api/sessions/"+sessionID+"/messages?limit=100", nil)
	require.Equal(t, 200, resp.Status, string(resp.Body))
	var page struct{ Messages []message }
	require.NoError(t, json.Unmarshal(resp.Body, &page))
	return page.Messages
}

// switchProxy is a reverse proxy in front of API replicas whose backend can
// be switched, dropping every open connection (SSE streams included).
type switchProxy struct {
	mu     sync.Mutex
	target *url.URL
	down   bool // answer 503 to everything (an outage)
	srv    *httptest.Server
}

func newSwitchProxy(t *testing.T, target string) *switchProxy {
	t.Helper()
	sp := &switchProxy{}
	sp.set(t, target)
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			sp.mu.Lock()
			defer sp.mu.Unlock()
			r.SetURL(sp.target)
		},
		FlushInterval: -1, // SSE passes through unbuffered
		ErrorLog:      log.New(io.Discard, "", 0),
	}
	sp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sp.mu.Lock()
		down := sp.down
		sp.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { sp.srv.CloseClientConnections(); sp.srv.Close() })
	return sp
}

func (sp *switchProxy) URL() string { return sp.srv.URL }

func (sp *switchProxy) set(t *testing.T, target string) {
	u, err := url.Parse(target)
	require.NoError(t, err)
	sp.mu.Lock()
	sp.target = u
	sp.mu.Unlock()
}

// switchTo sends new requests to target and drops every open connection.
func (sp *switchProxy) switchTo(target string) {
	u, _ := url.Parse(target)
	sp.mu.Lock()
	sp.target = u
	sp.mu.Unlock()
	sp.srv.CloseClientConnections()
}

// outage drops every open connection and answers 503 until restore.
func (sp *switchProxy) outage() {
	sp.mu.Lock()
	sp.down = true
	sp.mu.Unlock()
	sp.srv.CloseClientConnections()
}

func (sp *switchProxy) restore() {
	sp.mu.Lock()
	sp.down = false
	sp.mu.Unlock()
}

// sampleReplyUntilDone samples the DM reply's text every 100 ms until the
// reply is marked done, and returns the samples: a test checks that each is
// a prefix of the stored reply (nothing shown twice or out of order).
func (b *browser) sampleReplyUntilDone(after string) []string {
	var samples []string
	deadline := time.Now().Add(90 * time.Second)
	for {
		done, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`!!document.querySelector(%q)`, dmReplyDoneSel)))
		if err == nil && done {
			return samples
		}
		if sample, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`[...document.querySelectorAll('%s .msg-text')].map(e => e.textContent).join('\u0000')`, dmReplySel))); err == nil && sample != "" {
			samples = append(samples, sample)
		}
		if time.Now().After(deadline) {
			b.fail("the reply did not end within 90s after %s", after)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
