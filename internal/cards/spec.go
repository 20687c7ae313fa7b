package cards

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/lore"
)

// cardData is the "data" object of V2 and V3 (V3 is a superset; fields this
// service does not use, such as assets and extensions, are ignored on read).
type cardData struct {
	Name                    string         `json:"name"`
	Description             string         `json:"description"`
	Personality             string         `json:"personality"`
	Scenario                string         `json:"scenario"`
	FirstMes                string         `json:"first_mes"`
	MesExample              string         `json:"mes_example"`
	CreatorNotes            string         `json:"creator_notes"`
	SystemPrompt            string         `json:"system_prompt"`
	PostHistoryInstructions string         `json:"post_history_instructions"`
	AlternateGreetings      []string       `json:"alternate_greetings"`
	Tags                    []string       `json:"tags"`
	Creator                 string         `json:"creator"`
	CharacterVersion        string         `json:"character_version"`
	CharacterBook           *characterBook `json:"character_book"`
}

type characterBook struct {
	Name    string      `json:"name"`
	Entries []bookEntry `json:"entries"`
}

type bookEntry struct {
	Keys           []string `json:"keys"`
	SecondaryKeys  []string `json:"secondary_keys"`
	Content        string   `json:"content"`
	Enabled        *bool    `json:"enabled"`
	InsertionOrder float64  `json:"insertion_order"`
	CaseSensitive  bool     `json:"case_sensitive"`
	Constant       bool     `json:"constant"`
	Name           string   `json:"name"`
	Comment        string   `json:"comment"`
	Priority       float64  `json:"priority"`
	Position       string   `json:"position"`
}

// checkText refuses a field longer than max runes.
func checkText(field, s string, max int) error {
	if n := utf8.RuneCountInString(s); n > max {
		return fail(ReasonTooLarge, field, "at most %d characters (got %d)", max, n)
	}
	return nil
}

func (d *cardData) toCharacter(card *Card) error {
	d.Name = strings.TrimSpace(d.Name)
	if d.Name == "" {
		return fail(ReasonMissing, "name", "is required")
	}
	if err := checkText("name", d.Name, MaxNameRunes); err != nil {
		return err
	}
	for _, f := range []struct {
		name, value string
	}{
		{"description", d.Description}, {"personality", d.Personality}, {"scenario", d.Scenario},
		{"first_mes", d.FirstMes}, {"mes_example", d.MesExample}, {"creator_notes", d.CreatorNotes},
		{"system_prompt", d.SystemPrompt}, {"post_history_instructions", d.PostHistoryInstructions},
		{"creator", d.Creator}, {"character_version", d.CharacterVersion},
	} {
		if err := checkText(f.name, f.value, MaxTextRunes); err != nil {
			return err
		}
	}
	if len(d.AlternateGreetings) > MaxGreetings {
		return fail(ReasonTooLarge, "alternate_greetings", "at most %d greetings (got %d)", MaxGreetings, len(d.AlternateGreetings))
	}
	for i, g := range d.AlternateGreetings {
		if err := checkText(fmt.Sprintf("alternate_greetings[%d]", i), g, MaxTextRunes); err != nil {
			return err
		}
	}
	if len(d.Tags) > MaxTags {
		return fail(ReasonTooLarge, "tags", "at most %d tags (got %d)", MaxTags, len(d.Tags))
	}
	for i, tag := range d.Tags {
		if err := checkText(fmt.Sprintf("tags[%d]", i), tag, MaxTagRunes); err != nil {
			return err
		}
	}
	c := Character{
		Name: d.Name, Description: d.Description, Personality: d.Personality, Scenario: d.Scenario,
		FirstMessage: d.FirstMes, MessageExamples: d.MesExample, AlternateGreetings: d.AlternateGreetings,
		SystemPrompt: d.SystemPrompt, PostHistoryInstructions: d.PostHistoryInstructions,
		CreatorNotes: d.CreatorNotes, Creator: d.Creator, CharacterVersion: d.CharacterVersion, Tags: d.Tags,
	}
	if b := d.CharacterBook; b != nil {
		if err := checkText("character_book.name", b.Name, MaxLoreNameRunes); err != nil {
			return err
		}
		c.BookName = b.Name
		if len(b.Entries) > MaxLoreEntries {
			return fail(ReasonTooLarge, "character_book.entries", "at most %d entries (got %d)", MaxLoreEntries, len(b.Entries))
		}
		for i, e := range b.Entries {
			le, warns, err := e.toLore(fmt.Sprintf("character_book.entries[%d]", i))
			card.Warnings = append(card.Warnings, warns...)
			if errors.Is(err, errDropped) {
				continue
			}
			if err != nil {
				return err
			}
			c.Lore = append(c.Lore, le)
		}
	}
	card.Character = c
	return nil
}

