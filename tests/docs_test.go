package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The README and docs/ must stand on their own in a clone: every link
// resolves to a file (and heading) inside the repository, none points
// outside it, and the README stays short.

var (
	mdLink    = regexp.MustCompile(`\[[^\]]*\]\(([^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)
	notSlug   = regexp.MustCompile(`[^\p{L}\p{N} _-]`)
)

// withoutCode drops fenced code blocks and inline code: links there are
// examples, not links.
func withoutCode(s string) string {
	var out []string
	fenced := false
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			out = append(out, regexp.MustCompile("`[^`]*`").ReplaceAllString(line, ""))
		}
	}
	return strings.Join(out, "\n")
}

// anchors are the GitHub-style ids of a Markdown file's headings.
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	ids := map[string]bool{}
	for _, m := range mdHeading.FindAllStringSubmatch(withoutCode(string(b)), -1) {
		h := strings.ToLower(strings.ReplaceAll(m[1], "`", ""))
		ids[strings.ReplaceAll(notSlug.ReplaceAllString(h, ""), " ", "-")] = true
	}
	return ids
}

func TestDocsLinksResolveInsideTheRepository(t *testing.T) {
	root, err := filepath.Abs(filepath.Dir(repoFile(t, "README.md")))
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	files = append(files, filepath.Join(root, "README.md"))
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		t.Run(rel, func(t *testing.T) {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			links := mdLink.FindAllStringSubmatch(withoutCode(string(b)), -1)
			for _, m := range links {
				target := m[1]
				require.NotRegexp(t, `^[a-z][a-z0-9+.-]*:`, target, "%s links outside the repository", rel)
				file, anchor, _ := strings.Cut(target, "#")
				path := f
				if file != "" {
					path = filepath.Join(filepath.Dir(f), file)
				}
				inside, err := filepath.Rel(root, path)
				require.NoError(t, err)
				require.False(t, strings.HasPrefix(inside, ".."), "%s: %s leaves the repository", rel, target)
				_, err = os.Stat(path)
				require.NoError(t, err, "%s: %s does not resolve", rel, target)
				if anchor != "" && strings.HasSuffix(path, ".md") {
					require.True(t, anchors(t, path)[anchor], "%s: no heading #%s in %s", rel, anchor, inside)
				}
			}
		})
	}
	t.Run("the README is at most 200 lines", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(root, "README.md"))
		require.NoError(t, err)
		require.LessOrEqual(t, strings.Count(string(b), "\n"), 200)
	})
	t.Run("the docs do not send anyone to the Go module proxy for pgvector", func(t *testing.T) {
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			require.False(t, strings.Contains(string(b), "go mod download github.com/pgvector/pgvector"), "%s tells users to fetch pgvector through the Go module proxy", f)
		}
	})
}
