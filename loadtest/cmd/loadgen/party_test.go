package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSlopeIsTheLeastSquaresLine(t *testing.T) {
	for _, c := range []struct {
		name   string
		xs, ys []float64
		want   float64
	}{
		{"flat", []float64{0, 1, 2, 3}, []float64{5, 5, 5, 5}, 0},
		{"line", []float64{0, 1, 2, 3}, []float64{1, 3, 5, 7}, 2},
		{"noise around a line", []float64{0, 1, 2, 3}, []float64{0, 2, 1, 3}, 0.8},
		{"falling", []float64{0, 0.5, 1}, []float64{10, 9, 8}, -2},
		{"one point", []float64{1}, []float64{4}, 0},
		{"one x", []float64{2, 2}, []float64{1, 9}, 0},
	} {
		if got := slope(c.xs, c.ys); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: slope = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCheckDeliveryCountsMissingAndLeakedWhispers(t *testing.T) {
	done := func(n int) turnSeen { return turnSeen{Events: n, Final: "dm.done", FinalAt: time.Now()} }
	posts := []partyPost{
		{Turn: "pub", Author: 0},
		{Turn: "w1", Author: 1, Private: true},
		{Turn: "w2", Author: 2, Private: true},
		{Turn: "late", Author: 1},
	}
	seen := []map[string]turnSeen{
		{"pub": done(4), "late": done(3)},
		{"pub": done(4), "w1": done(4), "late": done(3)},
		// member 2 missed "late", never got its own whisper's final, and saw member 1's whisper.
		{"pub": done(4), "w2": {Events: 2}, "w1": {Events: 3}, "stray": done(1)},
	}
	d := checkDelivery(posts, seen)
	if d.Turns != 4 || d.Whispers != 2 {
		t.Errorf("turns %d whispers %d, want 4 and 2", d.Turns, d.Whispers)
	}
	// pub: 3 members, w1: 1, w2: 1, late: 3.
	if d.Expected != 8 {
		t.Errorf("expected %d, want 8", d.Expected)
	}
	if d.Missing != 2 { // late at member 2, w2 at its author
		t.Errorf("missing %d, want 2", d.Missing)
	}
	if d.Mismatch != 1 { // late: 3, 3, 0 events
		t.Errorf("mismatch %d, want 1", d.Mismatch)
	}
	if d.Violations != 3 || len(d.Violation) != 1 {
		t.Errorf("violations %d %v, want the 3 events of w1 seen by member 2", d.Violations, d.Violation)
	}
	if d.Unknown != 1 {
		t.Errorf("unknown %d, want 1 (stray)", d.Unknown)
	}
	if d.Finals["dm.done"] != 3 || d.Finals["none"] != 1 {
		t.Errorf("finals %v, want 3 dm.done and 1 none (w2)", d.Finals)
	}

	clean := checkDelivery(posts[:2], seen[:2])
	if clean.Missing != 0 || clean.Violations != 0 || clean.Mismatch != 0 {
		t.Errorf("a clean run: %+v", clean)
	}
}

func TestParseMetricsReadsUnlabelledSeries(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 57
go_memstats_heap_inuse_bytes 1.2345e+07
conquest_sse_connections{replica="a"} 3
conquest_sse_connections 6
process_resident_memory_bytes_total 9
`
	got := parseMetrics(text, partyMetrics)
	want := map[string]float64{"go_goroutines": 57, "go_memstats_heap_inuse_bytes": 12345000, "conquest_sse_connections": 6}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestPartySeriesAndChart(t *testing.T) {
	s := &metricsSampler{}
	for i, g := range []float64{50, 52, 51} {
		s.samples = append(s.samples, metricsSample{at: time.Duration(i) * 10 * time.Second,
			values: map[string]float64{"go_goroutines": g, "process_resident_memory_bytes": float64(100+i) * (1 << 20)}})
	}
	rows := s.series()
	if len(rows) != 3 || rows[2]["at_s"] != 20 || rows[1]["go_goroutines"] != 52 || rows[2]["process_resident_memory_mib"] != 102 {
		t.Fatalf("series: %v", rows)
	}
	tr := s.trends()["process_resident_memory_bytes"]
	if tr.Start != 100<<20 || tr.Max != 102<<20 || math.Abs(tr.SlopePerMin-6*(1<<20)) > 1 {
		t.Errorf("trend %+v, want +1 MiB per 10 s = 6 MiB/min", tr)
	}
	path := filepath.Join(t.TempDir(), "over-time.svg")
	if err := s.writeSVG(path, "test"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), "<svg") {
		t.Fatalf("chart: %v", err)
	}
}
