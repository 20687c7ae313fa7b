package summary

import (
	"strings"
	"testing"

	"github.com/codeofconquest/brightdawn/internal/memory/embed"
)

func FuzzSummarize(f *testing.F) {
	f.Add("Ana met Bram.", "Ysolde hid the key. *nods* Fine.\nThe Duke owes 300 gold.", 30)
	f.Add("", `"Stop!" she cries. ... ?!`, 5)
	f.Add("DM: a: b: c", "Éowyn rode to Édoras. 東京に行く。", 12)
	f.Fuzz(func(t *testing.T, previous, text string, budget int) {
		budget %= 500
		var msgs []Message
		for i, part := range strings.Split(text, "|") {
			role := []string{"player", "dm", "system"}[i%3]
			msgs = append(msgs, Message{Role: role, Author: "Ana", Content: part})
		}
		got := Summarize(previous, msgs, Options{MaxTokens: budget})
		if n := embed.CountTokens(got); n > max(budget, 0) {
			t.Fatalf("summary costs %d tokens, budget %d", n, budget)
		}
		if again := Summarize(previous, msgs, Options{MaxTokens: budget}); again != got {
			t.Fatalf("not deterministic: %q then %q", got, again)
		}
	})
}

// FuzzFit: a model's answer (untrusted text) is cut to any budget.
func FuzzFit(f *testing.F) {
	f.Add("Ana met Bram.\n\nBram owes 40 crowns. He hid the key.", 7)
	f.Add("one-very-long-word-without-spaces-at-all", 1)
	f.Add("\n\n  \t", 3)
	f.Fuzz(func(t *testing.T, text string, budget int) {
		budget %= 2000
		got := Fit(text, budget, nil)
		if n := embed.CountTokens(got); n > max(budget, 0) {
			t.Fatalf("fitted text costs %d tokens, budget %d: %q", n, budget, got)
		}
	})
}
