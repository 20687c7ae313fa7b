// Package export is the session export format: versioned JSON (documented
// in docs/EXPORT.md) with its encoder, a validating decoder for imports, and
// the Markdown transcript. It is pure: it takes data and returns bytes;
// reading the session and writing to the exports bucket are the caller's.
package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/lore"
	"github.com/codeofconquest/brightdawn/internal/rules"
)

// Format names the document type; Version is the version this build
// writes. It reads Version and every earlier version (MinVersion on),
// converting an older document to the current shape (v1.go).
const (
	Format     = "brightdawn.session"
	Version    = 2
	MinVersion = 1
)

// Limits on an import. An export of a session within them always imports.
const (
	MaxBytes          = 64 << 20
	MaxMessages       = 20000
	MaxMessageRunes   = 32000
	MaxTitleRunes     = 200
	MaxSettingRunes   = 8000
	MaxRolls          = 50000
	MaxSheetChanges   = 50000
	MaxSummaryRunes   = 32000
	MaxIDBytes        = 64
	MaxNameRunes      = 100
	MaxExpressionLen  = 200
	MaxDice           = 1000
	MaxSheetValueSize = 4096
)

// Message roles and visibilities.
const (
	RolePlayer = "player"
	RoleDM     = "dm"
	RoleSystem = "system"

	VisibilityPublic  = "public"
	VisibilityPrivate = "private"
)

// Document is one exported session (format version 2).
type Document struct {
	Format       string        `json:"format"`
	Version      int           `json:"version"`
	ExportedAt   time.Time     `json:"exported_at"`
	Session      Session       `json:"session"`
	Messages     []Message     `json:"messages"`
	Rolls        []Roll        `json:"rolls"`
	SheetChanges []SheetChange `json:"sheet_changes"`
	Lore         []lore.Entry  `json:"lore"`
	Summary      *Summary      `json:"summary"`

	// Skipped says what reading an older version had to leave out
	// (v1.go); it is not part of the document.
	Skipped []Skip `json:"-"`
}

// Skip is a part of an export that an import leaves out, and why.
type Skip struct {
	What   string `json:"what"` // "rolls", "sheet_changes"
	Count  int    `json:"count"`
	Reason string `json:"reason"`
}

// Session is the exported session's own fields.
type Session struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Setting   string    `json:"setting,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Message is one message of the session's selected history, in order.
type Message struct {
	ID      string `json:"id"`
	Role    string `json:"role"`
	Author  string `json:"author,omitempty"` // display name of the player who wrote it
	Content string `json:"content"`
	// Visibility is "public" or "private" (API.md message.visibility); a private message names its recipients.
	Visibility string    `json:"visibility"`
	To         []string  `json:"to,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// Roll is a dice roll: the API's roll (internal/dice.Roll: notation,
// reason, dice, modifier, total, dc, outcome, index) with the message it
// belongs to — the DM's reply of the turn that rolled it (the player's
// message when the turn has no reply), or for a player's own roll the
// message that announced it — and who rolled.
type Roll struct {
	MessageID string `json:"message_id"`
	Actor     string `json:"actor"`               // "dm" or "player"
	Character string `json:"character,omitempty"` // the rolling character's name, when known
	dice.Roll
}

// Roll actors.
const (
	ActorDM     = "dm"
	ActorPlayer = "player"
)

// SheetChange is one change the rules engine made to a character's sheet
// (internal/rules.Change: path, from, to, reason), with the message of
// the turn that made it and the character's name.
type SheetChange struct {
	MessageID string    `json:"message_id"`
	Character string    `json:"character"`
	At        time.Time `json:"at"`
	rules.Change
}

