package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/api/openapi"
)

// undocumented are routes the OpenAPI document leaves out on purpose, with
// why. Everything else the router serves must be in the document.
var undocumented = map[string]string{
	"/ops/queues":        "asynqmon's own dashboard and JSON API, mounted as is for every method",
	"/ops/queues/{path}": "asynqmon's own dashboard and JSON API, mounted as is for every method",
}

// everyRoute builds the router with every optional part present, so that
// Routes() lists every route the binary can serve.
func everyRoute(t *testing.T) []string {
	t.Helper()
	r, err := NewRouter(Deps{
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Auth:      struct{ AuthService }{},
		Game:      struct{ GameService }{},
		Tickets:   struct{ StreamTickets }{},
		Events:    struct{ EventStreamer }{},
		Assets:    struct{ AssetService }{},
		Reembed:   struct{ ReembedService }{},
		Lore:      struct{ LoreService }{},
		Summaries: struct{ SummaryService }{},
		Cards:     struct{ CardService }{},
		Exports:   struct{ ExportService }{},
		Story:     struct{ StoryService }{},
		Party:     struct{ PartyService }{},
		Ops:       OpsDeps{Metrics: http.NotFoundHandler(), Queues: http.NotFoundHandler()},
	})
	require.NoError(t, err)
	var out []string
	for _, rt := range r.Routes() {
		out = append(out, rt.Method+" "+openAPIPath(rt.Path))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z_]+)`)

// openAPIPath writes gin's /a/:id/*rest as OpenAPI's /a/{id}/{rest}.
func openAPIPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

// documented lists "METHOD /path" for every operation of the document.
func documented(t *testing.T) []string {
	t.Helper()
	doc, err := libopenapi.NewDocument(openapi.YAML)
	require.NoError(t, err)
	model, err := doc.BuildV3Model()
	require.NoError(t, err, "the document builds as an OpenAPI 3.1 model")
	var out []string
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	routes, doc := everyRoute(t), documented(t)
	t.Run("every route of the router is in the document", func(t *testing.T) {
		var missing []string
		for _, rt := range routes {
			method, path, _ := strings.Cut(rt, " ")
			if _, skip := undocumented[path]; skip {
				continue
			}
			if method == http.MethodHead && slices.Contains(doc, "GET "+path) {
				continue // a documented GET answers HEAD too
			}
			if !slices.Contains(doc, rt) {
				missing = append(missing, rt)
			}
		}
		require.Empty(t, missing, "routes missing from api/openapi/openapi.yaml (docs/API.md \"Adding a route\")")
	})
	t.Run("every operation of the document is a route", func(t *testing.T) {
		var extra []string
		for _, op := range doc {
			if !slices.Contains(routes, op) {
				extra = append(extra, op)
			}
		}
		require.Empty(t, extra, "operations in api/openapi/openapi.yaml that the router does not serve")
	})
	t.Run("the exceptions are still routes", func(t *testing.T) {
		for path := range undocumented {
			require.True(t, slices.ContainsFunc(routes, func(r string) bool { return strings.HasSuffix(r, " "+path) }), path)
		}
	})
}

func TestOpenAPIIsServed(t *testing.T) {
	r, err := NewRouter(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/api/openapi.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	doc, err := libopenapi.NewDocument(rec.Body.Bytes())
	require.NoError(t, err)
	require.Equal(t, "3.1.0", doc.GetVersion())
	model, err := doc.BuildV3Model()
	require.NoError(t, err)
	require.NotNil(t, model.Model.Components.Schemas.GetOrZero("Sheet"), "the character sheet schema is in it")
	require.NotNil(t, model.Model.Components.Schemas.GetOrZero("StreamEvent"), "the event catalogue is in it")
}

var apiDocRow = regexp.MustCompile("(?m)^\\| `([A-Z]+) (/[^`]*)` \\|")

// TestAPIDocListsEveryOperation keeps docs/API.md's route table equal to
// the OpenAPI document's operations.
func TestAPIDocListsEveryOperation(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "API.md"))
	require.NoError(t, err)
	var rows []string
	for _, m := range apiDocRow.FindAllStringSubmatch(string(b), -1) {
		rows = append(rows, m[1]+" "+m[2])
	}
	slices.Sort(rows)
	require.Equal(t, documented(t), rows, "docs/API.md's route table and api/openapi/openapi.yaml differ")
}
