package dm

import (
	"fmt"
	"sort"
)

// Kept says which of a prompt's memories and recent messages survived Fit,
// as indexes into the slices Fit was given, in their original order.
type Kept struct {
	Summary bool // the rolling summary went in
	Lore    []int
	Memory  []int
	Recent  []int
}

// Fit trims p to at most budget estimated tokens (Prompt.Tokens). The
// system prompt, the character sheet and the player's message are never
// dropped. Recent messages come before memory: memory is trimmed first,
// least relevant first; then recent messages, oldest first. If the fixed
// parts alone exceed the budget, Fit returns an *Error with
// CodePromptTooLong rather than silently cutting the player's words.
//
// budget <= 0 means no limit.
func Fit(p Prompt, budget int) (Prompt, Kept, error) {
	all := Kept{Summary: p.Summary != "", Lore: seq(len(p.Lore)), Memory: seq(len(p.Memory)), Recent: seq(len(p.Recent))}
	if budget <= 0 {
		return p, all, nil
	}
	fixed := Prompt{System: p.System, Character: p.Character, Player: p.Player}
	left := budget - fixed.Tokens()
	if left < 0 {
		return p, Kept{}, &Error{Code: CodePromptTooLong, Message: fmt.Sprintf(
			"the message is too long for the Dungeon Master's prompt budget (%d tokens with the rules and character sheet; the budget is %d)", fixed.Tokens(), budget)}
	}
	var kept Kept
	// The rolling summary first: it was written within its own share of
	// the budget, and it is all the prompt has of the older history.
	summary := ""
	if c := SummaryTokens(p.Summary); c > 0 && c <= left {
		left -= c
		kept.Summary, summary = true, p.Summary
	}
	// Then lore: the caller already chose it within lore's own share of
	// the budget (internal/lore.Select); here only what still fits stays.
	var lore []Lore
	for i, l := range p.Lore {
		if c := loreTokens(l); c <= left {
			left -= c
			kept.Lore = append(kept.Lore, i)
			lore = append(lore, l)
		}
	}
	// Newest recent messages first: the conversation's thread matters most.
	for i := len(p.Recent) - 1; i >= 0; i-- {
		c := recentTokens(p.Recent[i])
		if c > left {
			break // keep the recent window contiguous: no gaps in the dialogue
		}
		left -= c
		kept.Recent = append(kept.Recent, i)
	}
	// Then memory, most relevant first; a long memory that does not fit
	// may still leave room for a shorter, less relevant one.
	byScore := seq(len(p.Memory))
	sort.SliceStable(byScore, func(a, b int) bool { return p.Memory[byScore[a]].Score > p.Memory[byScore[b]].Score })
	for _, i := range byScore {
		if c := memoryTokens(p.Memory[i]); c <= left {
			left -= c
			kept.Memory = append(kept.Memory, i)
		}
	}
	sort.Ints(kept.Recent)
	sort.Ints(kept.Memory)
	out := fixed
	out.Seed, out.MaxTokens, out.Lore, out.Summary = p.Seed, p.MaxTokens, lore, summary
	for _, i := range kept.Memory {
		out.Memory = append(out.Memory, p.Memory[i])
	}
	for _, i := range kept.Recent {
		out.Recent = append(out.Recent, p.Recent[i])
	}
	return out, kept, nil
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
