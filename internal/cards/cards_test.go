package cards

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/lore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

func TestParseFixtures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file, spec, name string
	}{
		{"v2.png", SpecV2, "Ysolde"},
		{"v2.json", SpecV2, "Ysolde"},
		{"v3.png", SpecV3, "Ysolde of Ashford"}, // ccv3 preferred over the chara copy
	} {
		t.Run("reads "+tc.file+" with its lorebook", func(t *testing.T) {
			card, err := Parse(fixture(t, tc.file))
			require.NoError(t, err)
			assert.Equal(t, tc.spec, card.Spec)
			c := card.Character
			assert.Equal(t, tc.name, c.Name)
			assert.Equal(t, "A blacksmith's daughter with a silver key.", c.Description)
			assert.Equal(t, "Wry, brave, impatient.", c.Personality)
			assert.Equal(t, "Ashford, the night of the flood.", c.Scenario)
			assert.Equal(t, "*Ysolde looks up from the anvil.* You're late.", c.FirstMessage)
			assert.Equal(t, []string{"Back again?"}, c.AlternateGreetings)
			assert.Equal(t, "Ashford lore", c.BookName)
			require.Len(t, c.Lore, 3)
			assert.Equal(t, LoreEntry{Title: "Bram", Keys: []string{"Bram", "the smith"}, Content: "Bram is Ashford's blacksmith; he owes the miller a debt.",
				Enabled: true, InsertionOrder: 10, Priority: 5, Position: "before_char"}, c.Lore[0])
			assert.True(t, c.Lore[1].Constant)
			assert.Equal(t, "World", c.Lore[1].Title, "the comment names an entry without a name")
			assert.False(t, c.Lore[2].Enabled)
			assert.Equal(t, []string{"Iron Gate"}, c.Lore[2].Keys, "the one-letter key is dropped")
			assert.Equal(t, []string{`character_book.entries[2]: key "x" dropped: keys need at least 2 characters`}, card.Warnings)
			// Every imported entry is acceptable to the lorebook.
			for _, e := range c.Lore {
				_, _, err := lore.Validate(e.ToLore())
				assert.NoError(t, err)
			}
		})
	}
	t.Run("drops lore entries the lorebook would refuse, saying why, and flags risky keys", func(t *testing.T) {
		card, err := Parse([]byte(`{"spec":"chara_card_v2","data":{"name":"N","character_book":{"entries":[
			{"keys":["Bram"],"content":"kept"},
			{"keys":["x"],"content":"no usable key"},
			{"keys":["??"],"content":"punctuation key"},
			{"keys":["Bram"],"content":"  "},
			{"keys":["the"],"content":"common"},
			{"keys":[],"constant":true,"content":"always"}]}}}`))
		require.NoError(t, err)
		require.Len(t, card.Character.Lore, 3)
		assert.Equal(t, []string{"kept", "common", "always"}, []string{card.Character.Lore[0].Content, card.Character.Lore[1].Content, card.Character.Lore[2].Content})
		require.Len(t, card.Warnings, 5)
		assert.Contains(t, card.Warnings[1], "entries[1]: entry dropped: keys:")
		assert.Contains(t, card.Warnings[2], "entries[2]: entry dropped: keys[0]:")
		assert.Contains(t, card.Warnings[3], "entries[3]: entry dropped: content:")
		assert.Equal(t, `character_book.entries[4]: key "the" may fire too often (common_word)`, card.Warnings[4])
	})
	t.Run("reads a V1 card (fields at the top level)", func(t *testing.T) {
		card, err := Parse([]byte(`{"name":"Old","description":"d","first_mes":"hi"}`))
		require.NoError(t, err)
		assert.Equal(t, "Old", card.Character.Name)
		assert.Equal(t, "hi", card.Character.FirstMessage)
	})
}

