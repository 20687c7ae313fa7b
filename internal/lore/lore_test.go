package lore

import (
	"fmt"
	"strings"
	"testing"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	t.Run("a good entry is normalised: keys trimmed, blanks and duplicates removed", func(t *testing.T) {
		e, warns, err := Validate(Entry{Title: " Bram ", Keys: []string{" Bram ", "bram", "", "the  Iron Gate"}, Content: " A smith. ", Enabled: true})
		require.NoError(t, err)
		assert.Equal(t, "Bram", e.Title)
		assert.Equal(t, []string{"Bram", "the Iron Gate"}, e.Keys)
		assert.Equal(t, "A smith.", e.Content)
		assert.Empty(t, warns)
	})
	t.Run("an always entry needs no keys", func(t *testing.T) {
		_, _, err := Validate(Entry{Content: "The world is flat.", Always: true})
		require.NoError(t, err)
	})
	t.Run("risky keys are kept but flagged", func(t *testing.T) {
		e, warns, err := Validate(Entry{Keys: []string{"Al", "the", "Look", "Bram"}, Content: "x"})
		require.NoError(t, err)
		assert.Len(t, e.Keys, 4)
		assert.Equal(t, []Warning{{"Al", WarnShortKey}, {"the", WarnCommonWord}, {"Look", WarnCommonWord}}, warns)
	})

	refused := []struct {
		name  string
		entry Entry
		field string
	}{
		{"a one-letter key", Entry{Keys: []string{"Bram", "a"}, Content: "x"}, "keys[1]"},
		{"a one-letter key in another script", Entry{Keys: []string{"я"}, Content: "x"}, "keys[0]"},
		{"a key of punctuation only", Entry{Keys: []string{"?!"}, Content: "x"}, "keys[0]"},
		{"an over-long key", Entry{Keys: []string{strings.Repeat("k", MaxKeyRunes+1)}, Content: "x"}, "keys[0]"},
		{"too many keys", Entry{Keys: manyKeys(MaxKeysPerEntry + 1), Content: "x"}, "keys"},
		{"no keys and not always", Entry{Content: "x"}, "keys"},
		{"no content", Entry{Keys: []string{"Bram"}}, "content"},
		{"over-long content", Entry{Keys: []string{"Bram"}, Content: strings.Repeat("é", MaxContentRunes+1)}, "content"},
		{"over-long title", Entry{Title: strings.Repeat("t", MaxTitleRunes+1), Keys: []string{"Bram"}, Content: "x"}, "title"},
	}
	for _, tc := range refused {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			_, _, err := Validate(tc.entry)
			require.Error(t, err)
			assert.Equal(t, apperr.Invalid, apperr.CodeOf(err))
			assert.Contains(t, err.Error(), tc.field+":")
		})
	}
}

func manyKeys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("key%d", i)
	}
	return out
}

func TestCheckKey(t *testing.T) {
	t.Parallel()
	code, ok := CheckKey(" he ")
	assert.True(t, ok)
	assert.Equal(t, WarnCommonWord, code)
	_, ok = CheckKey("Ysolde")
	assert.False(t, ok)
}

func msgs(texts ...string) []Message {
	out := make([]Message, len(texts))
	for i, s := range texts {
		out[i] = Message{ID: fmt.Sprintf("m%d", i), Content: s}
	}
	return out
}

func TestMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, key, text string
		want            bool
	}{
		{"matches the exact word", "Bram", "I ask Bram for a sword.", true},
		{"matches another case", "Bram", "BRAM! Where are you?", true},
		{"matches a possessive", "Bram", "I take Bram's hammer.", true},
		{"matches a curly possessive", "Bram", "I take Bram’s hammer.", true},
		{"matches a plural by its stem", "dragon", "Three dragons circle the tower.", true},
		{"matches another inflection by its stem", "hunting", "The wolves hunted at night.", true},
		{"matches a key of several words in sequence", "Iron Gate", "We reach the iron   gate at dusk.", true},
		{"matches a multi-word key across punctuation", "Iron Gate", "The iron-gate creaks.", true},
		{"matches with accents folded", "Eowyn", "Éowyn raises her shield.", true},
		{"matches an accented key on plain text", "Éowyn", "eowyn laughs", true},
		{"matches a Cyrillic word case-insensitively", "Москва", "Я еду в МОСКВА сегодня", true},
		{"matches a Han key inside unspaced text", "東京", "我们明天去東京吧", true},
		{"matches a number", "1492", "In 1492 the ship sailed.", true},
		{"does not match a word that merely contains the key", "Bram", "The brambles scratch my legs.", false},
		{"does not match a key inside a longer word", "art", "He starts the party.", false},
		{"does not match the words of a key out of order", "Iron Gate", "The gate is made of iron.", false},
		{"does not match the words of a key apart", "Iron Gate", "The iron and the gate.", false},
		{"does not match text with no mention", "Bram", "Nothing happens.", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := NewMatcher([]Entry{{ID: "e", Keys: []string{tc.key}, Content: "c", Enabled: true}}).Match(msgs(tc.text))
			if !tc.want {
				assert.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			assert.Equal(t, tc.key, got[0].Key)
			assert.Equal(t, "m0", got[0].MessageID)
		})
	}

	t.Run("reports the key and message of the most recent mention, and counts all", func(t *testing.T) {
		e := Entry{ID: "bram", Keys: []string{"Bram", "smith"}, Content: "c", Enabled: true}
		got := NewMatcher([]Entry{e}).Match(msgs("Bram waves.", "The smith and Bram talk.", "Nothing.", "I visit the smith."))
		require.Len(t, got, 1)
		assert.Equal(t, "smith", got[0].Key)
		assert.Equal(t, "m3", got[0].MessageID)
		assert.Equal(t, 3, got[0].MessageIndex)
		assert.Equal(t, 4, got[0].Count)
	})
	t.Run("disabled entries never match, even always ones", func(t *testing.T) {
		got := NewMatcher([]Entry{
			{ID: "off", Keys: []string{"Bram"}, Content: "c"},
			{ID: "offalways", Always: true, Content: "c"},
		}).Match(msgs("Bram"))
		assert.Empty(t, got)
	})
	t.Run("always entries are in without a mention, with no key", func(t *testing.T) {
		got := NewMatcher([]Entry{{ID: "w", Always: true, Content: "c", Enabled: true}}).Match(msgs("Nothing."))
		require.Len(t, got, 1)
		assert.True(t, got[0].Always)
		assert.Empty(t, got[0].Key)
		assert.Equal(t, -1, got[0].MessageIndex)
	})
}

func words(n int) string { return strings.TrimSpace(strings.Repeat("word ", n)) }

func TestSelect(t *testing.T) {
	t.Parallel()
	count := embed.CountTokens
	entries := []Entry{
		{ID: "old", Keys: []string{"Bram"}, Content: words(30), Enabled: true},
		{ID: "world", Always: true, Content: words(30), Enabled: true},
		{ID: "new", Keys: []string{"Ysolde"}, Content: words(30), Enabled: true},
		{ID: "often", Keys: []string{"mill"}, Content: words(30), Enabled: true},
	}
	ms := NewMatcher(entries).Match(msgs("Bram speaks.", "Ysolde and the mill, the mill."))
	ids := func(sel Selection) (in, out []string) {
		for _, i := range sel.Included {
			in = append(in, i.Entry.ID)
		}
		for _, s := range sel.Skipped {
			out = append(out, s.Entry.ID)
		}
		return in, out
	}

	t.Run("orders always first, then recency, then count", func(t *testing.T) {
		in, out := ids(Select(ms, Budget{Tokens: 1000, Count: count}))
		assert.Equal(t, []string{"world", "often", "new", "old"}, in)
		assert.Empty(t, out)
	})
	t.Run("stays within the budget and says what was left out", func(t *testing.T) {
		sel := Select(ms, Budget{Tokens: 2 * count(words(30)), Count: count})
		in, out := ids(sel)
		assert.Equal(t, []string{"world", "often"}, in)
		assert.Equal(t, []string{"new", "old"}, out)
		assert.LessOrEqual(t, sel.Tokens, 2*count(words(30)))
		assert.Equal(t, SkipBudget, sel.Skipped[0].Reason)
	})
	t.Run("cuts an entry that costs more than the per-entry cap", func(t *testing.T) {
		long := []Match{{Entry: Entry{ID: "long", Content: words(500)}, Always: true}}
		sel := Select(long, Budget{Tokens: 1000, PerEntry: 50, Count: count})
		require.Len(t, sel.Included, 1)
		inc := sel.Included[0]
		assert.True(t, inc.Truncated)
		assert.LessOrEqual(t, inc.Tokens, 50)
		assert.Greater(t, inc.Tokens, 40, "the cut keeps as much as fits")
		assert.True(t, strings.HasSuffix(inc.Content, "word…"))
	})
	t.Run("an entry that does not fit the rest of the budget leaves room for smaller ones after it", func(t *testing.T) {
		ms := []Match{
			{Entry: Entry{ID: "first", Content: words(15)}, MessageIndex: 3, Count: 1},
			{Entry: Entry{ID: "big", Content: words(15)}, MessageIndex: 2, Count: 1},
			{Entry: Entry{ID: "small", Content: words(3)}, MessageIndex: 1, Count: 1},
		}
		budget := count(words(15)) + count(words(3)) + 1
		in, out := ids(Select(ms, Budget{Tokens: budget, Count: count}))
		assert.Equal(t, []string{"first", "small"}, in)
		assert.Equal(t, []string{"big"}, out)
	})
}

