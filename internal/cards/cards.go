// Package cards reads and writes Tavern character cards, the format the
// role-play ecosystem (SillyTavern, RisuAI, Agnai, Chub) exchanges
// characters in: Character Card V2 ("chara_card_v2", PNG text chunk
// "chara") and V3 ("chara_card_v3", chunk "ccv3"), each base64 JSON in a PNG
// tEXt/zTXt/iTXt chunk, or the JSON itself. It is pure: bytes in, a domain
// Character out, and back.
package cards

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/lore"
)

// Limits on a card. A card is foreign data from the internet: every field
// is capped, and the lorebook within the lore package's limits so that an
// imported book can be stored as it is.
const (
	MaxCardBytes     = 16 << 20 // the whole upload, image included
	MaxJSONBytes     = 4 << 20  // one card's JSON (after base64 and inflation)
	MaxNameRunes     = 128
	MaxTextRunes     = 32000 // description, personality, scenario, first message, …
	MaxGreetings     = 32
	MaxTags          = 64
	MaxTagRunes      = 64
	MaxLoreEntries   = lore.MaxEntriesPerSession
	MaxKeysPerEntry  = lore.MaxKeysPerEntry
	MaxKeyRunes      = lore.MaxKeyRunes
	MaxContentRunes  = lore.MaxContentRunes
	MaxLoreNameRunes = lore.MaxTitleRunes
)

// Spec names of the two card versions.
const (
	SpecV2 = "chara_card_v2"
	SpecV3 = "chara_card_v3"
)

// Character is what a card describes, in the project's terms.
type Character struct {
	Name                    string
	Description             string
	Personality             string
	Scenario                string
	FirstMessage            string
	MessageExamples         string
	AlternateGreetings      []string
	SystemPrompt            string
	PostHistoryInstructions string
	CreatorNotes            string
	Creator                 string
	CharacterVersion        string
	Tags                    []string
	// BookName is the embedded lorebook's name, if it has one.
	BookName string
	Lore     []LoreEntry
}

// LoreEntry is one entry of a card's embedded lorebook (character_book).
type LoreEntry struct {
	// Title is the entry's name, or its comment when it has no name.
	Title         string
	Keys          []string
	SecondaryKeys []string
	Content       string
	// Constant entries are always included (lore.Entry.Always).
	Constant       bool
	Enabled        bool
	InsertionOrder int
	Priority       int
	CaseSensitive  bool
	// Position is "before_char", "after_char" or empty.
	Position string
}

// Card is a parsed card: its spec and the character.
type Card struct {
	Spec      string // SpecV2 or SpecV3; V1 cards are read as SpecV2
	Character Character
	// Warnings are things dropped on the way in that the player may want
	// to know about (for example a lore key too short to keep).
	Warnings []string
}

// Reason is why a card was refused.
type Reason string

// Reasons a card is refused. ReasonNotPNG, ReasonCorruptPNG, ReasonBadBase64
// and ReasonBadJSON are malformed input (400, apperr.Invalid); the others
// are well-formed input the service cannot accept (422,
// apperr.Unprocessable).
const (
	ReasonNotPNG      Reason = "not_png"
	ReasonCorruptPNG  Reason = "corrupt_png"
	ReasonNoCard      Reason = "no_card"
	ReasonBadBase64   Reason = "bad_base64"
	ReasonBadJSON     Reason = "bad_json"
	ReasonUnknownSpec Reason = "unknown_spec"
	ReasonTooLarge    Reason = "too_large"
	ReasonMissing     Reason = "missing_field"
)

// Error is a refused card. It is always wrapped in an *apperr.Error whose
// code maps it to 400 or 422; errors.As finds it for the Reason.
type Error struct {
	Reason Reason
	Field  string // the card field at fault, when there is one (JSON name)
	Msg    string
}

func (e *Error) Error() string { return "card: " + e.Msg }

func fail(r Reason, field, format string, args ...any) error {
	e := &Error{Reason: r, Field: field, Msg: fmt.Sprintf(format, args...)}
	code := apperr.Unprocessable
	switch r {
	case ReasonNotPNG, ReasonCorruptPNG, ReasonBadBase64, ReasonBadJSON:
		code = apperr.Invalid
	}
	msg := e.Msg
	if field != "" {
		msg = field + ": " + msg
	}
	return apperr.Wrap(e, code, "character card: %s", msg)
}

