package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Charts are SVG (gonum.org/v1/plot), so docs/ can show them beside the
// tables they illustrate and diffs of a re-run stay readable.

const (
	chartWidth, chartHeight = 7 * vg.Inch, 4 * vg.Inch
	compareWidth            = 9 * vg.Inch
)

// namedDist is one latency distribution of a run.
type namedDist struct {
	name string
	d    dist
}

// writeDistSVG draws each distribution as its percentile curve (x: the
// percentile, y: milliseconds), the shape a table of p50/p90/p99 hides.
func writeDistSVG(path, title string, series []namedDist) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "ms"
	p.X.Min, p.X.Max = 0, 100
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	n, top := 0, 0.0
	for i, s := range series {
		if len(s.d) == 0 {
			continue
		}
		top = max(top, float64(s.d.pct(100))/float64(time.Millisecond))
		line, err := plotter.NewLine(percentileCurve(s.d))
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("%s (p50 %s, p99 %s)", s.name, rnd(s.d.pct(50)), rnd(s.d.pct(99))), line)
		n++
	}
	if n == 0 {
		return errors.New("no measurements to chart")
	}
	p.Y.Min, p.Y.Max = 0, top*(1+0.12*float64(n)) // room for the legend above the curves
	return saveSVG(p, path)
}

// percentileCurve samples the distribution at every half percentile.
func percentileCurve(d dist) plotter.XYs {
	sorted := slices.Clone(d)
	slices.Sort(sorted)
	var xys plotter.XYs
	for q := 0.0; q <= 100; q += 0.5 {
		i := int(q / 100 * float64(len(sorted)-1))
		xys = append(xys, plotter.XY{X: q, Y: float64(sorted[i]) / float64(time.Millisecond)})
	}
	return xys
}

func saveSVG(p *plot.Plot, path string) error {
	return saveSVGSize(p, path, chartWidth, chartHeight)
}

func saveSVGSize(p *plot.Plot, path string, w, h vg.Length) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if !strings.HasSuffix(path, ".svg") {
		return fmt.Errorf("%s: charts are written as .svg", path)
	}
	return p.Save(w, h, path)
}

// runChart is `loadgen chart`: it compares the -json summaries of two or
// more runs (before/after a change) as grouped bars of their percentiles.
func runChart(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("chart", flag.ExitOnError)
	out := fs.String("o", "chart.svg", "where to write the SVG")
	title := fs.String("title", "", "chart title (default: the scenario)")
	keys := fs.String("keys", "", "comma-separated distributions to compare (default: every one all runs have), e.g. overhead,delivery; nested ones as before_model_breakdown.retrieve")
	labels := fs.String("labels", "", "names of the runs, separated by | (default: the file names)")
	pcts := fs.String("percentiles", "p50,p99", "which percentiles to draw: any of p50,p90,p99,max")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: loadgen chart [flags] before.json after.json [more.json…]")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if fs.NArg() < 1 {
		fs.Usage()
		return errors.New("give at least one -json summary")
	}
	var runs []chartRun
	for i, path := range fs.Args() {
		r, err := readRun(path)
		if err != nil {
			return err
		}
		r.label = strings.TrimSuffix(filepath.Base(path), ".json")
		if ls := strings.Split(*labels, "|"); *labels != "" && i < len(ls) {
			r.label = ls[i]
		}
		runs = append(runs, r)
	}
	if *title == "" {
		*title = runs[0].scenario
	}
	return writeCompareSVG(*out, *title, runs, splitList(*keys), splitList(*pcts))
}

// chartRun is one run's distributions: name → percentile → ms.
type chartRun struct {
	label, scenario string
	dists           map[string]map[string]float64
}

func readRun(path string) (chartRun, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return chartRun{}, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return chartRun{}, fmt.Errorf("%s: not a loadgen -json summary: %w", path, err)
	}
	r := chartRun{dists: map[string]map[string]float64{}}
	r.scenario, _ = m["scenario"].(string)
	collectDists(m, "", r.dists)
	if len(r.dists) == 0 {
		return chartRun{}, fmt.Errorf("%s: no latency distributions (objects with p50_ms) in it", path)
	}
	return r, nil
}

// collectDists finds every {p50_ms, p90_ms, p99_ms, max_ms} object, named
// by its path of keys.
func collectDists(m map[string]any, prefix string, out map[string]map[string]float64) {
	for k, v := range m {
		sub, ok := v.(map[string]any)
		if !ok {
			continue
		}
		if _, ok := sub["p50_ms"]; ok {
			d := map[string]float64{}
			for _, p := range []string{"p50", "p90", "p99", "max"} {
				if f, ok := sub[p+"_ms"].(float64); ok {
					d[p] = f
				}
			}
			out[prefix+k] = d
			continue
		}
		collectDists(sub, prefix+k+".", out)
	}
}

func writeCompareSVG(path, title string, runs []chartRun, keys, pcts []string) error {
	if len(keys) == 0 {
		for k := range runs[0].dists {
			if all(runs, func(r chartRun) bool { _, ok := r.dists[k]; return ok }) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
	}
	if len(keys) == 0 {
		return errors.New("the runs have no distribution in common: name them with -keys")
	}
	if len(pcts) == 0 {
		return errors.New("-percentiles: name at least one of p50,p90,p99,max")
	}
	var names []string
	for _, k := range keys {
		for _, pc := range pcts {
			if !slices.Contains([]string{"p50", "p90", "p99", "max"}, pc) {
				return fmt.Errorf("-percentiles: %q is none of p50,p90,p99,max", pc)
			}
			// Nested distributions are named by their last key (retrieve,
			// not before_model_breakdown.retrieve) to keep labels short.
			names = append(names, k[strings.LastIndexByte(k, '.')+1:]+"\n"+pc)
		}
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "ms"
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(40)
	p.Add(plotter.NewGrid())
	// Each category gets an equal share of the width; its runs' bars fill
	// two thirds of it.
	w := vg.Length(float64(compareWidth) * 0.8 / float64(len(names)) / float64(len(runs)) * 2 / 3)
	top := 0.0
	for i, r := range runs {
		var vals plotter.Values
		for _, k := range keys {
			d, ok := r.dists[k]
			if !ok {
				return fmt.Errorf("run %s has no distribution %q", r.label, k)
			}
			for _, pc := range pcts {
				vals = append(vals, d[pc])
				top = max(top, d[pc])
			}
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(i)
		bars.Offset = w * vg.Length(float64(i)-float64(len(runs)-1)/2)
		p.Add(bars)
		p.Legend.Add(r.label, bars)
	}
	p.NominalX(names...)
	p.Y.Min, p.Y.Max = 0, top*(1.1+0.08*float64(len(runs))) // room for the legend
	return saveSVGSize(p, path, compareWidth, chartHeight)
}

func all[T any](s []T, f func(T) bool) bool {
	for _, x := range s {
		if !f(x) {
			return false
		}
	}
	return true
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
