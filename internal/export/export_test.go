package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/lore"
	"github.com/codeofconquest/brightdawn/internal/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	t0   = time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	dc15 = 15
)

func sample() Document {
	return Document{
		ExportedAt: t0,
		Session:    Session{ID: "s1", Title: "The Flood at Ashford", Setting: "A mill town.", CreatedAt: t0},
		Messages: []Message{
			{ID: "m1", Role: RoleSystem, Content: "The session begins.", Visibility: VisibilityPublic, CreatedAt: t0},
			{ID: "m2", Role: RolePlayer, Author: "Ana", Content: "I ask Bram about the key.", Visibility: VisibilityPublic, CreatedAt: t0.Add(time.Second)},
			{ID: "m3", Role: RoleDM, Content: "Bram scowls. Roll Persuasion.", Visibility: VisibilityPublic, CreatedAt: t0.Add(2 * time.Second)},
			{ID: "m4", Role: RolePlayer, Author: "Ben", Content: "psst", Visibility: VisibilityPrivate, To: []string{"DM"}, CreatedAt: t0.Add(3 * time.Second)},
		},
		Rolls: []Roll{{MessageID: "m3", Actor: ActorDM, Character: "Ana", Roll: dice.Roll{Notation: "1d20+2", Dice: []dice.Die{{Sides: 20, Value: 14}},
			Modifier: 2, Total: 16, Reason: "Persuasion", DC: &dc15, Outcome: "success"}}},
		SheetChanges: []SheetChange{{MessageID: "m3", Character: "Ana", At: t0, Change: rules.Change{Path: "hp.current", From: 10, To: 8, Reason: "goblin's scimitar"}}},
		Lore:         []lore.Entry{{ID: "l1", Title: "Bram", Keys: []string{"Bram"}, Content: "The smith.", Enabled: true}},
		Summary:      &Summary{Content: "Ana met Bram.", ThroughMessageID: "m2", UpdatedAt: t0},
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	b, err := Encode(sample())
	require.NoError(t, err)
	got, err := Decode(bytes.NewReader(b))
	require.NoError(t, err)
	want := sample()
	want.Format, want.Version = Format, Version
	assert.Equal(t, want, *got, "every field survives, messages in order with roles")
	assert.NotContains(t, string(b), "embedding", "vectors are never exported")

	t.Run("encoding leaves the caller's lore as it was", func(t *testing.T) {
		d := sample()
		d.Lore[0].Keys = []string{" Bram ", "bram"}
		_, err := Encode(d)
		require.NoError(t, err)
		assert.Equal(t, []string{" Bram ", "bram"}, d.Lore[0].Keys)
	})
	t.Run("an empty session round-trips with empty arrays, not nulls", func(t *testing.T) {
		b, err := Encode(Document{ExportedAt: t0, Session: Session{Title: "Empty"}})
		require.NoError(t, err)
		assert.Contains(t, string(b), `"messages": []`)
		_, err = Decode(bytes.NewReader(b))
		require.NoError(t, err)
	})
}

func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	good, err := Encode(sample())
	require.NoError(t, err)
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		require.NoError(t, json.Unmarshal(good, &m))
		f(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	}
	msg := func(m map[string]any, i int) map[string]any { return m["messages"].([]any)[i].(map[string]any) }
	many := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"id": fmt.Sprint(i), "role": "dm", "content": "x", "visibility": "public", "created_at": t0}
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		input []byte
		code  apperr.Code
		field string
	}{
		{"a file that is not JSON", []byte("not json"), apperr.Invalid, "export"},
		{"another format", edit(func(m map[string]any) { m["format"] = "tavern" }), apperr.Invalid, "format"},
		{"an unknown version", edit(func(m map[string]any) { m["version"] = 3 }), apperr.Unprocessable, "version"},
		{"a missing version", edit(func(m map[string]any) { delete(m, "version") }), apperr.Unprocessable, "version"},
		{"a version that is not a number", edit(func(m map[string]any) { m["version"] = "1" }), apperr.Invalid, "export"},
		{"an unknown field", edit(func(m map[string]any) { m["vectors"] = []any{1} }), apperr.Invalid, "export"},
		{"a field of the wrong type", edit(func(m map[string]any) { m["messages"] = "all of them" }), apperr.Invalid, "export"},
		{"an unknown role", edit(func(m map[string]any) { msg(m, 0)["role"] = "god" }), apperr.Invalid, "messages[0].role"},
		{"an unknown visibility", edit(func(m map[string]any) { msg(m, 1)["visibility"] = "secret" }), apperr.Invalid, "messages[1].visibility"},
		{"a whisper to nobody", edit(func(m map[string]any) { delete(msg(m, 3), "to") }), apperr.Invalid, "messages[3].to"},
		{"a duplicate message id", edit(func(m map[string]any) { msg(m, 1)["id"] = "m1" }), apperr.Invalid, "messages[1].id"},
		{"a message without an id", edit(func(m map[string]any) { msg(m, 2)["id"] = "" }), apperr.Invalid, "messages[2].id"},
		{"an over-long message", edit(func(m map[string]any) { msg(m, 2)["content"] = strings.Repeat("x", MaxMessageRunes+1) }), apperr.Invalid, "messages[2].content"},
		{"too many messages", edit(func(m map[string]any) { m["messages"] = many(MaxMessages + 1) }), apperr.Invalid, "messages"},
		{"a roll on no message", edit(func(m map[string]any) { m["rolls"].([]any)[0].(map[string]any)["message_id"] = "m9" }), apperr.Invalid, "rolls[0].message_id"},
		{"a sheet change without a path", edit(func(m map[string]any) { m["sheet_changes"].([]any)[0].(map[string]any)["path"] = "" }), apperr.Invalid, "sheet_changes[0].path"},
		{"a lore entry with a one-letter key", edit(func(m map[string]any) { m["lore"].([]any)[0].(map[string]any)["keys"] = []string{"b"} }), apperr.Invalid, "lore[0]"},
		{"a summary through no message", edit(func(m map[string]any) { m["summary"].(map[string]any)["through_message_id"] = "zz" }), apperr.Invalid, "summary.through_message_id"},
		{"trailing data", append(append([]byte{}, good...), []byte(` {}`)...), apperr.Invalid, "export"},
		{"a file over the size cap", append(append([]byte{}, good...), bytes.Repeat([]byte(" "), MaxBytes)...), apperr.TooLarge, "export"},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(tc.input))
			require.Error(t, err)
			assert.Equal(t, tc.code, apperr.CodeOf(err), err.Error())
			ae, _ := apperr.As(err)
			assert.True(t, strings.HasPrefix(ae.Message, tc.field+":"), "message %q names %s", ae.Message, tc.field)
		})
	}
	t.Run("Encode refuses what Decode would", func(t *testing.T) {
		d := sample()
		d.Messages[0].Role = "god"
		_, err := Encode(d)
		assert.Equal(t, apperr.Invalid, apperr.CodeOf(err))
	})
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	md := string(Markdown(sample()))
	for _, want := range []string{
		"# The Flood at Ashford\n",
		"## Summary so far\n\nAna met Bram.\n",
		"**Ana**\n\nI ask Bram about the key.\n",
		"**DM**\n\nBram scowls. Roll Persuasion.\n",
		"- 🎲 Ana: `1d20+2` → 16 (14) vs DC 15, success — Persuasion\n",
		"- Ana: `hp.current` 10 → 8 — goblin's scimitar\n",
		"**Ben** *(whisper to DM)*\n\npsst\n",
		"### Bram\n\nKeys: `Bram`\n\nThe smith.\n",
	} {
		assert.Contains(t, md, want)
	}
	assert.Less(t, strings.Index(md, "I ask Bram"), strings.Index(md, "Bram scowls"), "messages in order")

	t.Run("escapes what players and the model wrote", func(t *testing.T) {
		for _, tc := range []struct{ in, want string }{
			{"# not a heading", `\# not a heading`},
			{"> not a quote", `\> not a quote`},
			{"- not a list", `\- not a list`},
			{"+ not a list", `\+ not a list`},
			{"1. not a list", `1\. not a list`},
			{"===", `\===`},
			{"    not code", `not code`},
			{"*not bold* _nor this_", `\*not bold\* \_nor this\_`},
			{"[link](http://evil)", `\[link\](http://evil)`},
			{"![img](http://evil/x.png)", `\!\[img\](http://evil/x.png)`},
			{"<script>alert(1)</script>", `\<script\>alert(1)\</script\>`},
			{"&lt;", `\&lt;`},
			{"a | b", `a \| b`},
			{"`code`", "\\`code\\`"},
			{`back\slash`, `back\\slash`},
			{"line one\nline two", "line one  \nline two"},
		} {
			d := sample()
			d.Messages = []Message{{ID: "x", Role: RoleDM, Content: tc.in, Visibility: VisibilityPublic}}
			d.Rolls, d.SheetChanges, d.Summary, d.Lore = nil, nil, nil, nil
			assert.Contains(t, string(Markdown(d)), "**DM**\n\n"+tc.want+"\n\n", "content %q", tc.in)
		}
	})
	t.Run("a name cannot close the bold or break the line", func(t *testing.T) {
		d := sample()
		d.Messages = []Message{{ID: "x", Role: RolePlayer, Author: "Eve** # \n<b>", Content: "hi", Visibility: VisibilityPublic}}
		d.Rolls, d.SheetChanges, d.Summary = nil, nil, nil
		assert.Contains(t, string(Markdown(d)), `**Eve\*\* \# \<b\>**`)
	})
	t.Run("a backtick in a dice expression cannot end its code span", func(t *testing.T) {
		d := sample()
		d.Rolls[0].Notation = "1d20`<b>`"
		assert.Contains(t, string(Markdown(d)), "`1d20'<b>'`")
	})
}