// Parse reads a card from a PNG (by its signature) or from JSON.
func Parse(b []byte) (*Card, error) {
	if len(b) > MaxCardBytes {
		return nil, fail(ReasonTooLarge, "", "the card is larger than %d MiB", MaxCardBytes>>20)
	}
	if bytes.HasPrefix(b, pngSignature) {
		return ParsePNG(b)
	}
	trimmed := bytes.TrimLeft(b, " \t\r\n\ufeff")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return ParseJSON(trimmed)
	}
	return nil, fail(ReasonNotPNG, "", "the file is neither a PNG image nor card JSON")
}

// ParsePNG reads the card embedded in a PNG. When both a "ccv3" and a
// "chara" chunk are present the V3 one wins, as in SillyTavern and RisuAI
// (writers keep the V2 copy for older readers).
func ParsePNG(b []byte) (*Card, error) {
	if len(b) > MaxCardBytes {
		return nil, fail(ReasonTooLarge, "", "the card is larger than %d MiB", MaxCardBytes>>20)
	}
	chunks, err := readChunks(b)
	if err != nil {
		return nil, err
	}
	var v2, v3 *chunk
	for i := range chunks {
		c := &chunks[i]
		switch cardKeyword(*c) {
		case "ccv3":
			if v3 == nil {
				v3 = c
			}
		case "chara":
			if v2 == nil {
				v2 = c
			}
		}
	}
	c := v3
	if c == nil {
		c = v2
	}
	if c == nil {
		return nil, fail(ReasonNoCard, "", "the PNG has no \"chara\" or \"ccv3\" text chunk")
	}
	// base64 is 4/3 of the JSON, plus slack for line breaks.
	_, text, err := textChunk(*c, MaxJSONBytes*4/3+1024)
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Map(dropSpace, string(text)))
	if err != nil {
		// Some writers drop the padding.
		if raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.Map(dropSpace, string(text)), "=")); err != nil {
			return nil, fail(ReasonBadBase64, "", "the card chunk is not valid base64")
		}
	}
	return ParseJSON(raw)
}

func dropSpace(r rune) rune {
	if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
		return -1
	}
	return r
}

// ParseJSON reads a V1, V2 or V3 card from its JSON.
func ParseJSON(b []byte) (*Card, error) {
	if len(b) > MaxJSONBytes {
		return nil, fail(ReasonTooLarge, "", "the card JSON is larger than %d MiB", MaxJSONBytes>>20)
	}
	if !utf8.Valid(b) {
		return nil, fail(ReasonBadJSON, "", "the card JSON is not valid UTF-8")
	}
	var head struct {
		Spec        string          `json:"spec"`
		SpecVersion json.RawMessage `json:"spec_version"`
		Data        json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fail(ReasonBadJSON, "", "the card is not valid JSON: %s", jsonReason(err))
	}
	var data cardData
	var spec string
	switch head.Spec {
	case SpecV2, SpecV3:
		spec = head.Spec
		if len(head.Data) == 0 || string(head.Data) == "null" {
			return nil, fail(ReasonMissing, "data", "is required")
		}
		if err := json.Unmarshal(head.Data, &data); err != nil {
			return nil, fail(ReasonBadJSON, "data", "%s", jsonReason(err))
		}
	case "":
		// V1: the fields at the top level, no lorebook.
		spec = SpecV2
		if err := json.Unmarshal(b, &data); err != nil {
			return nil, fail(ReasonBadJSON, "", "%s", jsonReason(err))
		}
		data.CharacterBook = nil
	default:
		return nil, fail(ReasonUnknownSpec, "spec", "%q is not a card spec this service reads (chara_card_v2, chara_card_v3)", truncate(head.Spec, 40))
	}
	card := &Card{Spec: spec}
	if err := data.toCharacter(card); err != nil {
		return nil, err
	}
	return card, nil
}

func jsonReason(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("syntax error at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Sprintf("field %s has the wrong type (want %s)", e.Field, e.Type)
	}
	return "malformed"
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
