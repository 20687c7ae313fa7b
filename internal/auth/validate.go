package auth

import (
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/names"
)

// Input limits.
const (
	MinPasswordLen    = 10   // characters
	MaxPasswordLen    = 1024 // characters; bounds the work of one hash
	MaxEmailLen       = 254  // RFC 5321 path limit
	maxLocalPartLen   = 64
	maxDomainLabelLen = 63
	MaxDisplayNameLen = 64 // characters
)

// NormalizeEmail trims and lower-cases an address and checks that it is a
// plain addr-spec (no display name, no quoting, no comments), printable
// ASCII and within the RFC 5321 length limits. ASCII only, because Go's and
// Postgres's lower-casing agree on ASCII, and the unique index is on
// lower(email).
func NormalizeEmail(raw string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(raw))
	if e == "" {
		return "", apperr.Invalidf("email", "is required")
	}
	if len(e) > MaxEmailLen {
		return "", apperr.Invalidf("email", "must be at most %d characters", MaxEmailLen)
	}
	for i := 0; i < len(e); i++ {
		if e[i] <= ' ' || e[i] >= 0x7f {
			return "", apperr.Invalidf("email", "must be a valid email address")
		}
	}
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Name != "" || addr.Address != e {
		return "", apperr.Invalidf("email", "must be a valid email address")
	}
	at := strings.LastIndexByte(e, '@')
	local, domain := e[:at], e[at+1:]
	if len(local) == 0 || len(local) > maxLocalPartLen {
		return "", apperr.Invalidf("email", "must be a valid email address")
	}
	if !validDomain(domain) {
		return "", apperr.Invalidf("email", "must be a valid email address")
	}
	return e, nil
}

// validDomain accepts a dotted host name of letters, digits and hyphens
// (punycode for international names); address literals are refused.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > maxDomainLabelLen || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// CheckPassword enforces the length policy (NIST 800-63B: length, not
// composition rules).
func CheckPassword(pw string) error {
	if pw == "" {
		return apperr.Invalidf("password", "is required")
	}
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLen {
		return apperr.Invalidf("password", "must be at least %d characters", MinPasswordLen)
	}
	if n > MaxPasswordLen {
		return apperr.Invalidf("password", "must be at most %d characters", MaxPasswordLen)
	}
	return nil
}

// NormalizeDisplayName trims a display name and checks its length and that
// it holds no control characters or bidirectional overrides (which could
// disguise a name as someone else's in the client).
func NormalizeDisplayName(raw string) (string, error) {
	n := strings.TrimSpace(raw)
	if n == "" {
		return "", apperr.Invalidf("display_name", "is required")
	}
	if !utf8.ValidString(n) {
		return "", apperr.Invalidf("display_name", "must be valid UTF-8")
	}
	if utf8.RuneCountInString(n) > MaxDisplayNameLen {
		return "", apperr.Invalidf("display_name", "must be at most %d characters", MaxDisplayNameLen)
	}
	if err := names.Check(n); err != nil {
		return "", apperr.Invalidf("display_name", "%v", err)
	}
	return n, nil
}
