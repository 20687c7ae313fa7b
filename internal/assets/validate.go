package assets

import (
	"bytes"
	"mime"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/names"
)

// MaxFilenameBytes bounds a client's filename (the common file-system limit).
const MaxFilenameBytes = 255

// ValidateCreate checks a request for an upload form and returns it in
// canonical form (media type lower case without parameters, filename
// absent when empty) with the kind's spec.
func ValidateCreate(in CreateInput) (CreateInput, KindSpec, error) {
	spec, ok := Kinds[in.Kind]
	if !ok {
		return in, spec, apperr.Invalidf("kind", "must be one of %s", strings.Join(KindNames(), ", "))
	}
	ct, err := CanonicalContentType(in.ContentType)
	if err != nil || !slices.Contains(spec.ContentTypes, ct) {
		return in, spec, apperr.Invalidf("content_type", "must be one of %s for kind %s", strings.Join(spec.ContentTypes, ", "), in.Kind)
	}
	in.ContentType = ct
	switch {
	case in.Size <= 0:
		return in, spec, apperr.Invalidf("size", "must be a positive number of bytes")
	case in.Size > spec.MaxSize:
		return in, spec, apperr.Invalidf("size", "must be at most %d bytes (%d MiB) for kind %s", spec.MaxSize, spec.MaxSize/mib, in.Kind)
	}
	if in.Filename != nil {
		if *in.Filename == "" {
			in.Filename = nil
		} else if err := ValidateFilename(*in.Filename); err != nil {
			return in, spec, err
		}
	}
	return in, spec, nil
}

// CanonicalContentType parses a media type and returns it lower case and
// without parameters. Parameters are refused: the stored object's type must
// equal the declared one exactly.
func CanonicalContentType(s string) (string, error) {
	mt, params, err := mime.ParseMediaType(strings.TrimSpace(s))
	if err != nil {
		return "", err
	}
	if len(params) > 0 {
		return "", apperr.Invalidf("content_type", "must not carry parameters")
	}
	return strings.ToLower(mt), nil
}

// ValidateFilename accepts a plain file name: valid UTF-8, at most
// MaxFilenameBytes, no path separators or dot-segments (it must never look
// like a path), no control characters and no bidirectional overrides (which
// disguise extensions: "gpj.exe" shown as "exe.jpg").
func ValidateFilename(name string) error {
	switch {
	case len(name) > MaxFilenameBytes:
		return apperr.Invalidf("filename", "must be at most %d bytes", MaxFilenameBytes)
	case !utf8.ValidString(name):
		return apperr.Invalidf("filename", "must be valid UTF-8")
	case strings.TrimSpace(name) == "":
		return apperr.Invalidf("filename", "must not be blank")
	case strings.ContainsAny(name, `/\`):
		return apperr.Invalidf("filename", "must be a plain file name without / or \\")
	case name == "." || name == "..":
		return apperr.Invalidf("filename", "must be a plain file name, not . or ..")
	}
	if err := names.Check(name); err != nil {
		return apperr.Invalidf("filename", "%v", err)
	}
	return nil
}

// sniffLen is how much of an object's start complete looks at.
const sniffLen = 512

// ContentMatches reports whether the first bytes of an object are plausibly
// of the declared content type: the magic numbers of PNG, JPEG, WebP and
// PDF, and for JSON an object or array as the first value. It keeps, say, an
// HTML page from being stored as a "portrait".
func ContentMatches(contentType string, head []byte) bool {
	switch contentType {
	case "image/png":
		return bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n"))
	case "image/jpeg":
		return bytes.HasPrefix(head, []byte("\xff\xd8\xff"))
	case "image/webp":
		return len(head) >= 12 && bytes.Equal(head[:4], []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WEBP"))
	case "application/pdf":
		return bytes.HasPrefix(head, []byte("%PDF-"))
	case "application/json":
		rest := bytes.TrimLeft(head, " \t\r\n")
		return len(rest) > 0 && (rest[0] == '{' || rest[0] == '[')
	}
	return false
}
