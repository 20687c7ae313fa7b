package cards

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"strings"
	"time"
)

// v3Card is the card as written: every field V3 requires is present (empty
// strings and arrays, not omitted), so strict readers accept it.
type v3Card struct {
	Spec        string `json:"spec"`
	SpecVersion string `json:"spec_version"`
	Data        v3Data `json:"data"`
}

type v3Data struct {
	Name                    string         `json:"name"`
	Description             string         `json:"description"`
	Tags                    []string       `json:"tags"`
	Creator                 string         `json:"creator"`
	CharacterVersion        string         `json:"character_version"`
	MesExample              string         `json:"mes_example"`
	Extensions              map[string]any `json:"extensions"`
	SystemPrompt            string         `json:"system_prompt"`
	PostHistoryInstructions string         `json:"post_history_instructions"`
	FirstMes                string         `json:"first_mes"`
	AlternateGreetings      []string       `json:"alternate_greetings"`
	Personality             string         `json:"personality"`
	Scenario                string         `json:"scenario"`
	CreatorNotes            string         `json:"creator_notes"`
	CharacterBook           *v3Book        `json:"character_book,omitempty"`
	// V3 only; a V2 copy leaves them out.
	GroupOnlyGreetings *[]string `json:"group_only_greetings,omitempty"`
	CreationDate       int64     `json:"creation_date,omitempty"`
	ModificationDate   int64     `json:"modification_date,omitempty"`
}

type v3Book struct {
	Name       string         `json:"name,omitempty"`
	Extensions map[string]any `json:"extensions"`
	Entries    []v3Entry      `json:"entries"`
}

type v3Entry struct {
	Keys           []string       `json:"keys"`
	Content        string         `json:"content"`
	Extensions     map[string]any `json:"extensions"`
	Enabled        bool           `json:"enabled"`
	InsertionOrder int            `json:"insertion_order"`
	CaseSensitive  bool           `json:"case_sensitive"`
	UseRegex       *bool          `json:"use_regex,omitempty"` // required in V3, absent in V2
	Constant       bool           `json:"constant"`
	Name           string         `json:"name,omitempty"`
	Priority       int            `json:"priority"`
	ID             int            `json:"id"`
	Comment        string         `json:"comment,omitempty"`
	Selective      bool           `json:"selective"`
	SecondaryKeys  []string       `json:"secondary_keys"`
	Position       string         `json:"position,omitempty"`
}

// MarshalJSON returns c as a V3 card's JSON (spec "chara_card_v3").
func MarshalJSON(c Character, now time.Time) ([]byte, error) {
	return json.Marshal(toV3(c, SpecV3, now))
}

func toV3(c Character, spec string, now time.Time) v3Card {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	d := v3Data{
		Name: c.Name, Description: c.Description, Tags: nonNil(c.Tags), Creator: c.Creator,
		CharacterVersion: c.CharacterVersion, MesExample: c.MessageExamples, Extensions: map[string]any{},
		SystemPrompt: c.SystemPrompt, PostHistoryInstructions: c.PostHistoryInstructions,
		FirstMes: c.FirstMessage, AlternateGreetings: nonNil(c.AlternateGreetings),
		Personality: c.Personality, Scenario: c.Scenario, CreatorNotes: c.CreatorNotes,
	}
	version := "2.0"
	if spec == SpecV3 {
		version = "3.0"
		d.GroupOnlyGreetings = &[]string{}
		d.CreationDate, d.ModificationDate = now.Unix(), now.Unix()
	}
	if len(c.Lore) > 0 || c.BookName != "" {
		b := &v3Book{Name: c.BookName, Extensions: map[string]any{}, Entries: []v3Entry{}}
		for i, e := range c.Lore {
			ve := v3Entry{
				Keys: nonNil(e.Keys), Content: e.Content, Extensions: map[string]any{}, Enabled: e.Enabled,
				InsertionOrder: e.InsertionOrder, CaseSensitive: e.CaseSensitive, Constant: e.Constant,
				Name: e.Title, Comment: e.Title, Priority: e.Priority, ID: i + 1,
				Selective: len(e.SecondaryKeys) > 0, SecondaryKeys: nonNil(e.SecondaryKeys), Position: e.Position,
			}
			if spec == SpecV3 {
				no := false
				ve.UseRegex = &no
			}
			b.Entries = append(b.Entries, ve)
		}
		d.CharacterBook = b
	}
	return v3Card{Spec: spec, SpecVersion: version, Data: d}
}

// EncodePNG writes c as a V3 card: the portrait PNG (or, when portrait is
// empty, a plain generated one) with a "ccv3" tEXt chunk holding the V3
// JSON and a "chara" chunk holding a V2 copy for readers that only know V2.
// Card chunks already in the portrait are replaced. The character is
// checked against the same limits as an import, so every card written here
// can be read back.
func EncodePNG(c Character, portrait []byte, now time.Time) ([]byte, error) {
	if len(portrait) == 0 {
		portrait = Placeholder()
	}
	chunks, err := readChunks(portrait)
	if err != nil {
		return nil, err
	}
	v3, err := json.Marshal(toV3(c, SpecV3, now))
	if err != nil {
		return nil, err
	}
	// The written card must parse: the same limits as an import.
	if _, err := ParseJSON(v3); err != nil {
		return nil, err
	}
	v2, err := json.Marshal(toV3(c, SpecV2, now))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(portrait) + 3*(len(v3)+len(v2))/2)
	out.Write(pngSignature)
	for _, ch := range chunks {
		if ch.typ == "IEND" {
			writeChunk(&out, "tEXt", textData("chara", v2))
			writeChunk(&out, "tEXt", textData("ccv3", v3))
		}
		if isCardChunk(ch) {
			continue
		}
		writeChunk(&out, ch.typ, ch.data)
	}
	return out.Bytes(), nil
}

func textData(keyword string, json []byte) []byte {
	b := make([]byte, 0, len(keyword)+1+base64.StdEncoding.EncodedLen(len(json)))
	b = append(b, keyword...)
	b = append(b, 0)
	return base64.StdEncoding.AppendEncode(b, json)
}

func isCardChunk(c chunk) bool { return cardKeyword(c) != "" }

// cardKeyword is "chara" or "ccv3" when c is a text chunk of a card, else
// "". Keywords compare case-insensitively, as SillyTavern's reader does.
func cardKeyword(c chunk) string {
	if c.typ != "tEXt" && c.typ != "zTXt" && c.typ != "iTXt" {
		return ""
	}
	kw, _, _ := bytes.Cut(c.data, []byte{0})
	if k := strings.ToLower(string(kw)); k == "chara" || k == "ccv3" {
		return k
	}
	return ""
}

// Placeholder is the portrait of a character that has none: a plain
// 400×600 PNG (the 2:3 shape card sites display) in the client's dusk blue.
func Placeholder() []byte {
	img := image.NewPaletted(image.Rect(0, 0, 400, 600), color.Palette{color.RGBA{0x2b, 0x3a, 0x55, 0xff}})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic("cards: encoding the placeholder: " + err.Error()) // in-memory, cannot fail
	}
	return b.Bytes()
}