func TestDecodeReadsVersion1(t *testing.T) {
	t.Parallel()
	v1 := `{"format":"brightdawn.session","version":1,"exported_at":"2026-12-06T20:00:00Z",
	  "session":{"id":"s1","title":"Old","created_at":"2026-12-06T20:00:00Z"},
	  "messages":[{"id":"m1","role":"player","author":"Ana","content":"I swing.","visibility":"public","created_at":"2026-12-06T20:00:00Z"},
	              {"id":"m2","role":"dm","content":"You hit.","visibility":"public","created_at":"2026-12-06T20:00:01Z"}],
	  "rolls":[{"message_id":"m2","expression":"2d6+3","dice":[4,5],"total":12,"reason":"damage"},
	           {"message_id":"m2","expression":"weird","dice":[7],"total":7}],
	  "sheet_changes":[{"message_id":"m2","character":"Ana","path":"hp","before":10,"after":8},
	                   {"message_id":"m2","character":"Ana","path":"inventory","before":["rope"],"after":[]}],
	  "lore":[],"summary":{"content":"Ana fought.","through_message_id":"m1","updated_at":"2026-12-06T20:00:00Z"}}`
	d, err := Decode(strings.NewReader(v1))
	require.NoError(t, err)
	assert.Equal(t, Version, d.Version, "read into the current shape")
	require.Len(t, d.Messages, 2)
	require.Len(t, d.Rolls, 2)
	assert.Equal(t, Roll{MessageID: "m2", Actor: ActorDM, Roll: dice.Roll{Notation: "2d6+3", Reason: "damage",
		Dice: []dice.Die{{Sides: 6, Value: 4}, {Sides: 6, Value: 5}}, Modifier: 3, Total: 12}}, d.Rolls[0])
	assert.Equal(t, []dice.Die{{Sides: 0, Value: 7}}, d.Rolls[1].Dice, "sides unknown when the expression does not parse")
	require.Len(t, d.SheetChanges, 1, "only whole-number changes carry over")
	assert.Equal(t, rules.Change{Path: "hp", From: 10, To: 8}, d.SheetChanges[0].Change)
	require.Len(t, d.Skipped, 1)
	assert.Equal(t, "sheet_changes", d.Skipped[0].What)
	assert.Equal(t, 1, d.Skipped[0].Count)
	// And it encodes as the current version.
	b, err := Encode(*d)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"version": 2`)
}
