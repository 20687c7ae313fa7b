package events

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

// Seed corpora: testdata/fuzz/FuzzParseID, testdata/fuzz/FuzzDecodeEvent
// and testdata/fuzz/FuzzRead. Run one with, for example,
//
//	go test ./events -run '^$' -fuzz FuzzParseID -fuzztime 30s

// FuzzParseID: a Last-Event-ID comes straight from a client.
func FuzzParseID(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("ParseID(%q): error without the Invalid code: %v", s, err)
			}
			return
		}
		if len(s) > MaxIDLength {
			t.Fatalf("ParseID(%q) accepted %d bytes", s, len(s))
		}
		if id.String() != s {
			t.Fatalf("ParseID(%q) = %v, which prints as %q", s, id, id.String())
		}
		if id.Compare(id) != 0 || id.Less(id) {
			t.Fatalf("%v does not equal itself", id)
		}
	})
}

// FuzzDecodeEvent: whatever arrives on the live channel, the hub must not
// panic, and a frame it accepts reads back as the same event.
func FuzzDecodeEvent(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		sid, fr, err := decodeLive(payload)
		peeked, ok := peekSession(payload)
		if err != nil {
			return
		}
		if ok && peeked != sid {
			t.Fatalf("peekSession says %v, the decoder %v", peeked, sid)
		}
		var got []Event
		if err := Read(context.Background(), bytes.NewReader(fr.Bytes), func(e Event) bool {
			got = append(got, e)
			return true
		}); err != nil {
			t.Fatalf("reading frame %q: %v", fr.Bytes, err)
		}
		if len(got) != 1 {
			t.Fatalf("frame %q reads as %d events", fr.Bytes, len(got))
		}
		e := got[0]
		if e.ID != fr.Event.ID || e.Type != fr.Event.Type {
			t.Fatalf("frame %q reads as id %q type %q", fr.Bytes, e.ID, e.Type)
		}
		// Line breaks inside the data may come back as "\n"; JSON does not mind.
		want := bytes.ReplaceAll(bytes.ReplaceAll(fr.Event.Data, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
		if !bytes.Equal(e.Data, want) {
			t.Fatalf("data %q reads back as %q", fr.Event.Data, e.Data)
		}
		if !json.Valid(e.Data) {
			t.Fatalf("data %q is not JSON after the round trip", e.Data)
		}
	})
}

// FuzzRead: the SSE client parser must not panic on any input.
func FuzzRead(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		n := 0
		_ = Read(context.Background(), bytes.NewReader(in), func(Event) bool {
			n++
			return n < 1000
		})
	})
}
