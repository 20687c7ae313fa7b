package assets

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

func ptr[T any](v T) *T { return &v }

func TestValidateCreate(t *testing.T) {
	t.Parallel()
	t.Run("accepted", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			in   CreateInput
			want CreateInput
		}{
			{"a png portrait", CreateInput{Kind: "portrait", ContentType: "image/png", Size: 1}, CreateInput{Kind: "portrait", ContentType: "image/png", Size: 1}},
			{"a portrait at exactly the limit", CreateInput{Kind: "portrait", ContentType: "image/webp", Size: 5 << 20}, CreateInput{Kind: "portrait", ContentType: "image/webp", Size: 5 << 20}},
			{"a map of 10 MiB", CreateInput{Kind: "map", ContentType: "image/jpeg", Size: 10 << 20}, CreateInput{Kind: "map", ContentType: "image/jpeg", Size: 10 << 20}},
			{"a json sheet", CreateInput{Kind: "sheet", ContentType: "application/json", Size: 100}, CreateInput{Kind: "sheet", ContentType: "application/json", Size: 100}},
			{"a pdf export of 20 MiB", CreateInput{Kind: "export", ContentType: "application/pdf", Size: 20 << 20}, CreateInput{Kind: "export", ContentType: "application/pdf", Size: 20 << 20}},
			{"a content type in capitals, made canonical", CreateInput{Kind: "portrait", ContentType: " Image/PNG ", Size: 9}, CreateInput{Kind: "portrait", ContentType: "image/png", Size: 9}},
			{"an empty filename, dropped", CreateInput{Kind: "sheet", ContentType: "application/json", Size: 9, Filename: ptr("")}, CreateInput{Kind: "sheet", ContentType: "application/json", Size: 9}},
			{"a unicode filename", CreateInput{Kind: "sheet", ContentType: "application/json", Size: 9, Filename: ptr("Ærwyn's sheet (v2) 🐉.json")}, CreateInput{Kind: "sheet", ContentType: "application/json", Size: 9, Filename: ptr("Ærwyn's sheet (v2) 🐉.json")}},
			{"a filename of 255 bytes", CreateInput{Kind: "sheet", ContentType: "application/json", Size: 9, Filename: ptr(strings.Repeat("a", 255))}, CreateInput{Kind: "sheet", ContentType: "application/json", Size: 9, Filename: ptr(strings.Repeat("a", 255))}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, _, err := ValidateCreate(tc.in)
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
			})
		}
	})
	t.Run("refused, naming the field", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			in    CreateInput
			field string
		}{
			{"an unknown kind", CreateInput{Kind: "avatar", ContentType: "image/png", Size: 1}, "kind"},
			{"no kind", CreateInput{ContentType: "image/png", Size: 1}, "kind"},
			{"a type the kind does not take", CreateInput{Kind: "portrait", ContentType: "application/pdf", Size: 1}, "content_type"},
			{"html as a portrait", CreateInput{Kind: "portrait", ContentType: "text/html", Size: 1}, "content_type"},
			{"svg (scriptable) as a map", CreateInput{Kind: "map", ContentType: "image/svg+xml", Size: 1}, "content_type"},
			{"a type with parameters", CreateInput{Kind: "sheet", ContentType: "application/json; charset=utf-8", Size: 1}, "content_type"},
			{"a malformed type", CreateInput{Kind: "sheet", ContentType: "json", Size: 1}, "content_type"},
			{"size zero", CreateInput{Kind: "portrait", ContentType: "image/png", Size: 0}, "size"},
			{"a negative size", CreateInput{Kind: "portrait", ContentType: "image/png", Size: -5}, "size"},
			{"a portrait one byte over 5 MiB", CreateInput{Kind: "portrait", ContentType: "image/png", Size: 5<<20 + 1}, "size"},
			{"a sheet over 2 MiB", CreateInput{Kind: "sheet", ContentType: "application/json", Size: 2<<20 + 1}, "size"},
			{"a filename climbing out", CreateInput{Kind: "portrait", ContentType: "image/png", Size: 1, Filename: ptr("../../etc/passwd")}, "filename"},
			{"a filename with a control character", CreateInput{Kind: "portrait", ContentType: "image/png", Size: 1, Filename: ptr("a\nb.png")}, "filename"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, _, err := ValidateCreate(tc.in)
				require.Error(t, err)
				require.Equal(t, apperr.Invalid, apperr.CodeOf(err))
				e, _ := apperr.As(err)
				require.True(t, strings.HasPrefix(e.Message, tc.field+":"), "message %q names %s", e.Message, tc.field)
			})
		}
	})
}

func TestValidateFilename(t *testing.T) {
	t.Parallel()
	t.Run("plain names are accepted", func(t *testing.T) {
		for _, name := range []string{"portrait.png", "a", "..hidden", "x..y.png", "name with spaces.pdf", "日本語.json", "file.tar.gz"} {
			require.NoError(t, ValidateFilename(name), name)
		}
	})
	t.Run("anything that is not a plain name is refused", func(t *testing.T) {
		for _, name := range []string{
			"../x.png", "..", ".", "a/b.png", "/abs.png", `..\x.png`, `a\b`,
			"nul\x00.png", "tab\t.png", "cr\r.png", "esc\x1b[31m.png", "del\x7f.png", "c1\u0085.png",
			"right-to-left\u202egnp.exe", "isolate\u2066.png", "line\u2028sep",
			" ", strings.Repeat("a", 256), "bad\xffutf8",
		} {
			err := ValidateFilename(name)
			require.Error(t, err, "%q", name)
			require.Equal(t, apperr.Invalid, apperr.CodeOf(err))
		}
	})
}

func TestContentMatches(t *testing.T) {
	t.Parallel()
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	jpeg := []byte("\xff\xd8\xff\xe0\x00\x10JFIF")
	webp := []byte("RIFF\x24\x00\x00\x00WEBPVP8 ")
	pdf := []byte("%PDF-1.7\n")
	for _, tc := range []struct {
		name string
		ct   string
		head []byte
		want bool
	}{
		{"a png is a png", "image/png", png, true},
		{"a jpeg is a jpeg", "image/jpeg", jpeg, true},
		{"a webp is a webp", "image/webp", webp, true},
		{"a pdf is a pdf", "application/pdf", pdf, true},
		{"a json object is json", "application/json", []byte(` {"hp": 10}`), true},
		{"a json array is json", "application/json", []byte("\n[1,2]"), true},
		{"a jpeg is not a png", "image/png", jpeg, false},
		{"html is not a png", "image/png", []byte("<html><script>alert(1)</script>"), false},
		{"a truncated webp header is not a webp", "image/webp", []byte("RIFF\x24\x00"), false},
		{"a json string is not a sheet", "application/json", []byte(`"text"`), false},
		{"html is not json", "application/json", []byte("<!doctype html>"), false},
		{"nothing is nothing", "image/png", nil, false},
		{"unknown types never match", "text/html", []byte("<html>"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, ContentMatches(tc.ct, tc.head))
		})
	}
}

func TestObjectKeyIsServerMadeUnderThePlayersPrefix(t *testing.T) {
	t.Parallel()
	owner, id := mustUUID("0190a3c4-0000-7000-8000-000000000001"), mustUUID("0190a3c4-0000-7000-8000-000000000002")
	key := ObjectKey(owner, KindPortrait, id)
	require.Equal(t, "players/0190a3c4-0000-7000-8000-000000000001/portrait/0190a3c4-0000-7000-8000-000000000002", key)
	require.True(t, strings.HasPrefix(key, PlayerPrefix(owner)))
}
