package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/web"
)

// staticPlaceholder in index.html is replaced by the versioned static prefix.
const staticPlaceholder = "%STATIC%"

// webFile is one embedded file, ready to serve.
type webFile struct {
	body        []byte
	contentType string
	etag        string
}

// webClient serves the embedded browser client. Static files live under
// /static/<version>/, where version is a hash of every embedded file: the
// modules import each other by relative paths, so the whole module graph
// carries the version and can be cached for a year, while index.html (which
// names the version) is revalidated on every load. No build step needed.
type webClient struct {
	version string
	index   webFile
	files   map[string]webFile // by path below static/
	csp     string
}

// WebCSP is the web client's Content-Security-Policy. Everything comes
// from this site, except what the browser exchanges with the object store
// through presigned URLs — portraits and maps shown (img-src), uploads and
// downloads (connect-src) — which go to the store's origin and nowhere
// else. s3Origin "" (no store) leaves only 'self'.
func WebCSP(s3Origin string) string {
	extra := ""
	if s3Origin != "" {
		extra = " " + s3Origin
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; " +
		"img-src 'self'" + extra + "; connect-src 'self'" + extra + "; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// newWebClient reads the embedded files once at start-up.
func newWebClient(fsys fs.FS) (*webClient, error) {
	w := &webClient{files: map[string]webFile{}}
	sum := sha256.New()
	var names []string
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, p := range names {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		sum.Write([]byte(p))
		sum.Write(b)
		w.files[strings.TrimPrefix(p, "static/")] = newWebFile(p, b)
	}
	w.version = hex.EncodeToString(sum.Sum(nil))[:12]
	idx, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		return nil, err
	}
	idx = bytes.ReplaceAll(idx, []byte(staticPlaceholder), []byte("/static/"+w.version))
	w.index = newWebFile("index.html", idx)
	return w, nil
}

func newWebFile(name string, b []byte) webFile {
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".html":
		ct = "text/html; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := sha256.Sum256(b)
	return webFile{body: b, contentType: ct, etag: `"` + hex.EncodeToString(h[:8]) + `"`}
}

// registerWeb serves the browser client at / and its files at /static/.
// The client routes by URL fragment (#/play/…), so no catch-all is needed
// and unknown paths keep their JSON 404.
func registerWeb(r *gin.Engine, s3Origin string) {
	w, err := newWebClient(web.Files)
	if err != nil {
		// The files are embedded at build time; failing here is a broken build.
		panic("web client: " + err.Error())
	}
	w.csp = WebCSP(s3Origin)
	r.GET("/", w.serveIndex)
	r.HEAD("/", w.serveIndex)
	r.GET("/static/:version/*path", w.serveStatic)
	r.HEAD("/static/:version/*path", w.serveStatic)
}

func (w *webClient) serveIndex(c *gin.Context) {
	// Revalidated on every load (the ETag makes that a cheap 304), so a new
	// deployment's version is picked up at once.
	c.Header("Cache-Control", "no-cache")
	w.serve(c, "index.html", w.index)
}

func (w *webClient) serveStatic(c *gin.Context) {
	f, ok := w.files[strings.TrimPrefix(c.Param("path"), "/")]
	if !ok || c.Param("version") != w.version {
		// Another version's file is not served under this version's name:
		// with year-long caching that would pin the wrong content.
		fail(c, apperr.New(apperr.NotFound, "no such file"))
		return
	}
	c.Header("Cache-Control", "public, max-age=31536000, immutable")
	w.serve(c, c.Param("path"), f)
}

func (w *webClient) serve(c *gin.Context, name string, f webFile) {
	h := c.Writer.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", f.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", w.csp)
	http.ServeContent(c.Writer, c.Request, name, time.Time{}, bytes.NewReader(f.body))
}