// Summary is the session's rolling summary and the message it covers up to.
type Summary struct {
	Content          string    `json:"content"`
	ThroughMessageID string    `json:"through_message_id"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// Encode writes d as indented JSON, filling in Format and Version. It
// validates first, so nothing is exported that could not be imported.
func Encode(d Document) ([]byte, error) {
	d.Format, d.Version = Format, Version
	if d.Messages == nil {
		d.Messages = []Message{}
	}
	if d.Rolls == nil {
		d.Rolls = []Roll{}
	}
	if d.SheetChanges == nil {
		d.SheetChanges = []SheetChange{}
	}
	// Validate normalises lore in place: work on a copy, not the caller's.
	d.Lore = append([]lore.Entry{}, d.Lore...)
	if err := Validate(&d); err != nil {
		return nil, err
	}
	return json.MarshalIndent(d, "", "  ")
}

// Decode reads and validates an export for import. It reads at most
// MaxBytes, refuses another format or version before looking further, and
// refuses unknown fields, so a mistyped or newer file fails with a reason
// rather than importing half of itself.
func Decode(r io.Reader) (*Document, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("export: reading: %w", err)
	}
	if len(b) > MaxBytes {
		return nil, apperr.New(apperr.TooLarge, "export: the file is larger than %d MiB", MaxBytes>>20)
	}
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, apperr.Invalidf("export", "%s", jsonReason(err))
	}
	if head.Format != Format {
		return nil, apperr.Invalidf("format", "must be %q", Format)
	}
	if head.Version < MinVersion || head.Version > Version {
		return nil, apperr.New(apperr.Unprocessable, "version: export version %d is not supported (this server reads versions %d to %d)", head.Version, MinVersion, Version)
	}
	var d Document
	if head.Version == 1 {
		var v1 documentV1
		if err := decodeStrict(b, &v1); err != nil {
			return nil, err
		}
		d = v1.upgrade()
	} else if err := decodeStrict(b, &d); err != nil {
		return nil, err
	}
	if err := Validate(&d); err != nil {
		return nil, err
	}
	return &d, nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apperr.Invalidf("export", "%s", jsonReason(err))
	}
	if dec.More() {
		return apperr.Invalidf("export", "trailing data after the document")
	}
	return nil
}

func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %s has the wrong type (want %s)", te.Field, te.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "malformed JSON"
}

// Validate checks a document against the format and the import limits,
// naming the first field at fault (apperr.Invalid). Lore entries are
// normalised as lore.Validate does.
func Validate(d *Document) error {
	if d.Format != Format {
		return apperr.Invalidf("format", "must be %q", Format)
	}
	if d.Version != Version {
		return apperr.New(apperr.Unprocessable, "version: export version %d is not supported here (want %d)", d.Version, Version)
	}
	if err := checkRunes("session.title", d.Session.Title, MaxTitleRunes); err != nil {
		return err
	}
	if err := checkRunes("session.setting", d.Session.Setting, MaxSettingRunes); err != nil {
		return err
	}
	if err := checkID("session.id", d.Session.ID, true); err != nil {
		return err
	}
	if len(d.Messages) > MaxMessages {
		return apperr.Invalidf("messages", "at most %d messages (got %d)", MaxMessages, len(d.Messages))
	}
	ids := make(map[string]bool, len(d.Messages))
	for i, m := range d.Messages {
		f := fmt.Sprintf("messages[%d]", i)
		if err := checkID(f+".id", m.ID, false); err != nil {
			return err
		}
		if ids[m.ID] {
			return apperr.Invalidf(f+".id", "%q appears twice", m.ID)
		}
		ids[m.ID] = true
		switch m.Role {
		case RolePlayer, RoleDM, RoleSystem:
		default:
			return apperr.Invalidf(f+".role", "must be player, dm or system")
		}
		switch m.Visibility {
		case VisibilityPublic:
			if len(m.To) > 0 {
				return apperr.Invalidf(f+".to", "only private messages have recipients")
			}
		case VisibilityPrivate:
			if len(m.To) == 0 || len(m.To) > 32 {
				return apperr.Invalidf(f+".to", "a private message names 1 to 32 recipients")
			}
			for _, to := range m.To {
				if err := checkRunes(f+".to", to, MaxNameRunes); err != nil {
					return err
				}
			}
		default:
			return apperr.Invalidf(f+".visibility", "must be public or private")
		}
		if err := checkRunes(f+".author", m.Author, MaxNameRunes); err != nil {
			return err
		}
		if err := checkRunes(f+".content", m.Content, MaxMessageRunes); err != nil {
			return err
		}
	}
	if len(d.Rolls) > MaxRolls {
		return apperr.Invalidf("rolls", "at most %d rolls (got %d)", MaxRolls, len(d.Rolls))
	}
	for i, r := range d.Rolls {
		f := fmt.Sprintf("rolls[%d]", i)
		if !ids[r.MessageID] {
			return apperr.Invalidf(f+".message_id", "names no message of the export")
		}
		if r.Actor != ActorDM && r.Actor != ActorPlayer {
			return apperr.Invalidf(f+".actor", "must be dm or player")
		}
		if err := checkRunes(f+".character", r.Character, MaxNameRunes); err != nil {
			return err
		}
		if len(r.Notation) > MaxExpressionLen || !utf8.ValidString(r.Notation) {
			return apperr.Invalidf(f+".notation", "at most %d bytes of UTF-8", MaxExpressionLen)
		}
		if len(r.Dice) > MaxDice {
			return apperr.Invalidf(f+".dice", "at most %d dice", MaxDice)
		}
		for j, die := range r.Dice {
			if die.Sides < 0 || die.Sides > 1000 || die.Value < 0 || die.Value > max(die.Sides, 1000) {
				return apperr.Invalidf(fmt.Sprintf("%s.dice[%d]", f, j), "sides and value must be between 0 and 1000")
			}
		}
		if err := checkRunes(f+".reason", r.Reason, MaxNameRunes*4); err != nil {
			return err
		}
		if err := checkRunes(f+".outcome", r.Outcome, 32); err != nil {
			return err
		}
	}
	if len(d.SheetChanges) > MaxSheetChanges {
		return apperr.Invalidf("sheet_changes", "at most %d changes (got %d)", MaxSheetChanges, len(d.SheetChanges))
	}
	for i, c := range d.SheetChanges {
		f := fmt.Sprintf("sheet_changes[%d]", i)
		if !ids[c.MessageID] {
			return apperr.Invalidf(f+".message_id", "names no message of the export")
		}
		if err := checkRunes(f+".character", c.Character, MaxNameRunes); err != nil {
			return err
		}
		if c.Path == "" {
			return apperr.Invalidf(f+".path", "is required")
		}
		if err := checkRunes(f+".path", c.Path, MaxNameRunes*2); err != nil {
			return err
		}
		if err := checkRunes(f+".reason", c.Reason, MaxNameRunes*4); err != nil {
			return err
		}
	}
	if len(d.Lore) > lore.MaxEntriesPerSession {
		return apperr.Invalidf("lore", "at most %d entries (got %d)", lore.MaxEntriesPerSession, len(d.Lore))
	}
	for i, e := range d.Lore {
		ne, _, err := lore.Validate(e)
		if err != nil {
			ae, _ := apperr.As(err)
			return apperr.Invalidf(fmt.Sprintf("lore[%d]", i), "%s", ae.Message)
		}
		d.Lore[i] = ne
	}
	if s := d.Summary; s != nil {
		if err := checkRunes("summary.content", s.Content, MaxSummaryRunes); err != nil {
			return err
		}
		if !ids[s.ThroughMessageID] {
			return apperr.Invalidf("summary.through_message_id", "names no message of the export")
		}
	}
	return nil
}

func checkRunes(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return apperr.Invalidf(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return apperr.Invalidf(field, "at most %d characters (got %d)", max, n)
	}
	return nil
}

func checkID(field, id string, optional bool) error {
	if id == "" && optional {
		return nil
	}
	if id == "" || len(id) > MaxIDBytes || !utf8.ValidString(id) {
		return apperr.Invalidf(field, "must be 1 to %d bytes", MaxIDBytes)
	}
	return nil
}
