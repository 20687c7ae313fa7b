package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// wordNet is a trial of WordNet query expansion (the benchmark only, not
// the game): each keyword's synonyms, hypernyms and hyponyms in its first
// senses, single words only, read from a WordNet 3.0 database directory
// (Debian's wordnet-base: /usr/share/wordnet).
type wordNet struct {
	senses  map[string][]string // lemma → synset keys, most frequent sense first
	members map[string][]string // synset key → lemmas
	hyper   map[string][]string // synset key → hypernym keys
	hypo    map[string][]string // synset key → hyponym keys
	exc     map[string]string   // irregular form → lemma
}

func loadWordNet(dir string) (*wordNet, error) {
	wn := &wordNet{senses: map[string][]string{}, members: map[string][]string{}, hyper: map[string][]string{}, hypo: map[string][]string{}, exc: map[string]string{}}
	for _, pos := range []string{"noun", "verb", "adj", "adv"} {
		p := pos[:1]
		if err := eachLine(filepath.Join(dir, "data."+pos), func(f []string) {
			key := p + f[0]
			n, _ := strconv.ParseInt(f[3], 16, 32)
			for i := range int(n) {
				wn.members[key] = append(wn.members[key], strings.ToLower(f[4+2*i]))
			}
			at := 4 + 2*int(n)
			pc, _ := strconv.Atoi(f[at])
			at++
			for range pc {
				sym, off, ps := f[at], f[at+1], f[at+2]
				at += 4
				if ps == "s" {
					ps = "a"
				}
				switch sym {
				case "@", "@i":
					wn.hyper[key] = append(wn.hyper[key], ps+off)
				case "~", "~i":
					wn.hypo[key] = append(wn.hypo[key], ps+off)
				}
			}
		}); err != nil {
			return nil, err
		}
		if err := eachLine(filepath.Join(dir, "index."+pos), func(f []string) {
			sc, _ := strconv.Atoi(f[2])
			for _, off := range f[len(f)-sc:] {
				wn.senses[f[0]] = append(wn.senses[f[0]], p+off)
			}
		}); err != nil {
			return nil, err
		}
		if err := eachLine(filepath.Join(dir, pos+".exc"), func(f []string) { wn.exc[f[0]] = f[1] }); err != nil {
			return nil, err
		}
	}
	return wn, nil
}

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

// lemma is w's dictionary form: itself, an irregular form's lemma, or w
// without a regular inflection.
func (wn *wordNet) lemma(w string) string {
	if _, ok := wn.senses[w]; ok {
		return w
	}
	if l, ok := wn.exc[w]; ok {
		return l
	}
	for _, s := range [][2]string{{"ies", "y"}, {"es", ""}, {"s", ""}, {"ed", ""}, {"ed", "e"}, {"ing", ""}, {"ing", "e"}} {
		if b, ok := strings.CutSuffix(w, s[0]); ok {
			if _, ok := wn.senses[b+s[1]]; ok {
				return b + s[1]
			}
		}
	}
	return w
}

// expand adds, after the keywords, the single-word lemmas of each
// keyword's first senses senses, of their hypernyms and of the hyponyms
// of narrow senses, at most per words per keyword.
func (wn *wordNet) expand(kws []string, senses, per int) []string {
	seen := map[string]bool{}
	for _, k := range kws {
		seen[k] = true
	}
	out := append([]string(nil), kws...)
	for _, k := range kws {
		added := 0
		add := func(key string) {
			for _, m := range wn.members[key] {
				if added < per && !seen[m] && plainWord(m) {
					seen[m] = true
					out = append(out, m)
					added++
				}
			}
		}
		ss := wn.senses[wn.lemma(k)]
		for _, s := range ss[:min(senses, len(ss))] {
			add(s)
		}
		for _, s := range ss[:min(senses, len(ss))] {
			for _, r := range wn.hyper[s] {
				add(r)
			}
		}
		// Hyponyms only of narrow senses: "tree" has hundreds.
		for _, s := range ss[:min(senses, len(ss))] {
			if len(wn.hypo[s]) <= maxHyponyms {
				for _, r := range wn.hypo[s] {
					add(r)
				}
			}
		}
	}
	return out
}

// maxHyponyms is the most hyponyms a sense may have for expand to add them.
const maxHyponyms = 12

func plainWord(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return len(w) > 2
}
