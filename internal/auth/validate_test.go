package auth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

func TestNormalizeEmailAccepts(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in, want string }{
		{"a plain address is kept", "ann@example.com", "ann@example.com"},
		{"surrounding whitespace is trimmed", " \t ann@example.com\n", "ann@example.com"},
		{"upper case is lowered", "Ann.Smith@Example.COM", "ann.smith@example.com"},
		{"plus addressing is kept", "ann+dawn@mail.example.org", "ann+dawn@mail.example.org"},
		{"a punycode domain is accepted", "ann@xn--bcher-kva.example", "ann@xn--bcher-kva.example"},
		{"an address of exactly 254 characters is accepted", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61), strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeEmail(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.LessOrEqual(t, len(got), MaxEmailLen)
		})
	}
}

func TestNormalizeEmailRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in string }{
		{"an empty address is refused", ""},
		{"a blank address is refused", "   "},
		{"an address without @ is refused", "ann.example.com"},
		{"an address without local part is refused", "@example.com"},
		{"an address without domain is refused", "ann@"},
		{"a domain without a dot is refused", "ann@localhost"},
		{"a display name is refused", "Ann <ann@example.com>"},
		{"angle brackets are refused", "<ann@example.com>"},
		{"a quoted local part is refused", `"ann smith"@example.com`},
		{"two @ are refused", "ann@b@example.com"},
		{"inner whitespace is refused", "ann smith@example.com"},
		{"a control character is refused", "ann\x00@example.com"},
		{"non-ASCII is refused", "änn@example.com"},
		{"an address literal is refused", "ann@[127.0.0.1]"},
		{"a domain label starting with a hyphen is refused", "ann@-example.com"},
		{"an empty domain label is refused", "ann@example..com"},
		{"a local part over 64 characters is refused", strings.Repeat("a", 65) + "@example.com"},
		{"an address over 254 characters is refused", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 62)},
		{"a comment is refused", "ann(comment)@example.com"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NormalizeEmail(tc.in)
			require.Error(t, err)
			require.Equal(t, apperr.Invalid, apperr.CodeOf(err))
			require.Contains(t, err.Error(), "email")
		})
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	t.Run("ten characters are enough", func(t *testing.T) {
		require.NoError(t, CheckPassword("0123456789"))
	})
	t.Run("characters are counted, not bytes", func(t *testing.T) {
		require.NoError(t, CheckPassword(strings.Repeat("ä", 10)))
		require.Error(t, CheckPassword(strings.Repeat("ä", 9)))
		require.NoError(t, CheckPassword(strings.Repeat("ä", MaxPasswordLen)))
	})
	t.Run("1024 characters are accepted", func(t *testing.T) {
		require.NoError(t, CheckPassword(strings.Repeat("x", MaxPasswordLen)))
	})
	for _, tc := range []struct{ name, in string }{
		{"an empty password is refused", ""},
		{"nine characters are refused", "012345678"},
		{"1025 characters are refused", strings.Repeat("x", MaxPasswordLen+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPassword(tc.in)
			require.Equal(t, apperr.Invalid, apperr.CodeOf(err))
			require.Contains(t, err.Error(), "password")
		})
	}
}

func TestNormalizeDisplayName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, want string }{
		{"a plain name is kept", "Aria", "Aria"},
		{"whitespace around is trimmed", "  Aria of the Dawn \n", "Aria of the Dawn"},
		{"non-ASCII letters are kept", "Ærwyn Dûnmar", "Ærwyn Dûnmar"},
		{"an emoji sequence with joiners is kept", "👨‍👩‍👧 Clan", "👨‍👩‍👧 Clan"},
		{"64 characters are accepted", strings.Repeat("é", 64), strings.Repeat("é", 64)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeDisplayName(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	for _, tc := range []struct{ name, in string }{
		{"an empty name is refused", ""},
		{"a blank name is refused", " \t "},
		{"65 characters are refused", strings.Repeat("é", 65)},
		{"a newline inside is refused", "Aria\nAdmin"},
		{"a NUL is refused", "Aria\x00"},
		{"an escape sequence is refused", "Aria\x1b[31m"},
		{"a right-to-left override is refused", "Aria\u202Enimda"},
		{"invalid UTF-8 is refused", "Aria\xff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NormalizeDisplayName(tc.in)
			require.Equal(t, apperr.Invalid, apperr.CodeOf(err))
			require.Contains(t, err.Error(), "display_name")
		})
	}
}

func TestIPKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, want string }{
		{"an IPv4 address is its own bucket", "203.0.113.7", "203.0.113.7"},
		{"an IPv4-mapped IPv6 address is its IPv4 bucket", "::ffff:203.0.113.7", "203.0.113.7"},
		{"an IPv6 address shares the bucket of its /64", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
		{"a zoned IPv6 address drops its zone", "fe80::1%eth0", "fe80::/64"},
		{"garbage goes to the unknown bucket", "not-an-ip", "unknown"},
		{"an empty address goes to the unknown bucket", "", "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, ipKey(tc.in))
		})
	}
}
