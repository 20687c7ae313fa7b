package export

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Markdown renders d as a readable transcript: a title, the summary (if
// any), then every message with its speaker, the turn's rolls and sheet
// changes beneath the DM's message, and the lorebook at the end. Every text
// that came from a player or the model is escaped, so it shows as written
// and cannot become a heading, link, image or HTML in a Markdown viewer.
// Whispers are rendered (marked as such): filtering what a reader may see
// is the caller's job, before it calls Markdown.
func Markdown(d Document) []byte {
	var b bytes.Buffer
	title := d.Session.Title
	if title == "" {
		title = "Untitled session"
	}
	fmt.Fprintf(&b, "# %s\n\n", escapeInline(title))
	fmt.Fprintf(&b, "*Exported %s · %d messages*\n\n", d.ExportedAt.UTC().Format(time.RFC3339), len(d.Messages))
	if d.Session.Setting != "" {
		fmt.Fprintf(&b, "## Setting\n\n%s\n\n", escapeBlock(d.Session.Setting))
	}
	if d.Summary != nil && d.Summary.Content != "" {
		fmt.Fprintf(&b, "## Summary so far\n\n%s\n\n", escapeBlock(d.Summary.Content))
	}
	rolls := map[string][]Roll{}
	for _, r := range d.Rolls {
		rolls[r.MessageID] = append(rolls[r.MessageID], r)
	}
	changes := map[string][]SheetChange{}
	for _, c := range d.SheetChanges {
		changes[c.MessageID] = append(changes[c.MessageID], c)
	}
	b.WriteString("## Transcript\n\n")
	for _, m := range d.Messages {
		speaker := map[string]string{RoleDM: "DM", RoleSystem: "System"}[m.Role]
		if m.Role == RolePlayer {
			speaker = m.Author
			if speaker == "" {
				speaker = "Player"
			}
		}
		fmt.Fprintf(&b, "**%s**", escapeInline(speaker))
		if m.Visibility == VisibilityPrivate {
			to := make([]string, len(m.To))
			for i, t := range m.To {
				to[i] = escapeInline(t)
			}
			fmt.Fprintf(&b, " *(whisper to %s)*", strings.Join(to, ", "))
		}
		fmt.Fprintf(&b, "\n\n%s\n\n", escapeBlock(m.Content))
		for _, r := range rolls[m.ID] {
			b.WriteString("- 🎲 ")
			if r.Character != "" {
				fmt.Fprintf(&b, "%s: ", escapeInline(r.Character))
			}
			fmt.Fprintf(&b, "`%s` → %d", codeSpan(r.Notation), r.Total)
			if len(r.Dice) > 0 {
				values := make([]string, len(r.Dice))
				for i, d := range r.Dice {
					values[i] = strconv.Itoa(d.Value)
				}
				fmt.Fprintf(&b, " (%s)", strings.Join(values, ", "))
			}
			if r.DC != nil {
				fmt.Fprintf(&b, " vs DC %d", *r.DC)
			}
			if r.Outcome != "" {
				fmt.Fprintf(&b, ", %s", escapeInline(strings.ReplaceAll(r.Outcome, "_", " ")))
			}
			if r.Reason != "" {
				fmt.Fprintf(&b, " — %s", escapeInline(r.Reason))
			}
			b.WriteString("\n")
		}
		for _, c := range changes[m.ID] {
			fmt.Fprintf(&b, "- %s: `%s` %d → %d", escapeInline(c.Character), codeSpan(c.Path), c.From, c.To)
			if c.Reason != "" {
				fmt.Fprintf(&b, " — %s", escapeInline(c.Reason))
			}
			b.WriteString("\n")
		}
		if len(rolls[m.ID])+len(changes[m.ID]) > 0 {
			b.WriteString("\n")
		}
	}
	if len(d.Lore) > 0 {
		b.WriteString("## Lore\n\n")
		for _, e := range d.Lore {
			name := e.Title
			if name == "" && len(e.Keys) > 0 {
				name = e.Keys[0]
			}
			fmt.Fprintf(&b, "### %s\n\n", escapeInline(name))
			if len(e.Keys) > 0 {
				keys := make([]string, len(e.Keys))
				for i, k := range e.Keys {
					keys[i] = "`" + codeSpan(k) + "`"
				}
				fmt.Fprintf(&b, "Keys: %s", strings.Join(keys, ", "))
			}
			if e.Always {
				b.WriteString(" *(always)*")
			}
			if !e.Enabled {
				b.WriteString(" *(disabled)*")
			}
			fmt.Fprintf(&b, "\n\n%s\n\n", escapeBlock(e.Content))
		}
	}
	return b.Bytes()
}

// inlineSpecial are the characters that start Markdown inline syntax
// (emphasis, code, links, images, autolinks, HTML, tables, strikethrough)
// or are the escape character itself.
const inlineSpecial = "\\`*_[]<>|~!&#"

// escapeInline backslash-escapes Markdown syntax in a single-line text and
// folds line breaks into spaces.
func escapeInline(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(inlineSpecial, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// escapeBlock escapes a multi-line text: each line as inline text, plus the
// block markers a line may begin with (headings, quotes, lists, rules,
// setext underlines, indented code). Line breaks are kept as hard breaks.
func escapeBlock(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		l = strings.TrimLeft(l, " \t") // leading indentation would make a code block
		var b strings.Builder
		for _, r := range l {
			if strings.ContainsRune(inlineSpecial, r) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		e := b.String()
		switch {
		case e == "":
		case strings.ContainsRune("-+=>", rune(e[0])):
			e = "\\" + e
		default:
			// "1." or "1)" starts an ordered list
			j := 0
			for j < len(e) && e[j] >= '0' && e[j] <= '9' {
				j++
			}
			if j > 0 && j < len(e) && (e[j] == '.' || e[j] == ')') {
				e = e[:j] + "\\" + e[j:]
			}
		}
		lines[i] = e
	}
	return strings.Join(lines, "  \n")
}

// codeSpan makes s safe inside a single-backtick code span.
func codeSpan(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "`", "'")
}
