package assets

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"
)

func mustUUID(s string) uuid.UUID { return uuid.MustParse(s) }

// FuzzValidateFilename: whatever a client sends, an accepted filename is a
// single plain path element without control characters.
func FuzzValidateFilename(f *testing.F) {
	for _, s := range []string{"portrait.png", "../x", "a/b", `a\b`, "..", ".", "", "\x00", "a\u202eb", strings.Repeat("é", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateFilename(name) != nil {
			return
		}
		if len(name) > MaxFilenameBytes || !utf8.ValidString(name) {
			t.Fatalf("accepted %q: too long or not UTF-8", name)
		}
		if strings.ContainsAny(name, "/\\\x00") || name == "." || name == ".." {
			t.Fatalf("accepted a path-like name %q", name)
		}
		for _, r := range name {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("accepted a control character in %q", name)
			}
		}
	})
}

// FuzzValidateCreate: an accepted request is always within its kind's
// table, with a canonical content type.
func FuzzValidateCreate(f *testing.F) {
	f.Add("portrait", "image/png", int64(10), "a.png")
	f.Add("sheet", "Application/JSON", int64(2<<20), "")
	f.Add("export", "application/pdf; x=y", int64(-1), "../a")
	f.Add("map", "image/webp", int64(1<<40), "a\tb")
	f.Fuzz(func(t *testing.T, kind, ct string, size int64, filename string) {
		in := CreateInput{Kind: kind, ContentType: ct, Size: size, Filename: &filename}
		out, spec, err := ValidateCreate(in)
		if err != nil {
			return
		}
		if out.Size <= 0 || out.Size > spec.MaxSize {
			t.Fatalf("accepted size %d for %s", out.Size, kind)
		}
		found := false
		for _, allowed := range spec.ContentTypes {
			found = found || allowed == out.ContentType
		}
		if !found {
			t.Fatalf("accepted content type %q for %s", out.ContentType, kind)
		}
		if out.Filename != nil && ValidateFilename(*out.Filename) != nil {
			t.Fatalf("accepted filename %q", *out.Filename)
		}
	})
}
