package main

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// svgTexts parses an SVG file as XML and returns its root element's name,
// the number of drawn paths and all its text.
func svgTexts(t *testing.T, path string) (root string, paths int, text string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	dec := xml.NewDecoder(f)
	var sb strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "the chart is well-formed XML")
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
			if tok.Name.Local == "path" {
				paths++
			}
		case xml.CharData:
			sb.Write(tok)
			sb.WriteByte(' ')
		}
	}
	return root, paths, sb.String()
}

func ms(v ...int) dist {
	var d dist
	for _, x := range v {
		d = append(d, time.Duration(x)*time.Millisecond)
	}
	return d
}

func TestDistributionChart(t *testing.T) {
	t.Parallel()
	t.Run("every series is drawn and named with its percentiles", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "charts", "ttft.svg")
		require.NoError(t, writeDistSVG(out, "time to first token", []namedDist{
			{"overhead", ms(10, 12, 11, 30, 14)},
			{"delivery", ms(1, 1, 2, 1, 5)},
			{"empty", nil},
		}))
		root, paths, text := svgTexts(t, out)
		require.Equal(t, "svg", root)
		require.Greater(t, paths, 2, "lines and axes are paths")
		require.Contains(t, text, "time to first token")
		require.Contains(t, text, "overhead (p50 12ms, p99 30ms)")
		require.Contains(t, text, "delivery (p50 1ms, p99 5ms)")
		require.NotContains(t, text, "empty", "a series without measurements is left out")
	})

	t.Run("nothing measured is an error, not an empty chart", func(t *testing.T) {
		err := writeDistSVG(filepath.Join(t.TempDir(), "x.svg"), "t", []namedDist{{"a", nil}})
		require.ErrorContains(t, err, "no measurements")
	})

	t.Run("only .svg files", func(t *testing.T) {
		err := writeDistSVG(filepath.Join(t.TempDir(), "x.png"), "t", []namedDist{{"a", ms(1)}})
		require.ErrorContains(t, err, ".svg")
	})
}

func TestCompareChart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	before := write("before.json", `{"scenario":"ttft","turns":100,
		"overhead":{"n":100,"p50_ms":26.9,"p90_ms":31,"p99_ms":36.3,"max_ms":50},
		"delivery":{"n":100,"p50_ms":0.75,"p90_ms":1,"p99_ms":1.9,"max_ms":3},
		"before_model_breakdown":{"retrieve":{"n":100,"p50_ms":9,"p90_ms":10,"p99_ms":12,"max_ms":13}},
		"only_before":{"n":1,"p50_ms":1,"p90_ms":1,"p99_ms":1,"max_ms":1}}`)
	after := write("after.json", `{"scenario":"ttft","turns":100,
		"overhead":{"n":100,"p50_ms":12.7,"p90_ms":15,"p99_ms":21,"max_ms":30},
		"delivery":{"n":100,"p50_ms":0.77,"p90_ms":1,"p99_ms":1.9,"max_ms":3},
		"before_model_breakdown":{"retrieve":{"n":100,"p50_ms":2.8,"p90_ms":3,"p99_ms":4,"max_ms":5}}}`)

	t.Run("two runs side by side, every distribution they share", func(t *testing.T) {
		out := filepath.Join(dir, "cmp.svg")
		require.NoError(t, runChart(context.Background(), []string{"-o", out, "-labels", "PGlite, 1 player|native PG", before, after}))
		root, _, text := svgTexts(t, out)
		require.Equal(t, "svg", root)
		for _, want := range []string{"ttft", "PGlite, 1 player", "native PG", "overhead", "p50", "p99", "delivery", "retrieve"} {
			require.Contains(t, text, want)
		}
		require.NotContains(t, text, "only_before", "a distribution one run lacks is left out")
	})

	t.Run("chosen distributions and percentiles", func(t *testing.T) {
		out := filepath.Join(dir, "overhead.svg")
		require.NoError(t, runChart(context.Background(), []string{"-o", out, "-keys", "overhead", "-percentiles", "p50,p90,max", "-title", "overhead", before, after}))
		_, _, text := svgTexts(t, out)
		require.Contains(t, text, "p90")
		require.Contains(t, text, "max")
		require.NotContains(t, text, "p99")
		require.NotContains(t, text, "delivery")
		require.Contains(t, text, "before", "the file names label the runs by default")
	})

	t.Run("bad input is refused with a reason", func(t *testing.T) {
		notJSON := write("bad.json", "p50 12ms")
		noDists := write("nodists.json", `{"scenario":"turns","turns_per_s":47}`)
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{before, notJSON}, "not a loadgen -json summary"},
			{[]string{before, noDists}, "no latency distributions"},
			{[]string{"-keys", "only_before", before, after}, `no distribution "only_before"`},
			{[]string{"-percentiles", "p75", before, after}, "p75"},
			{[]string{filepath.Join(dir, "missing.json")}, "no such file"},
		} {
			err := runChart(context.Background(), append([]string{"-o", filepath.Join(dir, "x.svg")}, tc.args...))
			require.ErrorContains(t, err, tc.want, "%v", tc.args)
		}
	})
}