// pngWith builds a PNG (the placeholder) with extra chunks before IEND.
func pngWith(t testing.TB, extra ...chunk) []byte {
	chunks, err := readChunks(Placeholder())
	require.NoError(t, err)
	var b bytes.Buffer
	b.Write(pngSignature)
	for _, c := range chunks {
		if c.typ == "IEND" {
			for _, e := range extra {
				writeChunk(&b, e.typ, e.data)
			}
		}
		writeChunk(&b, c.typ, c.data)
	}
	return b.Bytes()
}

func text(keyword, value string) chunk {
	return chunk{typ: "tEXt", data: append([]byte(keyword+"\x00"), value...)}
}

func zlibBytes(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	require.NoError(t, err)
	_, err = w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParseCompressedChunks(t *testing.T) {
	t.Parallel()
	card := `{"spec":"chara_card_v2","spec_version":"2.0","data":{"name":"Zed"}}`
	for _, c := range []struct {
		name  string
		chunk chunk
	}{
		{"a zTXt chunk", chunk{typ: "zTXt", data: append([]byte("chara\x00\x00"), zlibBytes(t, []byte(b64(card)))...)}},
		{"an uncompressed iTXt chunk with a language tag", chunk{typ: "iTXt", data: []byte("chara\x00\x00\x00en\x00Chara\x00" + b64(card))}},
		{"a keyword in another case", text("Chara", b64(card))},
		{"base64 without padding or with line breaks", text("chara", strings.TrimRight(b64(card), "=")[:20]+"\n"+strings.TrimRight(b64(card), "=")[20:])},
	} {
		t.Run("reads "+c.name, func(t *testing.T) {
			got, err := Parse(pngWith(t, c.chunk))
			require.NoError(t, err)
			assert.Equal(t, "Zed", got.Character.Name)
		})
	}
}

func TestParseRefusals(t *testing.T) {
	t.Parallel()
	bomb := zlibBytes(t, make([]byte, 2*MaxJSONBytes)) // zeros: 1000:1
	long := func(field string, n int) string {
		return `{"spec":"chara_card_v3","spec_version":"3.0","data":{"name":"N","` + field + `":"` + strings.Repeat("a", n) + `"}}`
	}
	entries := func(n int) string {
		return `{"spec":"chara_card_v2","data":{"name":"N","character_book":{"entries":[` +
			strings.TrimSuffix(strings.Repeat(`{"keys":["ab"],"content":"c"},`, n), ",") + `]}}}`
	}
	corrupt := pngWith(t, text("chara", b64(`{"spec":"chara_card_v2","data":{"name":"N"}}`)))
	corrupt[len(corrupt)-20] ^= 0xff // inside the card chunk: its CRC fails

	for _, tc := range []struct {
		name   string
		input  []byte
		code   apperr.Code
		reason Reason
		field  string
	}{
		{"a GIF", []byte("GIF89a...."), apperr.Invalid, ReasonNotPNG, ""},
		{"an empty file", nil, apperr.Invalid, ReasonNotPNG, ""},
		{"a PNG cut short", Placeholder()[:40], apperr.Invalid, ReasonCorruptPNG, ""},
		{"a PNG with a bad checksum", corrupt, apperr.Invalid, ReasonCorruptPNG, ""},
		{"a chunk length beyond the file", append(append([]byte{}, pngSignature...), 0x7f, 0xff, 0xff, 0xff, 'I', 'H', 'D', 'R'), apperr.Invalid, ReasonCorruptPNG, ""},
		{"a PNG without a card", Placeholder(), apperr.Unprocessable, ReasonNoCard, ""},
		{"a PNG whose card chunk is not base64", pngWith(t, text("chara", "!!not base64!!")), apperr.Invalid, ReasonBadBase64, ""},
		{"a PNG whose card is not JSON", pngWith(t, text("ccv3", b64("{nope"))), apperr.Invalid, ReasonBadJSON, ""},
		{"a zip bomb in a zTXt chunk", pngWith(t, chunk{typ: "zTXt", data: append([]byte("chara\x00\x00"), bomb...)}), apperr.Unprocessable, ReasonTooLarge, ""},
		{"a zip bomb in an iTXt chunk", pngWith(t, chunk{typ: "iTXt", data: append([]byte("ccv3\x00\x01\x00\x00\x00"), bomb...)}), apperr.Unprocessable, ReasonTooLarge, ""},
		{"broken zlib in an iTXt chunk", pngWith(t, chunk{typ: "iTXt", data: []byte("ccv3\x00\x01\x00\x00\x00garbage")}), apperr.Invalid, ReasonCorruptPNG, ""},
		{"broken JSON", []byte(`{"spec":`), apperr.Invalid, ReasonBadJSON, ""},
		{"a field of the wrong type", []byte(`{"spec":"chara_card_v2","data":{"name":5}}`), apperr.Invalid, ReasonBadJSON, "data"},
		{"an unknown spec", []byte(`{"spec":"chara_card_v9","data":{"name":"N"}}`), apperr.Unprocessable, ReasonUnknownSpec, "spec"},
		{"a card without data", []byte(`{"spec":"chara_card_v3"}`), apperr.Unprocessable, ReasonMissing, "data"},
		{"a card without a name", []byte(`{"spec":"chara_card_v2","data":{"name":"  "}}`), apperr.Unprocessable, ReasonMissing, "name"},
		{"a huge description", []byte(long("description", MaxTextRunes+1)), apperr.Unprocessable, ReasonTooLarge, "description"},
		{"a huge name", []byte(long("name", MaxNameRunes+1)), apperr.Unprocessable, ReasonTooLarge, "name"},
		{"too many lore entries", []byte(entries(MaxLoreEntries + 1)), apperr.Unprocessable, ReasonTooLarge, "character_book.entries"},
		{"huge lore content", []byte(`{"spec":"chara_card_v2","data":{"name":"N","character_book":{"entries":[{"keys":["ab"],"content":"` + strings.Repeat("c", MaxContentRunes+1) + `"}]}}}`), apperr.Unprocessable, ReasonTooLarge, "character_book.entries[0].content"},
		{"a file over the size cap", append([]byte("{"), make([]byte, MaxCardBytes)...), apperr.Unprocessable, ReasonTooLarge, ""},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			_, err := Parse(tc.input)
			require.Error(t, err)
			assert.Equal(t, tc.code, apperr.CodeOf(err))
			var ce *Error
			require.True(t, errors.As(err, &ce), "a *cards.Error in the chain: %v", err)
			assert.Equal(t, tc.reason, ce.Reason)
			assert.Equal(t, tc.field, ce.Field)
			ae, _ := apperr.As(err)
			assert.True(t, strings.HasPrefix(ae.Message, "character card: "), ae.Message)
		})
	}
}

