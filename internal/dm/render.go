package dm

import (
	"strings"

	"github.com/codeofconquest/brightdawn/internal/memory/embed"
)

// ChatMessage is one message of a chat-completions request.
type ChatMessage struct {
	Role    string `json:"role"` // system, user or assistant
	Content string `json:"content"`
}

// messageOverhead is what a chat message costs beyond its content (role
// markers and separators; OpenAI documents about 4 tokens per message).
const messageOverhead = 4

// SummaryHeading introduces the rolling summary in the prompt's context.
const SummaryHeading = "The story so far (a summary of the earlier session):"

// Context renders the parts of the prompt that are background rather than
// conversation: the character sheet and the retrieved memory. Both
// providers put it after the system prompt.
func (p Prompt) Context() string {
	var b strings.Builder
	if d := p.Character.Describe(); d != "" {
		b.WriteString("The player's character: ")
		b.WriteString(d)
	}
	if sum := strings.TrimSpace(p.Summary); sum != "" {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(SummaryHeading)
		b.WriteString("\n")
		b.WriteString(sum)
	}
	if len(p.Lore) > 0 {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString("Facts of this campaign's world:")
		for _, l := range p.Lore {
			b.WriteString("\n- ")
			if l.Title != "" {
				b.WriteString(l.Title)
				b.WriteString(": ")
			}
			b.WriteString(oneLine(l.Content))
		}
	}
	if p.Mechanics != nil {
		if note := p.Mechanics.ForPrompt(); note != "" {
			if b.Len() > 0 {
				b.WriteString("\n\n")
			}
			b.WriteString(note)
		}
	}
	if len(p.Memory) > 0 {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString("Remembered from earlier in this session, most relevant first:")
		for _, m := range p.Memory {
			b.WriteString("\n- ")
			b.WriteString(speaker(m.Role))
			b.WriteString(": ")
			b.WriteString(oneLine(m.Content))
		}
	}
	return b.String()
}

// SystemText is the system prompt followed by the context.
func (p Prompt) SystemText() string {
	if c := p.Context(); c != "" {
		return p.System + "\n\n" + c
	}
	return p.System
}

// Messages renders the prompt for a chat model: one system message (the
// rules, the character, the memory), the recent messages as user and
// assistant turns, then the player's message. Consecutive messages of one
// role are merged, since several chat templates (Llama, Mistral) reject
// two user turns in a row.
func (p Prompt) Messages() []ChatMessage {
	out := []ChatMessage{{Role: "system", Content: p.SystemText()}}
	add := func(role, content string) {
		if last := &out[len(out)-1]; last.Role == role && role != "system" {
			last.Content += "\n\n" + content
			return
		}
		out = append(out, ChatMessage{Role: role, Content: content})
	}
	for _, t := range p.Recent {
		switch t.Role {
		case RoleDM:
			add("assistant", t.Content)
		case RoleSystem:
			add("user", "(Game note) "+t.Content)
		default:
			add("user", t.Content)
		}
	}
	add("user", p.Player)
	return out
}

// Transcript renders the conversation for a completion model that takes one
// prompt string (Replicate's language models): the recent messages as a
// script, then the player's message, ending where the Dungeon Master speaks.
// The system prompt and context go in the model's system_prompt input.
func (p Prompt) Transcript() string {
	var b strings.Builder
	for _, t := range p.Recent {
		b.WriteString(speaker(t.Role))
		b.WriteString(": ")
		b.WriteString(t.Content)
		b.WriteString("\n\n")
	}
	b.WriteString("Player: ")
	b.WriteString(p.Player)
	b.WriteString("\n\nDungeon Master:")
	return b.String()
}

func speaker(role string) string {
	switch role {
	case RoleDM:
		return "Dungeon Master"
	case RoleSystem:
		return "Game note"
	}
	return "Player"
}

// oneLine keeps a remembered message on one bullet line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Tokens estimates the prompt's size as sent: every part once, plus the
// per-message overhead of a chat request.
func (p Prompt) Tokens() int {
	n := embed.CountTokens(p.System) + embed.CountTokens(p.Character.Describe()) + embed.CountTokens(p.Player) + 2*messageOverhead
	n += SummaryTokens(p.Summary)
	for _, l := range p.Lore {
		n += loreTokens(l)
	}
	for _, m := range p.Memory {
		n += memoryTokens(m)
	}
	for _, t := range p.Recent {
		n += recentTokens(t)
	}
	return n
}

// SummaryTokens is what a rolling summary costs in the prompt, heading
// included (0 for none).
func SummaryTokens(s string) int {
	if strings.TrimSpace(s) == "" {
		return 0
	}
	return embed.CountTokens(SummaryHeading) + embed.CountTokens(s) + 2
}

func loreTokens(l Lore) int     { return embed.CountTokens(l.Title) + embed.CountTokens(l.Content) + 3 }
func memoryTokens(m Memory) int { return embed.CountTokens(m.Content) + 3 } // bullet and speaker
func recentTokens(t Turn) int   { return embed.CountTokens(t.Content) + messageOverhead }
