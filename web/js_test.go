package web_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/dice"
)

// The client's JavaScript has tests of its own (web/test/*.test.mjs, run
// with Node's built-in runner). Node is a prerequisite of the project (the
// dev stack needs it), so a missing node fails here rather than skipping.
func nodeBin(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	require.NoError(t, err, "node is a prerequisite (README): install Node.js 20 or later")
	return node
}

func TestJavaScriptUnits(t *testing.T) {
	node := nodeBin(t)
	files, err := filepath.Glob("test/*.test.mjs")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out, err := exec.Command(node, append([]string{"--test"}, files...)...).CombinedOutput()
	require.NoError(t, err, "node --test:\n%s", out)
}

type verifyCase struct {
	Seed       string      `json:"seed"`
	Commitment string      `json:"commitment"`
	Rolls      []dice.Roll `json:"rolls"`
}

type verifyResult struct {
	OK           bool    `json:"ok"`
	CommitmentOK *bool   `json:"commitmentOk"`
	Dice         int     `json:"dice"`
	Mismatch     *string `json:"mismatch"`
}

// TestBrowserVerifierAgreesWithServer rolls turns with internal/dice (the
// server's roller) and has the browser's verifier (web/static/js/dice.js,
// under Node's WebCrypto) recompute them: every genuine turn verifies, and
// a turn with one die changed is caught at that die.
func TestBrowserVerifierAgreesWithServer(t *testing.T) {
	node := nodeBin(t)
	rng := rand.New(rand.NewPCG(7, 11))
	notations := []string{"1d20+5", "2d20kh1+3", "2d20kl1-1", "8d6", "1d4", "3d8+2", "1d12", "2d10-2", "1d100", "4d3", "1d2+1", "100d6"}
	var cases []verifyCase
	var tampered []string // want mismatch text per tampered case
	for i := 0; i < 40; i++ {
		seed, err := dice.NewSeed()
		require.NoError(t, err)
		r := dice.NewRoller(seed)
		for j := 0; j < 1+rng.IntN(5); j++ {
			n := dice.MustParse(notations[rng.IntN(len(notations))])
			if rng.IntN(2) == 0 {
				r.Check(n, "check", 5+rng.IntN(20))
			} else {
				r.Roll(n, "roll")
			}
		}
		rolls := append([]dice.Roll(nil), r.Rolls()...)
		cases = append(cases, verifyCase{Seed: seed.Hex(), Commitment: seed.Commitment(), Rolls: rolls})
		tampered = append(tampered, "")

		// The same turn with its last roll's last die changed (total kept
		// consistent, so only the die can give it away).
		bad := make([]dice.Roll, len(rolls))
		for x, roll := range rolls {
			bad[x] = roll
			bad[x].Dice = append([]dice.Die(nil), roll.Dice...)
		}
		last := &bad[len(bad)-1]
		d := &last.Dice[len(last.Dice)-1]
		old := d.Value
		d.Value = old%d.Sides + 1
		last.Total += d.Value - old
		last.DC, last.Outcome = nil, ""
		k := 0
		for _, roll := range rolls {
			k += len(roll.Dice)
		}
		cases = append(cases, verifyCase{Seed: seed.Hex(), Commitment: seed.Commitment(), Rolls: bad})
		tampered = append(tampered, fmt.Sprintf("roll %d: die %d (d%d) shows %d, the seed gives %d", last.Index, k-1, d.Sides, d.Value, old))
	}
	require.Error(t, dice.Verify(mustSeed(t, cases[1].Seed), cases[1].Rolls), "the server's verifier rejects the tampered turn too")

	in := filepath.Join(t.TempDir(), "cases.json")
	body, err := json.Marshal(map[string]any{"cases": cases})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(in, body, 0o600))
	out, err := exec.Command(node, "test/verify-cli.mjs", in).Output()
	require.NoError(t, err, "verify-cli: %s", out)
	var got []verifyResult
	require.NoError(t, json.Unmarshal(out, &got), string(out))
	require.Len(t, got, len(cases))
	for i, res := range got {
		dice := 0
		for _, roll := range cases[i].Rolls {
			dice += len(roll.Dice)
		}
		require.Equal(t, dice, res.Dice, "case %d", i)
		require.NotNil(t, res.CommitmentOK, "case %d", i)
		require.True(t, *res.CommitmentOK, "case %d", i)
		if tampered[i] == "" {
			require.True(t, res.OK, "case %d: %v", i, res.Mismatch)
			require.Nil(t, res.Mismatch, "case %d", i)
		} else {
			require.False(t, res.OK, "case %d", i)
			require.NotNil(t, res.Mismatch, "case %d", i)
			require.Equal(t, tampered[i], *res.Mismatch, "case %d", i)
		}
	}
}

func mustSeed(t *testing.T, h string) dice.Seed {
	t.Helper()
	s, err := dice.ParseSeed(h)
	require.NoError(t, err)
	return s
}
