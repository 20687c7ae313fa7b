package rules

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	t.Run("short ability names and plain-string items are accepted", func(t *testing.T) {
		s, err := pack.Normalize([]byte(`{"abilities":{"STR":16,"dex":14,"wisdom":8},"hp":{"current":7,"max":12},
			"inventory":["Potion of Healing",{"name":"rope","qty":2},"healing potion"],"conditions":["Poisoned"],"gold":3,"xp":900}`))
		require.NoError(t, err)
		require.Equal(t, Abilities{16, 14, 10, 10, 8, 10}, s.Abilities)
		require.Equal(t, []Item{{"healing potion", 2}, {"rope", 2}}, s.Inventory)
		require.Equal(t, []string{"poisoned"}, s.Conditions)
		require.Equal(t, 3, s.Level)
		require.Equal(t, 10, s.AC)
		b, err := json.Marshal(s)
		require.NoError(t, err)
		require.Contains(t, string(b), `"strength":16`, "responses use the full names")
	})
	t.Run("an empty sheet gets the defaults", func(t *testing.T) {
		s, err := pack.Normalize([]byte(`{}`))
		require.NoError(t, err)
		require.Equal(t, HP{10, 10}, s.HP)
		require.Equal(t, 1, s.Level)
		require.NotNil(t, s.Inventory)
	})
	for in, field := range map[string]string{
		`{"abilities":{"str":10,"Strength":12}}`:            "abilities.",
		`{"abilities":{"luck":10}}`:                         "abilities.luck",
		`{"abilities":{"str":31}}`:                          "abilities.strength",
		`{"abilities":{"str":"x"}}`:                         "abilities",
		`{"hp":{"current":13,"max":12}}`:                    "hp.current",
		`{"hp":{"current":-1,"max":12}}`:                    "hp.current",
		`{"hp":{"current":0,"max":0}}`:                      "hp.max",
		`{"gold":-1}`:                                       "gold",
		`{"ac":0}`:                                          "ac",
		`{"conditions":["sleepy"]}`:                         "conditions[0]",
		`{"conditions":["prone","Prone"]}`:                  "conditions[1]",
		`{"inventory":[{"name":"rope","qty":0}]}`:           "inventory[0].qty",
		`{"inventory":[42]}`:                                "inventory[0]",
		`{"inventory":["\u202egnir"]}`:                      "inventory[0].name",
		`{"inventory":["\u200b\u2060"]}`:                    "inventory[0].name",
		`{"inventory":["  "]}`:                              "inventory[0].name",
		`{"inventory":["` + strings.Repeat("a", 65) + `"]}`: "inventory[0].name",
		`{"wings":2}`:                                       "wings",
		`[1]`:                                               "sheet",
		`{"level":21}`:                                      "level",
	} {
		t.Run("refused: "+in, func(t *testing.T) {
			_, err := pack.Normalize([]byte(in))
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "%v", err)
			require.True(t, strings.HasPrefix(fe.Field, field), "field %q, want %q (%v)", fe.Field, field, err)
		})
	}
}