func sampleCharacter() Character {
	return Character{
		Name: "Ysolde", Description: "A smith's daughter.", Personality: "Wry.", Scenario: "Ashford.",
		FirstMessage: "You're late.", AlternateGreetings: []string{"Again?"}, Tags: []string{"fantasy"},
		BookName: "Ashford",
		Lore: []LoreEntry{
			{Title: "Bram", Keys: []string{"Bram"}, Content: "The smith.", Enabled: true},
			{Title: "World", Content: "A mill town.", Constant: true, Enabled: true},
		},
	}
}

func TestEncodePNGRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_765_000_000, 0)
	t.Run("a card with the generated portrait reads back as V3, and is a valid image", func(t *testing.T) {
		b, err := EncodePNG(sampleCharacter(), nil, now)
		require.NoError(t, err)
		card, err := Parse(b)
		require.NoError(t, err)
		assert.Equal(t, SpecV3, card.Spec)
		assert.Equal(t, sampleCharacter(), card.Character)
		img, err := png.Decode(bytes.NewReader(b))
		require.NoError(t, err)
		assert.Equal(t, 400, img.Bounds().Dx())
	})
	t.Run("the V2 copy reads back on its own, for V2-only readers", func(t *testing.T) {
		b, err := EncodePNG(sampleCharacter(), nil, now)
		require.NoError(t, err)
		chunks, err := readChunks(b)
		require.NoError(t, err)
		var kept []chunk
		for _, c := range chunks {
			if cardKeyword(c) != "ccv3" {
				kept = append(kept, c)
			}
		}
		var only bytes.Buffer
		only.Write(pngSignature)
		for _, c := range kept {
			writeChunk(&only, c.typ, c.data)
		}
		card, err := Parse(only.Bytes())
		require.NoError(t, err)
		assert.Equal(t, SpecV2, card.Spec)
		assert.Equal(t, sampleCharacter(), card.Character)
	})
	t.Run("a portrait keeps its image and loses its old card chunks", func(t *testing.T) {
		old := fixture(t, "v3.png")
		b, err := EncodePNG(sampleCharacter(), old, now)
		require.NoError(t, err)
		card, err := Parse(b)
		require.NoError(t, err)
		assert.Equal(t, "Ysolde", card.Character.Name)
		chunks, err := readChunks(b)
		require.NoError(t, err)
		n := 0
		for _, c := range chunks {
			if cardKeyword(c) != "" {
				n++
			}
		}
		assert.Equal(t, 2, n, "one chara and one ccv3 chunk")
		img, err := png.Decode(bytes.NewReader(b))
		require.NoError(t, err)
		assert.Equal(t, 2, img.Bounds().Dx())
	})
	t.Run("a portrait that is not a PNG is refused", func(t *testing.T) {
		_, err := EncodePNG(sampleCharacter(), []byte("GIF89a"), now)
		assert.Equal(t, apperr.Invalid, apperr.CodeOf(err))
	})
	t.Run("a character over the limits is refused, so every written card reads back", func(t *testing.T) {
		c := sampleCharacter()
		c.Description = strings.Repeat("d", MaxTextRunes+1)
		_, err := EncodePNG(c, nil, now)
		assert.Equal(t, apperr.Unprocessable, apperr.CodeOf(err))
	})
	t.Run("the JSON form is a V3 card with every required field", func(t *testing.T) {
		b, err := MarshalJSON(sampleCharacter(), now)
		require.NoError(t, err)
		for _, field := range []string{`"spec":"chara_card_v3"`, `"spec_version":"3.0"`, `"group_only_greetings":[]`, `"use_regex":false`, `"extensions":{}`, `"mes_example":""`, `"creation_date":1765000000`} {
			assert.Contains(t, string(b), field)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"v2.png", "v3.png", "v2.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"name":"x"}`))
	f.Add(Placeholder())
	f.Fuzz(func(t *testing.T, b []byte) {
		card, err := Parse(b)
		if err != nil {
			if _, ok := apperr.As(err); !ok {
				t.Fatalf("an error without a code: %v", err)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("an error without a reason: %v", err)
			}
			return
		}
		if card.Character.Name == "" {
			t.Fatal("a card without a name was accepted")
		}
		for i, e := range card.Character.Lore {
			if _, _, err := lore.Validate(e.ToLore()); err != nil {
				t.Fatalf("lore entry %d would be refused by the lorebook: %v", i, err)
			}
		}
		// Whatever is read can be written and read back the same.
		out, err := EncodePNG(card.Character, nil, time.Unix(0, 0))
		if err != nil {
			t.Fatalf("an accepted card cannot be written: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("a written card cannot be read: %v", err)
		}
		if again.Character.Name != card.Character.Name || len(again.Character.Lore) != len(card.Character.Lore) {
			t.Fatalf("round trip changed the card: %q/%d → %q/%d", card.Character.Name, len(card.Character.Lore), again.Character.Name, len(again.Character.Lore))
		}
	})
}