func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"Bram", "I ask Bram's help"},
		{"Iron Gate", "the iron gate"},
		{"東京", "我们去東京"},
		{"Éowyn", "ÉOWYN"},
		{"'s", "'s's's"},
		{"a\u0301", "á"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, key, text string) {
		m := NewMatcher([]Entry{{ID: "e", Keys: []string{key}, Content: "c", Enabled: true}})
		got := m.Match([]Message{{ID: "m", Content: text}})
		if len(got) > 1 {
			t.Fatalf("one entry matched %d times", len(got))
		}
		// A key always matches a message made of that key alone.
		if len(foldWords(key)) > 0 {
			if len(m.Match([]Message{{ID: "m", Content: key}})) != 1 {
				t.Fatalf("key %q does not match itself", key)
			}
		}
		if len(got) == 1 && got[0].Count < 1 {
			t.Fatalf("a match with count %d", got[0].Count)
		}
		// Selection never exceeds its budget, whatever the content.
		long := []Match{{Entry: Entry{Content: text + " " + key}, Always: true}, {Entry: Entry{Content: key}, MessageIndex: 0, Count: 1}}
		for _, budget := range []int{0, 1, 3, 10} {
			sel := Select(long, Budget{Tokens: budget, PerEntry: 2, Count: embed.CountTokens})
			if sel.Tokens > budget || len(sel.Included)+len(sel.Skipped) != 2 {
				t.Fatalf("budget %d: %+v", budget, sel)
			}
			for _, in := range sel.Included {
				if embed.CountTokens(in.Content) > 2 {
					t.Fatalf("an entry over the per-entry cap: %q", in.Content)
				}
			}
		}
	})
}

func BenchmarkMatch100x12(b *testing.B) {
	entries := make([]Entry, 100)
	for i := range entries {
		entries[i] = Entry{ID: fmt.Sprint(i), Keys: []string{fmt.Sprintf("Name%d", i), fmt.Sprintf("place %d", i), "the iron gate"}, Content: words(40), Enabled: true}
	}
	ms := make([]Message, 12)
	for i := range ms {
		ms[i] = Message{ID: fmt.Sprint(i), Content: strings.Repeat(fmt.Sprintf("Name%d walked past the Iron Gate towards place %d, talking about dragons. ", i*7, i*3), 4)}
	}
	m := NewMatcher(entries)
	b.ReportAllocs()
	for b.Loop() {
		sel := Select(m.Match(ms), Budget{Tokens: 800, PerEntry: 200, Count: embed.CountTokens})
		if len(sel.Included) == 0 {
			b.Fatal("nothing matched")
		}
	}
}
