package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

// fuzzBody has a field of every kind the handlers decode.
type fuzzBody struct {
	Email  string         `json:"email"`
	Level  *int           `json:"level"`
	Score  float64        `json:"score"`
	OK     bool           `json:"ok"`
	Tags   []string       `json:"tags"`
	Sheet  map[string]any `json:"sheet"`
	Nested struct {
		Name  string `json:"name"`
		Count uint8  `json:"count"`
	} `json:"nested"`
}

// maxMessageLen bounds what an error may echo of the client's input.
const maxMessageLen = 300

// FuzzDecodeJSON feeds arbitrary bodies to decodeJSON (seed corpus:
// testdata/fuzz/FuzzDecodeJSON). It must never panic; it must refuse with
// invalid_request or too_large only, with a short, valid UTF-8 message; and
// whatever it accepts must be exactly one valid JSON object.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"email":"a@b.c","level":3,"tags":["x"],"sheet":{"hp":10},"nested":{"name":"n","count":1}}`))
	f.Add([]byte(`{"emial":"typo"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var v fuzzBody
		err := decodeJSON(bytes.NewReader(body), &v)
		if err == nil {
			trimmed := bytes.TrimSpace(body)
			if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(body) {
				t.Fatalf("accepted %q, which is not one JSON object", body)
			}
			return
		}
		e, ok := apperr.As(err)
		if !ok {
			t.Fatalf("error without a code: %v", err)
		}
		switch e.Code {
		case apperr.Invalid, apperr.TooLarge:
		default:
			t.Fatalf("refused with code %q: %v", e.Code, err)
		}
		if len(e.Message) > maxMessageLen {
			t.Fatalf("message of %d bytes echoes too much input: %.80q…", len(e.Message), e.Message)
		}
		if !utf8.ValidString(e.Message) {
			t.Fatalf("message is not valid UTF-8: %q", e.Message)
		}
	})
}

func TestDecodeJSONRefusesBodiesOverTheLimit(t *testing.T) {
	body := append([]byte(`{"email":"`), bytes.Repeat([]byte("a"), MaxBodyBytes)...)
	body = append(body, `"}`...)
	var v fuzzBody
	err := decodeJSON(bytes.NewReader(body), &v)
	if apperr.CodeOf(err) != apperr.TooLarge {
		t.Fatalf("got %v, want too_large", err)
	}
}
