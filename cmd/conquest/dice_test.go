package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/dice"
)

func diceRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runDice(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func turnRolls(t *testing.T) (dice.Seed, []dice.Roll) {
	seed, err := dice.NewSeed()
	require.NoError(t, err)
	r := dice.NewRoller(seed)
	r.Check(dice.MustParse("1d20+3"), "attack", 12)
	r.Roll(dice.MustParse("2d6+1"), "damage")
	return seed, r.Rolls()
}

func TestDiceVerifySeedAndRolls(t *testing.T) {
	seed, rolls := turnRolls(t)
	js, _ := json.Marshal(rolls)
	file := filepath.Join(t.TempDir(), "rolls.json")
	require.NoError(t, os.WriteFile(file, js, 0o600))

	t.Run("honest rolls verify, with the commitment", func(t *testing.T) {
		code, out, _ := diceRun(t, "", "verify", "--seed", seed.Hex(), "--rolls", file, "--commitment", seed.Commitment())
		require.Zero(t, code)
		require.Contains(t, out, "ok: 2 rolls, 3 dice")
		require.Contains(t, out, "matches the commitment")
	})
	t.Run("rolls from stdin verify", func(t *testing.T) {
		code, _, _ := diceRun(t, string(js), "verify", "--seed", seed.Hex(), "--rolls", "-")
		require.Zero(t, code)
	})
	t.Run("a changed die fails, naming it", func(t *testing.T) {
		rolls[1].Dice[1].Value = rolls[1].Dice[1].Value%6 + 1
		bad, _ := json.Marshal(rolls)
		code, _, errs := diceRun(t, string(bad), "verify", "--seed", seed.Hex(), "--rolls", "-")
		require.Equal(t, 1, code)
		require.Contains(t, errs, "roll 1, die 2: value is")
	})
	t.Run("a wrong commitment fails", func(t *testing.T) {
		code, _, errs := diceRun(t, string(js), "verify", "--seed", seed.Hex(), "--rolls", "-", "--commitment", strings.Repeat("0", 64))
		require.Equal(t, 1, code)
		require.Contains(t, errs, "does not match the commitment")
	})
	t.Run("a malformed seed fails", func(t *testing.T) {
		code, _, errs := diceRun(t, string(js), "verify", "--seed", "abc", "--rolls", "-")
		require.Equal(t, 1, code)
		require.Contains(t, errs, "64 hex digits")
	})
	t.Run("no arguments print the usage", func(t *testing.T) {
		code, _, errs := diceRun(t, "", "verify")
		require.Equal(t, 2, code)
		require.Contains(t, errs, "usage")
	})
}

func TestDiceVerifyTurn(t *testing.T) {
	seed, rolls := turnRolls(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good" || r.URL.Path != "/api/turns/t1" {
			http.Error(w, `{"error":{"code":"not_found"}}`, http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"turn": map[string]any{"id": "t1", "status": "completed",
			"dice_seed": seed.Hex(), "dice_commitment": seed.Commitment(), "rolls": rolls}})
	}))
	defer srv.Close()
	code, out, errs := diceRun(t, "", "verify", "--turn", "t1", "--url", srv.URL, "--token", "good")
	require.Zero(t, code, errs)
	require.Contains(t, out, "matches the commitment")

	code, _, errs = diceRun(t, "", "verify", "--turn", "t1", "--url", srv.URL, "--token", "someone else's")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "404")
}
