package export

import (
	"bytes"
	"testing"
)

func FuzzDecode(f *testing.F) {
	good, err := Encode(sample())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":"brightdawn.session","version":1,"session":{},"messages":[]}`))
	f.Add([]byte(`{"format":"brightdawn.session","version":2}`))
	f.Add([]byte(`{"format":"brightdawn.session","version":1,"session":{},"messages":[{"id":"m","role":"dm","content":"x","visibility":"public","created_at":"2026-12-06T20:00:00Z"}],` +
		`"rolls":[{"message_id":"m","expression":"2d6+1","dice":[3,4],"total":8}],"sheet_changes":[{"message_id":"m","character":"A","path":"hp","before":1,"after":"x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Decode(bytes.NewReader(b))
		if err != nil {
			return
		}
		// An accepted document encodes, decodes to the same messages, and renders.
		out, err := Encode(*d)
		if err != nil {
			t.Fatalf("an accepted document does not encode: %v", err)
		}
		again, err := Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("an encoded document does not decode: %v", err)
		}
		if len(again.Messages) != len(d.Messages) {
			t.Fatalf("%d messages became %d", len(d.Messages), len(again.Messages))
		}
		_ = Markdown(*d)
	})
}
