// Package lore is the lorebook: keyword-triggered world info. An entry enters
// a turn's prompt when one of its keys occurs in the recent messages (or it is
// "always"), within a token budget. This package is pure: validation,
// matching and budgeting; storing entries is the caller's business.
package lore

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
)

// Limits on what a player may put into a lorebook. A key shorter than
// MinKeyRunes is refused outright: one-letter keys fire on nearly every
// message, the most common lorebook complaint in peers' trackers.
const (
	MaxEntriesPerSession = 200
	MaxKeysPerEntry      = 20
	MinKeyRunes          = 2
	MaxKeyRunes          = 64
	MaxTitleRunes        = 120
	MaxContentRunes      = 4000
)

// Entry is one lorebook entry.
type Entry struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Keys    []string `json:"keys"`
	Content string   `json:"content"`
	// Always puts the entry into every prompt (budget permitting), keys or not.
	Always  bool `json:"always"`
	Enabled bool `json:"enabled"`
}

// WarningCode says why a key is likely to misfire.
type WarningCode string

// Warning codes. Keys with a warning are kept: the player may mean them, but
// the client should show the warning beside the key.
const (
	// WarnShortKey: a two-letter key ("it", "Al") matches many words'
	// worth of text; it is allowed but flagged.
	WarnShortKey WarningCode = "short_key"
	// WarnCommonWord: the key is an everyday word that appears in most
	// messages, so the entry would be in nearly every prompt.
	WarnCommonWord WarningCode = "common_word"
)

// Warning flags a key that is valid but likely to fire where it should not.
type Warning struct {
	Key  string      `json:"key"`
	Code WarningCode `json:"code"`
}

// Validate checks and normalises an entry for storing: title and content
// trimmed, keys trimmed, empty and duplicate (case-insensitive) keys removed.
// It refuses (apperr.Invalid, naming the field) keys shorter than MinKeyRunes
// or longer than MaxKeyRunes, too many keys, an over-long title or content,
// and an entry with neither keys nor Always (it could never enter a prompt).
// Keys that are valid but likely to misfire come back as warnings.
func Validate(e Entry) (Entry, []Warning, error) {
	e.Title = strings.TrimSpace(e.Title)
	e.Content = strings.TrimSpace(e.Content)
	if n := utf8.RuneCountInString(e.Title); n > MaxTitleRunes {
		return Entry{}, nil, apperr.Invalidf("title", "at most %d characters (got %d)", MaxTitleRunes, n)
	}
	if e.Content == "" {
		return Entry{}, nil, apperr.Invalidf("content", "is required")
	}
	if n := utf8.RuneCountInString(e.Content); n > MaxContentRunes {
		return Entry{}, nil, apperr.Invalidf("content", "at most %d characters (got %d)", MaxContentRunes, n)
	}
	if !utf8.ValidString(e.Title) || !utf8.ValidString(e.Content) {
		return Entry{}, nil, apperr.Invalidf("content", "must be valid UTF-8")
	}
	keys := make([]string, 0, len(e.Keys))
	seen := map[string]bool{}
	var warnings []Warning
	for i, k := range e.Keys {
		k = strings.Join(strings.Fields(k), " ")
		if k == "" {
			continue
		}
		if !utf8.ValidString(k) {
			return Entry{}, nil, apperr.Invalidf(keyField(i), "must be valid UTF-8")
		}
		n := utf8.RuneCountInString(k)
		if n < MinKeyRunes {
			return Entry{}, nil, apperr.Invalidf(keyField(i), "%q is too short: keys need at least %d characters, or they match almost every message", k, MinKeyRunes)
		}
		if n > MaxKeyRunes {
			return Entry{}, nil, apperr.Invalidf(keyField(i), "at most %d characters (got %d)", MaxKeyRunes, n)
		}
		if len(foldWords(k)) == 0 {
			return Entry{}, nil, apperr.Invalidf(keyField(i), "%q has no letters or digits to match", k)
		}
		low := strings.ToLower(k)
		if seen[low] {
			continue
		}
		seen[low] = true
		keys = append(keys, k)
		if w, ok := keyWarning(k); ok {
			warnings = append(warnings, Warning{Key: k, Code: w})
		}
	}
	if len(keys) > MaxKeysPerEntry {
		return Entry{}, nil, apperr.Invalidf("keys", "at most %d keys per entry (got %d)", MaxKeysPerEntry, len(keys))
	}
	if len(keys) == 0 && !e.Always {
		return Entry{}, nil, apperr.Invalidf("keys", "an entry needs at least one key unless it is always included")
	}
	e.Keys = keys
	return e, warnings, nil
}

// CheckKey returns the warning for a single key, if it is likely to misfire.
// The client may call it (through the API) while the player types.
func CheckKey(key string) (WarningCode, bool) { return keyWarning(strings.TrimSpace(key)) }

func keyWarning(k string) (WarningCode, bool) {
	words := foldWords(k)
	if len(words) == 1 && (commonWords[words[0].text] || len(embed.Keywords(k)) == 0) {
		return WarnCommonWord, true
	}
	if utf8.RuneCountInString(k) <= 2 {
		return WarnShortKey, true
	}
	return "", false
}

func keyField(i int) string { return "keys[" + strconv.Itoa(i) + "]" }

// commonWords add to memory's stop words (which embed.Keywords drops)
// everyday words of a role-play and the game's own vocabulary: a key made of
// one of them makes its entry fire on nearly every turn.
var commonWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		go goes went get got say says said see saw look looks looked take took
		make made come came one two yes ok okay hand eyes head back time way
		day man woman people thing dm player character attack roll turn`) {
		m[w] = true
	}
	return m
}()