// FuzzNormalize: any input is either refused with a *FieldError or gives a
// sheet that validates and survives a JSON round trip.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{`{}`, `{"abilities":{"str":16,"dex":14},"inventory":["rope",{"name":"potion","qty":2}]}`,
		`{"hp":{"current":3,"max":5},"conditions":["prone"]}`, `{"inventory":["\u202e"]}`, `{"abilities":{"str":1,"strength":2}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := pack.Normalize(b)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			return
		}
		if err := pack.Validate(s); err != nil {
			t.Fatalf("normalised sheet does not validate: %v", err)
		}
		out, _ := json.Marshal(s)
		again, err := pack.Normalize(out)
		if err != nil {
			t.Fatalf("the normalised sheet %s is refused: %v", out, err)
		}
		if again.HP != s.HP || len(again.Inventory) != len(s.Inventory) || again.Abilities != s.Abilities {
			t.Fatalf("round trip changed the sheet: %+v → %+v", s, again)
		}
	})
}

func TestLoadPack(t *testing.T) {
	t.Parallel()
	require.Equal(t, "srd-5.1-basics", pack.Name)
	kind, ok := pack.Item("Potion of healing")
	require.True(t, ok)
	require.Equal(t, "2d4+2", kind.Heal)
	require.Equal(t, 2, pack.Level(300))
	require.Equal(t, 20, pack.Level(1_000_000))

	for name, c := range map[string]struct{ yaml, says string }{
		"unknown field":            {"name: x\nwat: 1\n", "field wat not found"},
		"no name":                  {"levels: [0]\ndcs: {easy: 10}\nunarmed: {damage: 1d4, ability: strength}\n", "name: required"},
		"a bad heal notation":      {base + "items:\n  - {name: p, kind: consumable, heal: 2d7}\n", "items[0].heal"},
		"an unknown item kind":     {base + "items:\n  - {name: p, kind: magic}\n", "items[0].kind"},
		"an unknown condition":     {base + "zero_hp: {add_conditions: [dead]}\n", "zero_hp.add_conditions[0]"},
		"levels out of order":      {strings.Replace(base, "[0, 300]", "[0, 300, 200]", 1), "levels[2]"},
		"a duplicate item name":    {base + "items:\n  - {name: p, kind: gear}\n  - {name: q, aliases: [P], kind: gear}\n", "used by two items"},
		"a DC out of range":        {strings.Replace(base, "easy: 10", "easy: 40", 1), "dcs.easy"},
		"an unknown ability abbr.": {base + "ability_abbreviations: {lck: luck}\n", "ability_abbreviations.lck"},
	} {
		t.Run("refused: "+name, func(t *testing.T) {
			_, err := Load([]byte(c.yaml))
			require.ErrorContains(t, err, c.says)
		})
	}
	_, err := Load([]byte(base))
	require.NoError(t, err)
}

const base = "name: tiny\ndcs: {easy: 10}\nlevels: [0, 300]\nunarmed: {damage: 1d4, ability: strength}\n"

func TestOpen(t *testing.T) {
	t.Parallel()
	p, err := Open("")
	require.NoError(t, err)
	require.Equal(t, "srd-5.1-basics", p.Name)
	dir := t.TempDir()
	good := dir + "/good.yaml"
	require.NoError(t, os.WriteFile(good, []byte(base), 0o600))
	p, err = Open(good)
	require.NoError(t, err)
	require.Equal(t, "tiny", p.Name)
	bad := dir + "/bad.yaml"
	require.NoError(t, os.WriteFile(bad, []byte(base+"items:\n  - {name: p, kind: consumable, heal: 1d7}\n"), 0o600))
	_, err = Open(bad)
	require.EqualError(t, err, "rule pack "+bad+": items[0].heal: invalid dice notation: a d7 does not exist; sides must be 2, 3, 4, 6, 8, 10, 12, 20 or 100")
	_, err = Open(dir + "/missing.yaml")
	require.ErrorContains(t, err, "no such file")
}

// A sheet stored by round 1 (internal/dm.Sheet: full ability names,
// inventory as strings, no gold or conditions) reads as a valid sheet, so
// existing characters need no data migration.
func TestNormalizeReadsRoundOneSheets(t *testing.T) {
	t.Parallel()
	s, err := pack.Normalize([]byte(`{"abilities":{"strength":10,"dexterity":17,"constitution":12,"intelligence":13,"wisdom":11,"charisma":14},
		"hp":{"current":7,"max":9},"inventory":["shortsword","thieves' tools","healing potion"],"notes":"Owes the guild."}`))
	require.NoError(t, err)
	require.Equal(t, 17, s.Abilities.Dexterity)
	require.Equal(t, HP{Current: 7, Max: 9}, s.HP)
	require.Equal(t, []Item{{"shortsword", 1}, {"thieves' tools", 1}, {"healing potion", 1}}, s.Inventory)
	require.Zero(t, s.Gold)
	require.Equal(t, 1, s.Level)
}
