package summary

import (
	"fmt"
	"strings"

	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
)

// Instructions is the system prompt of a summary asked of a language model
// (the network DM providers). %d is the length in words.
const Instructions = `You keep the running summary of a text role-playing game session between players and a Dungeon Master.
You are given the summary so far and the messages that came after it. Write the new summary: the summary so far, rolled forward with what the new messages add.
Keep what later play depends on: people, places and things by name, who did what, promises, debts, quests, injuries, items gained or lost, secrets learned.
Drop small talk and descriptions that change nothing. Never invent anything that is not in the summary or the messages.
Write plain sentences in the past tense, one fact per line, in story order, at most %d words. Answer with the summary only, no heading or preamble.`

// Request is the prompt that asks a chat model to roll the summary
// forward: the instructions as the system prompt and, as the player's
// message, the summary so far and the new messages as a transcript.
// maxTokens bounds the answer.
func Request(previous string, msgs []Message, maxTokens int) dm.Prompt {
	var b strings.Builder
	b.WriteString("Summary so far:\n")
	if p := strings.TrimSpace(previous); p != "" {
		b.WriteString(p)
	} else {
		b.WriteString("(none yet)")
	}
	b.WriteString("\n\nNew messages:\n")
	for _, m := range msgs {
		b.WriteString(speaker(m))
		b.WriteString(": ")
		b.WriteString(strings.Join(strings.Fields(m.Content), " "))
		b.WriteString("\n")
	}
	return dm.Prompt{
		System:    fmt.Sprintf(Instructions, max(maxTokens*3/4, 10)),
		Player:    strings.TrimRight(b.String(), "\n"),
		MaxTokens: maxTokens,
	}
}

func speaker(m Message) string {
	switch m.Role {
	case "player":
		if name := strings.Join(strings.Fields(m.Author), " "); name != "" {
			return name
		}
		return "Player"
	case "dm":
		return "DM"
	}
	return "Game note"
}

// Fit cuts a summary a model wrote to at most maxTokens (count, or
// embed.CountTokens when nil): whole lines first, then whole sentences of
// the line that no longer fits, then words. Blank lines and surrounding
// space are removed.
func Fit(text string, maxTokens int, count func(string) int) string {
	if count == nil {
		count = embed.CountTokens
	}
	if maxTokens <= 0 {
		return ""
	}
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			lines = append(lines, l)
		}
	}
	var kept []string
	for _, l := range lines {
		if count(strings.Join(append(kept, l), "\n")) <= maxTokens {
			kept = append(kept, l)
			continue
		}
		// The line does not fit whole: as many of its sentences, then
		// words, as do.
		var part []string
		for _, s := range splitSentences(l) {
			if count(strings.Join(append(kept, strings.Join(append(part, s), " ")), "\n")) > maxTokens {
				break
			}
			part = append(part, s)
		}
		if len(part) == 0 {
			for _, w := range strings.Fields(l) {
				if count(strings.Join(append(kept, strings.Join(append(part, w), " ")+" …"), "\n")) > maxTokens {
					break
				}
				part = append(part, w)
			}
			if len(part) > 0 {
				part[len(part)-1] += " …"
			}
		}
		if len(part) > 0 {
			kept = append(kept, strings.Join(part, " "))
		}
		break
	}
	return strings.Join(kept, "\n")
}
