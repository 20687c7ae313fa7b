package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/codeofconquest/brightdawn/internal/dice"
)

const diceUsage = `usage: conquest dice verify --seed HEX --rolls FILE|- [--commitment HEX]
       conquest dice verify --turn ID --url BASE --token ACCESS_TOKEN

Recomputes every die of a turn from its revealed seed (docs/DICE.md) and
exits 1 naming the first die that differs.`

// runDice is `conquest dice verify`. It needs no configuration, database or
// Redis: a player runs it on their own machine.
func runDice(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, diceUsage)
		return 2
	}
	fs := flag.NewFlagSet("dice verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seedHex := fs.String("seed", "", "the revealed dice seed (64 hex digits)")
	rollsPath := fs.String("rolls", "", "a JSON file with the rolls ([roll] or {rolls:[roll]}), - for stdin")
	commitment := fs.String("commitment", "", "the commitment published when the turn was accepted")
	turn := fs.String("turn", "", "a turn id to fetch from the server")
	base := fs.String("url", "", "the server's base URL, e.g. https://play.example.org")
	token := fs.String("token", "", "an access token of a member of the turn's session")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	var rolls []dice.Roll
	switch {
	case *turn != "":
		if *base == "" || *token == "" {
			fmt.Fprintln(stderr, "dice verify: --turn needs --url and --token")
			return 2
		}
		t, err := fetchTurn(ctx, *base, *turn, *token)
		if err != nil {
			fmt.Fprintln(stderr, "dice verify:", err)
			return 1
		}
		if t.DiceSeed == "" {
			fmt.Fprintln(stderr, "dice verify: the turn's seed is not revealed yet (the turn has not ended)")
			return 1
		}
		*seedHex, rolls = t.DiceSeed, t.Rolls
		if *commitment == "" {
			*commitment = t.DiceCommitment
		}
	case *seedHex != "" && *rollsPath != "":
		var err error
		if rolls, err = readRolls(*rollsPath, stdin); err != nil {
			fmt.Fprintln(stderr, "dice verify:", err)
			return 1
		}
	default:
		fmt.Fprintln(stderr, diceUsage)
		return 2
	}
	seed, err := dice.ParseSeed(strings.TrimSpace(*seedHex))
	if err != nil {
		fmt.Fprintln(stderr, "dice verify:", err)
		return 1
	}
	if *commitment != "" {
		if err := dice.CheckCommitment(seed, strings.ToLower(strings.TrimSpace(*commitment))); err != nil {
			fmt.Fprintf(stderr, "dice verify: %v: sha256(seed) is %s\n", err, seed.Commitment())
			return 1
		}
	}
	if err := dice.Verify(seed, rolls); err != nil {
		fmt.Fprintln(stderr, "dice verify: MISMATCH:", err)
		return 1
	}
	dieCount := 0
	for _, r := range rolls {
		dieCount += len(r.Dice)
	}
	fmt.Fprintf(stdout, "ok: %d rolls, %d dice recomputed from the seed", len(rolls), dieCount)
	if *commitment != "" {
		fmt.Fprint(stdout, "; the seed matches the commitment")
	}
	fmt.Fprintln(stdout)
	return 0
}

// rollsFile accepts a bare list or any object with a "rolls" list (a
// turn as GET /api/turns/{id} returns it, with or without its envelope).
type rollsFile struct {
	Rolls []dice.Roll `json:"rolls"`
	Turn  *turnDice   `json:"turn"`
}

type turnDice struct {
	DiceSeed       string      `json:"dice_seed"`
	DiceCommitment string      `json:"dice_commitment"`
	Rolls          []dice.Roll `json:"rolls"`
}

func readRolls(path string, stdin io.Reader) ([]dice.Roll, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, 16<<20))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	var list []dice.Roll
	if json.Unmarshal(b, &list) == nil {
		return list, nil
	}
	var f rollsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: not a list of rolls nor an object with rolls: %w", path, err)
	}
	if f.Turn != nil {
		return f.Turn.Rolls, nil
	}
	return f.Rolls, nil
}

func fetchTurn(ctx context.Context, base, id, token string) (*turnDice, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	u := strings.TrimRight(base, "/") + "/api/turns/" + url.PathEscape(id)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	var body rollsFile
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if body.Turn == nil {
		return nil, errors.New("the answer has no turn")
	}
	return body.Turn, nil
}
