package embed

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/kljensen/snowball/english"
)

// DefaultDim is the hash embedder's default dimension, the width of the
// messages.embedding column.
const DefaultDim = 384

// Feature weights of the hash embedder. Whole words carry the meaning; word
// bigrams reward shared phrases ("blacksmith daughter"); character n-grams
// let inflections (v1) and typos still meet ("named"/"name",
// "Ysolde"/"Ysolda") without drowning out exact word matches. charWeight is
// each n-gram's weight in v1, one word's n-grams' together in v2.
const (
	wordWeight   = 1.0
	bigramWeight = 0.7
	charWeight   = 0.4
)

// HashEmbedder is the offline embedder: signed feature hashing of words,
// word bigrams and character 3- and 4-grams into Dim buckets, L2-normalised.
//
// Text is lower-cased, accent-folded and split on anything that is not a
// letter or digit; English stop words are dropped. Each remaining word gives
// a word feature, a bigram with the previous remaining word, and the 3- and
// 4-grams of "#word#". A feature's 64-bit hash picks its bucket (h mod Dim)
// and its sign (the top bit), so colliding features tend to cancel rather
// than pile up; repeats count as 1 + ln(tf).
//
// There are two versions, two models:
//
//   - v1, "hash-<dim>" (NewHashEmbedder): whole words, and each character
//     n-gram weighs charWeight.
//   - v2, "hash-<dim>-v2" (NewHashEmbedderV2): words and bigrams are Porter2
//     (Snowball English) stems, the stemmer Postgres's english configuration
//     uses for the keyword search, so "sleeps"/"sleep", "warns"/"warn",
//     "recognised"/"recognise" are one feature; and one word's character
//     n-grams weigh charWeight together (each charWeight/√count). In v1 a
//     7-letter word's 13 n-grams had twice the squared weight of the word
//     itself, so vectors were mostly substrings shared by unrelated words
//     ("#th", "er#"); they were there to meet inflections, which stems now
//     do, and are left to typos and names ("Ysolde"/"Ysolda"). N-grams are
//     still of the unstemmed word.
//
// It needs no model and no network, and its vectors are identical across
// runs, processes and machines: features are hashed with FNV-1a 64 (a fixed,
// published function, unlike hash/maphash whose seeds are per process)
// followed by a fixed bit mixer, and the stemmer is a pure function of the
// word. Any change to that pipeline changes every vector and needs a new
// model name (a new version); v1 is kept so a deployment can go on serving
// it while the re-embed to v2 runs.
type HashEmbedder struct {
	dim     int
	version int
}

var _ Embedder = (*HashEmbedder)(nil)

// NewHashEmbedder returns a version 1 hash embedder ("hash-<dim>") of dim
// dimensions. dim must be positive; configuration validates it at start-up,
// so a bad value here is a programming error and panics.
func NewHashEmbedder(dim int) *HashEmbedder { return newHashEmbedder(dim, 1) }

// NewHashEmbedderV2 returns a version 2 hash embedder ("hash-<dim>-v2"):
// stemmed words, and character n-grams weighted per word.
func NewHashEmbedderV2(dim int) *HashEmbedder { return newHashEmbedder(dim, 2) }

func newHashEmbedder(dim, version int) *HashEmbedder {
	if dim <= 0 {
		panic("memory: NewHashEmbedder: dim must be positive, got " + strconv.Itoa(dim))
	}
	return &HashEmbedder{dim: dim, version: version}
}

// Model returns "hash-<dim>" (v1) or "hash-<dim>-v2": vectors of different
// dimensions or versions are different models.
func (e *HashEmbedder) Model() string {
	if e.version == 1 {
		return fmt.Sprintf("hash-%d", e.dim)
	}
	return fmt.Sprintf("hash-%d-v%d", e.dim, e.version)
}

// Dim returns the vector length.
func (e *HashEmbedder) Dim() int { return e.dim }

// Embed returns one unit vector per text. The work is pure CPU, so ctx is
// checked between texts.
//
// A text without any feature (empty, or only punctuation) cannot become a
// zero vector: pgvector's cosine distance of a zero vector is NaN, which
// breaks ordering. It becomes the unit vector on bucket 0 instead, so all
// such texts are alike and near nothing else.
func (e *HashEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	var feats []feature
	for i, t := range texts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		feats = extract(feats[:0], t, e.version)
		out[i] = e.vector(feats)
	}
	return out, nil
}

