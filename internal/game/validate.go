package game

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/names"
)

// cleanText trims s and checks it is 1..max runes with no control characters.
func cleanText(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", apperr.Invalidf(field, "is required")
	}
	if err := checkText(field, s, max, false); err != nil {
		return "", err
	}
	if err := names.Check(s); err != nil {
		return "", apperr.Invalidf(field, "%v", err)
	}
	return s, nil
}

func checkText(field, s string, max int, allowNewlines bool) error {
	if !utf8.ValidString(s) {
		return apperr.Invalidf(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return apperr.Invalidf(field, "must be at most %d characters (got %d)", max, n)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(allowNewlines && (r == '\n' || r == '\t' || r == '\r')) {
			return apperr.Invalidf(field, "must not contain control characters")
		}
	}
	return nil
}

func checkLevel(level int) error {
	if level < 1 || level > 20 {
		return apperr.Invalidf("level", "must be between 1 and 20")
	}
	return nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// ValidateContent checks a player's message: 1..8000 characters.
func ValidateContent(content string) (string, error) {
	if strings.TrimSpace(content) == "" {
		return "", apperr.Invalidf("content", "must not be empty")
	}
	if err := checkText("content", content, MaxContentRunes, true); err != nil {
		return "", err
	}
	return content, nil
}

// ValidateIdempotencyKey checks the Idempotency-Key header ("" = none).
func ValidateIdempotencyKey(k string) error {
	if k == "" {
		return nil
	}
	if len(k) > MaxIdemKeyLen {
		return apperr.Invalidf("Idempotency-Key", "must be at most %d characters", MaxIdemKeyLen)
	}
	for _, r := range k {
		if r < 0x21 || r > 0x7e {
			return apperr.Invalidf("Idempotency-Key", "must be printable ASCII without spaces")
		}
	}
	return nil
}
