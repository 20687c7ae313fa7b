package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

// MaxBodyBytes is the largest request body accepted anywhere (docs/API.md).
const MaxBodyBytes = 1 << 20

// bind decodes the JSON body of c into v (see decodeJSON).
func bind(c *gin.Context, v any) error {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return apperr.New(apperr.UnsupportedMedia, "the body must be application/json")
		}
	}
	return decodeJSON(c.Request.Body, v)
}

// decodeJSON decodes exactly one JSON object into v. Unknown fields are
// refused everywhere, so a typo never silently does nothing; errors name the
// field. Bodies over MaxBodyBytes are refused with too_large.
func decodeJSON(r io.Reader, v any) error {
	body, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apperr.New(apperr.TooLarge, "the body is larger than 1 MiB")
		}
		return apperr.Wrap(err, apperr.Invalid, "body: could not be read")
	}
	if len(body) > MaxBodyBytes {
		return apperr.New(apperr.TooLarge, "the body is larger than 1 MiB")
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return apperr.Invalidf("body", "a JSON object is required")
	}
	// json.Decoder takes `null` for an object and leaves v untouched.
	if trimmed[0] != '{' {
		return apperr.Invalidf("body", "must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if field, ok := badUUIDField(body, v); ok {
			return apperr.Invalidf(safe(field), "must be a UUID")
		}
		return describeJSONError(err)
	}
	if dec.More() {
		return apperr.Invalidf("body", "must hold exactly one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.Invalidf("body", "must hold exactly one JSON object")
	}
	return nil
}

func describeJSONError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return apperr.Invalidf("body", "must be a JSON object")
		}
		return apperr.Invalidf(safe(field), "must be a %s", jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr):
		return apperr.Invalidf("body", "malformed JSON at byte %d", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apperr.Invalidf("body", "malformed JSON (unexpected end)")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Invalidf(safe(name), "unknown field")
	default:
		return apperr.Invalidf("body", "invalid JSON: %s", safe(err.Error()))
	}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	default:
		return fmt.Sprintf("%s value", k)
	}
}

// safe trims a decoder message so that no unbounded client input is echoed.
func safe(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= 120 {
		return s
	}
	cut := 120
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut-- // never split a character: the message must stay valid UTF-8
	}
	return s[:cut] + "…"
}

var uuidType = reflect.TypeOf(uuid.UUID{})

// badUUIDField names the top-level field of v (a pointer to a struct)
// whose value in body is not a UUID. encoding/json reports a failed
// UnmarshalText with the library's text ("invalid UUID length: 10") and
// no field name, so the fields typed uuid.UUID are checked one by one.
func badUUIDField(body []byte, v any) (string, bool) {
	t := reflect.TypeOf(v)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return "", false
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(body, &raw) != nil {
		return "", false
	}
	t = t.Elem()
	for i := range t.NumField() {
		f := t.Field(i)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if ft != uuidType || name == "" || name == "-" {
			continue
		}
		val, ok := raw[name]
		if !ok || string(val) == "null" {
			continue
		}
		var str string
		if json.Unmarshal(val, &str) != nil {
			continue // not a string: the type error names the field already
		}
		if _, err := uuid.Parse(str); err != nil {
			return name, true
		}
	}
	return "", false
}