func (e bookEntry) toLore(field string) (LoreEntry, []string, error) {
	if err := checkText(field+".content", e.Content, MaxContentRunes); err != nil {
		return LoreEntry{}, nil, err
	}
	title := e.Name
	if title == "" {
		title = e.Comment
	}
	title = truncate(strings.TrimSpace(title), MaxLoreNameRunes)
	var warns []string
	keys := func(name string, in []string) ([]string, error) {
		if len(in) > MaxKeysPerEntry {
			return nil, fail(ReasonTooLarge, field+"."+name, "at most %d keys (got %d)", MaxKeysPerEntry, len(in))
		}
		var out []string
		for _, k := range in {
			k = strings.TrimSpace(k)
			if err := checkText(field+"."+name, k, MaxKeyRunes); err != nil {
				return nil, err
			}
			if utf8.RuneCountInString(k) < lore.MinKeyRunes {
				if k != "" {
					warns = append(warns, fmt.Sprintf("%s: key %q dropped: keys need at least %d characters", field, k, lore.MinKeyRunes))
				}
				continue
			}
			out = append(out, k)
		}
		return out, nil
	}
	primary, err := keys("keys", e.Keys)
	if err != nil {
		return LoreEntry{}, nil, err
	}
	secondary, err := keys("secondary_keys", e.SecondaryKeys)
	if err != nil {
		return LoreEntry{}, nil, err
	}
	pos := e.Position
	if pos != "before_char" && pos != "after_char" {
		pos = ""
	}
	le := LoreEntry{
		Title: title, Keys: primary, SecondaryKeys: secondary, Content: e.Content,
		Constant: e.Constant, Enabled: e.Enabled == nil || *e.Enabled, InsertionOrder: clampInt(e.InsertionOrder),
		Priority: clampInt(e.Priority), CaseSensitive: e.CaseSensitive, Position: pos,
	}
	// Sizes were refused above (a huge card is a bad card); what is left
	// for the lorebook's own rules (an entry that can never fire, a key of
	// punctuation, empty content) costs the entry, not the card.
	valid, lw, err := lore.Validate(le.ToLore())
	if err != nil {
		msg := err.Error()
		if ae, ok := apperr.As(err); ok {
			msg = ae.Message
		}
		return LoreEntry{}, append(warns, fmt.Sprintf("%s: entry dropped: %s", field, msg)), errDropped
	}
	for _, w := range lw {
		warns = append(warns, fmt.Sprintf("%s: key %q may fire too often (%s)", field, w.Key, w.Code))
	}
	le.Title, le.Content = valid.Title, valid.Content
	if len(valid.Keys) > 0 {
		le.Keys = valid.Keys
	}
	return le, warns, nil
}

// errDropped is toLore's signal that an entry was left out (with a warning).
var errDropped = errors.New("cards: lore entry dropped")

func clampInt(f float64) int {
	if math.IsNaN(f) {
		return 0
	}
	return int(math.Max(-1e9, math.Min(1e9, f)))
}

// ToLore converts a card's lorebook entry to a lore entry (without ID) for
// lore.Validate; secondary keys, order and position have no place in the
// project's lorebook and are dropped.
func (e LoreEntry) ToLore() lore.Entry {
	return lore.Entry{Title: e.Title, Keys: e.Keys, Content: e.Content, Always: e.Constant, Enabled: e.Enabled}
}
