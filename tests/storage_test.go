package tests

import (
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// TestGameDoesNotWaitForStorage starts conquest while its S3 endpoint does
// not answer (as in a dev stack whose S3 server is still building): the game
// is playable, the asset routes answer 503 storage_starting with
// Retry-After, /readyz names s3. Once the store answers, uploads work
// without a restart.
func TestGameDoesNotWaitForStorage(t *testing.T) {
	testkit.RequireStack(t)
	t.Parallel()
	gate := newGatedS3(t, os.Getenv("S3_ENDPOINT"))
	srv := testkit.Start(t, testkit.Options{Env: []string{"S3_ENDPOINT=" + gate.addr}})
	p := signUp(t, srv.URL)

	t.Run("the game is playable while S3 is down", func(t *testing.T) {
		ch := newCharacter(t, p)
		s := newSession(t, p, ch.ID)
		_, tr := postMessage(t, p.Client, s.ID, "I light a torch and look around.")
		require.Equal(t, "completed", waitFinal(t, p.Client, tr.ID, time.Minute).Status)
	})

	t.Run("asset routes answer 503 storage_starting with Retry-After", func(t *testing.T) {
		for _, r := range []struct{ method, path string }{
			{"POST", "/api/assets"},
			{"GET", "/api/assets"},
			{"GET", "/api/assets/00000000-0000-0000-0000-000000000000"},
		} {
			var body any
			if r.method == "POST" {
				body = map[string]any{"kind": "portrait", "content_type": "image/png", "size": 100}
			}
			resp := p.Client.Do(t, r.method, r.path, body)
			requireAPIError(t, resp, http.StatusServiceUnavailable, "storage_starting")
			secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			require.NoError(t, err, "Retry-After is whole seconds: %q", resp.Header.Get("Retry-After"))
			require.Positive(t, secs)
		}
	})

	t.Run("asset routes still check the token first", func(t *testing.T) {
		requireAPIError(t, testkit.NewClient(srv.URL).Do(t, "GET", "/api/assets", nil), http.StatusUnauthorized, "unauthorized")
	})

	t.Run("readyz is degraded and names s3 as starting", func(t *testing.T) {
		out := readyz(t, srv.URL)
		require.Equal(t, http.StatusOK, out.status, "the game runs without S3, so the replica stays in rotation")
		require.Equal(t, "degraded", out.Status)
		require.Equal(t, []string{"s3"}, out.Missing)
		require.Equal(t, "starting", out.Checks["s3"])
		require.Equal(t, "ok", out.Checks["postgres"])
		require.Equal(t, "ok", out.Checks["redis"])
	})

	gate.open()

	t.Run("once S3 answers, readyz is ready and uploads work", func(t *testing.T) {
		require.Eventually(t, func() bool { return readyz(t, srv.URL).Status == "ready" }, 90*time.Second, 200*time.Millisecond,
			"conquest notices the store without a restart")
		out := readyz(t, srv.URL)
		require.Empty(t, out.Missing)
		require.Equal(t, "ok", out.Checks["s3"])
		img := portraitPNG(t)
		created := createAsset(t, p.Client, map[string]any{"kind": "portrait", "content_type": "image/png", "size": len(img)})
		status, msg := uploadWithForm(t, created.Upload, img, nil)
		require.Equal(t, http.StatusNoContent, status, msg)
		resp := p.Client.Do(t, "POST", "/api/assets/"+created.Asset.ID+"/complete", nil)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	})
}

type readyzBody struct {
	status  int
	Status  string            `json:"status"`
	Checks  map[string]string `json:"checks"`
	Missing []string          `json:"missing"`
}

func readyz(t *testing.T, base string) readyzBody {
	t.Helper()
	resp := testkit.NewClient(base).Do(t, "GET", "/readyz", nil)
	var out readyzBody
	resp.JSON(t, &out)
	out.status = resp.Status
	return out
}

// gatedS3 is a TCP forwarder to the test stack's S3 server that refuses
// every connection until opened: an S3 endpoint that is "still starting".
// Presigned URLs are signed for its address, and it forwards bytes as they
// are, so signatures hold.
type gatedS3 struct {
	addr   string
	target string
	mu     sync.Mutex
	opened bool
}

func newGatedS3(t *testing.T, target string) *gatedS3 {
	t.Helper()
	require.NotEmpty(t, target, "S3_ENDPOINT of the test stack")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	g := &gatedS3{addr: ln.Addr().String(), target: target}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go g.serve(c)
		}
	}()
	return g
}

func (g *gatedS3) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.opened = true
}

func (g *gatedS3) serve(c net.Conn) {
	defer c.Close()
	g.mu.Lock()
	opened := g.opened
	g.mu.Unlock()
	if !opened {
		return // closed at once, like a server not listening yet
	}
	up, err := net.DialTimeout("tcp", g.target, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
}

// TestBrowserSaysUploadsComeSoonWhileStorageStarts: the web client words a
// 503 storage_starting for the player instead of a generic failure.
func TestBrowserSaysUploadsComeSoonWhileStorageStarts(t *testing.T) {
	testkit.RequireStack(t)
	gate := newGatedS3(t, os.Getenv("S3_ENDPOINT"))
	srv := testkit.Start(t, testkit.Options{Env: []string{"S3_ENDPOINT=" + gate.addr}})
	b, _, _ := characterSheetInBrowser(t, srv.URL)
	b.do("choose a portrait", chromedp.SetUploadFiles(chromedp.CSS("#portrait-file"), []string{tinyPNG(t)}))
	b.waitFor("the player to be told uploads come in a moment",
		`document.querySelector('.portrait-panel')?.textContent.includes('Uploads will be available in a moment')`, 30*time.Second)
	require.Empty(t, b.exceptions(), "no uncaught exceptions")
}

// characterSheetInBrowser signs a new player up, gives them a character and
// opens its sheet in Chromium.
func characterSheetInBrowser(t *testing.T, base string) (*browser, player, character) {
	t.Helper()
	p := signUp(t, base)
	ch := newCharacter(t, p)
	b := newBrowser(t, base, 1280, 860)
	b.signInInBrowser(p.Email)
	b.open("/#/characters/" + ch.ID)
	b.waitFor("the character sheet", `document.querySelector('#portrait-file')`, 15*time.Second)
	return b, p, ch
}