// feature is one hashed feature occurrence; the hash covers the feature's
// kind, so a word and a character n-gram with the same letters differ.
type feature struct {
	h uint64
	w float32
}

// vector folds features into a normalised vector, with sublinear term
// frequency (1 + ln tf) so a word repeated five times does not outweigh
// five different words.
func (e *HashEmbedder) vector(feats []feature) []float32 {
	v := make([]float32, e.dim)
	slices.SortFunc(feats, func(a, b feature) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return 0
	})
	for i := 0; i < len(feats); {
		j := i + 1
		for j < len(feats) && feats[j].h == feats[i].h {
			j++
		}
		h := feats[i].h
		// A feature repeated with different weights (v2: one character
		// n-gram in words of different lengths) takes its largest weight,
		// so the result does not depend on the sort's order of equal
		// hashes. In v1 a feature's weight follows from its kind, which
		// its hash covers, so this changes nothing there.
		fw := feats[i].w
		for _, f := range feats[i+1 : j] {
			fw = max(fw, f.w)
		}
		// The float32 conversions forbid fused multiply-adds, which some
		// architectures would otherwise use and round differently.
		w := float32(fw * float32(1+math.Log(float64(j-i))))
		if h>>63 == 1 {
			w = -w
		}
		v[h%uint64(e.dim)] += w
		i = j
	}
	var sum float64
	for _, x := range v {
		sum += float64(float64(x) * float64(x))
	}
	if sum == 0 {
		v[0] = 1
		return v
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= inv
	}
	return v
}

// Feature kinds, hashed in front of the feature's text.
const (
	kindWord   = 'w'
	kindBigram = 'b'
	kindChar   = 'c'
)

// extract appends the features of text to dst, for a version of the
// embedder.
func extract(dst []feature, text string, version int) []feature {
	prev := ""
	var buf []byte
	var offs []int
	for _, w := range words(text) {
		// Stop words give no feature at all, not even character n-grams:
		// theirs ("#th", "the#", "#wha") are shared by most messages.
		// Measured on planted-fact questions against 15 distractors,
		// keeping them cut the right answer's lead over the best
		// distractor from 0.26 to 0.16 cosine.
		if stopWords[w] {
			continue
		}
		st := w
		if version >= 2 {
			st = english.Stem(w, false)
		}
		dst = append(dst, feature{mix(fnvString(fnvByte(fnvOffset, kindWord), st)), wordWeight})
		if prev != "" {
			h := fnvString(fnvByte(fnvOffset, kindBigram), prev)
			h = fnvString(fnvByte(h, ' '), st)
			dst = append(dst, feature{mix(h), bigramWeight})
		}
		prev = st

		// Character n-grams of the (unstemmed) word padded with boundary
		// markers, so "#ys" (a word start) differs from "ys" inside a
		// word. N-grams count runes, not bytes, for words that kept
		// non-Latin letters.
		buf = append(append(append(buf[:0], '#'), w...), '#')
		offs = offs[:0]
		for i := range string(buf) {
			offs = append(offs, i)
		}
		offs = append(offs, len(buf))
		runes := len(offs) - 1
		cw := float32(charWeight)
		if version >= 2 {
			// runes-2 3-grams and runes-3 4-grams (runes ≥ 3).
			cw = float32(charWeight / math.Sqrt(float64(2*runes-5)))
		}
		for _, n := range [...]int{3, 4} {
			for i := 0; i+n <= runes; i++ {
				h := fnvBytes(fnvByte(fnvOffset, kindChar), buf[offs[i]:offs[i+n]])
				dst = append(dst, feature{mix(h), cw})
			}
		}
	}
	return dst
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

func fnvBytes(h uint64, s []byte) uint64 {
	for _, b := range s {
		h = (h ^ uint64(b)) * fnvPrime
	}
	return h
}

// mix is MurmurHash3's 64-bit finaliser. FNV-1a's high bits barely depend
// on the last bytes of short inputs, and the sign is taken from the top bit.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
