package dice

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	"strconv"
)

// SeedSize is the length of a turn's secret seed in bytes.
const SeedSize = 32

// Seed is a turn's secret dice seed. It is revealed (as hex) when the turn
// ends; before that only its Commitment is public.
type Seed [SeedSize]byte

// NewSeed draws a fresh seed from crypto/rand.
func NewSeed() (Seed, error) {
	var s Seed
	if _, err := rand.Read(s[:]); err != nil {
		return Seed{}, fmt.Errorf("dice seed: %w", err)
	}
	return s, nil
}

// ParseSeed reads a seed written as 64 hex digits.
func ParseSeed(h string) (Seed, error) {
	var s Seed
	if len(h) != 2*SeedSize {
		return s, fmt.Errorf("dice seed: want %d hex digits, got %d", 2*SeedSize, len(h))
	}
	if _, err := hex.Decode(s[:], []byte(h)); err != nil {
		return s, fmt.Errorf("dice seed: %w", err)
	}
	return s, nil
}

// Hex is the seed as 64 lowercase hex digits, as revealed on the turn.
func (s Seed) Hex() string { return hex.EncodeToString(s[:]) }

// Commitment is hex(sha256(seed)): published when the turn is accepted, it
// binds the server to the seed before any die is rolled.
func (s Seed) Commitment() string {
	sum := sha256.Sum256(s[:])
	return hex.EncodeToString(sum[:])
}

// Outcomes of a roll against a DC or an armour class.
const (
	Success         = "success"
	Failure         = "failure"
	CriticalSuccess = "critical_success"
	CriticalFailure = "critical_failure"
)

// Die is one die of a roll.
type Die struct {
	Sides int `json:"sides"`
	Value int `json:"value"`
}

// Roll is one recorded roll, in the shape of API.md's roll (without the
// id, turn and actor, which the caller adds). Index is the roll's position
// among the rolls drawn from one seed (0, 1, …); its dice are the next
// len(Dice) dice of that seed.
type Roll struct {
	Notation string `json:"notation"`
	Reason   string `json:"reason,omitempty"`
	Dice     []Die  `json:"dice"`
	Modifier int    `json:"modifier"`
	Total    int    `json:"total"`
	DC       *int   `json:"dc,omitempty"`
	Outcome  string `json:"outcome,omitempty"`
	Index    int    `json:"index"`
}

// Natural is the kept d20 of a single-d20 roll (1d20, 2d20kh1, 2d20kl1),
// or 0 when the roll is not one.
func (r Roll) Natural() int {
	n, err := Parse(r.Notation)
	if err != nil || n.Sides != 20 || (n.Count != 1 && n.Keep == KeepAll) {
		return 0
	}
	return kept(n, r.Dice)
}

// Roller hands out the dice of one seed in order (k = 0, 1, …) and records
// the rolls made with it. It is not safe for concurrent use: one turn, one
// roller.
type Roller struct {
	mac   hash.Hash
	k     int
	base  int // the index of the first roll recorded here (ResumeRoller)
	rolls []Roll
	msg   [64]byte
	sum   [sha256.Size]byte
}

// NewRoller returns a roller whose first die is die 0 of seed.
func NewRoller(seed Seed) *Roller {
	return &Roller{mac: hmac.New(sha256.New, seed[:])}
}

// ResumeRoller returns a roller that continues a seed whose first dice
// dice and first rolls rolls were drawn before (a session's open seed for
// player rolls, drawn a roll at a time): its next die is die `dice` and its
// next roll has index `rolls`.
func ResumeRoller(seed Seed, dice, rolls int) *Roller {
	r := NewRoller(seed)
	r.k, r.base = dice, rolls
	return r
}

// Dice is the number of dice handed out so far (the k of the next die).
func (r *Roller) Dice() int { return r.k }

// Rolls returns the rolls recorded so far, in order.
func (r *Roller) Rolls() []Roll { return r.rolls }

// Die draws the next die with the given number of faces. It panics when
// sides is not a valid die; callers pass parsed notations.
func (r *Roller) Die(sides int) int {
	v := r.derive(r.k, sides)
	r.k++
	return v
}

// derive computes die k of the seed with sides faces (API.md): x is the
// first 8 bytes, big endian, of HMAC-SHA256(seed, "<k>:<sides>:<attempt>"),
// retried with the next attempt until x < floor(2^64/sides)*sides so every
// face is equally likely; the value is x % sides + 1.
func (r *Roller) derive(k, sides int) int {
	if !ValidSides(sides) {
		panic("dice: invalid sides " + strconv.Itoa(sides))
	}
	limit := acceptLimit(uint64(sides))
	for attempt := 0; ; attempt++ {
		b := strconv.AppendInt(r.msg[:0], int64(k), 10)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(sides), 10)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(attempt), 10)
		r.mac.Reset()
		r.mac.Write(b)
		r.mac.Sum(r.sum[:0])
		x := binary.BigEndian.Uint64(r.sum[:8])
		if limit == 0 || x < limit {
			return int(x%uint64(sides)) + 1
		}
	}
}

// acceptLimit is floor(2^64/sides)*sides, or 0 when that is 2^64 itself
// (sides a power of two), in which case every x is accepted.
func acceptLimit(sides uint64) uint64 {
	q, rem := math.MaxUint64/sides, math.MaxUint64%sides
	if rem == sides-1 { // sides divides 2^64
		return 0
	}
	return q * sides
}

// Roll rolls a notation and records it with its reason. The total is the
// sum of the kept dice plus the modifier.
func (r *Roller) Roll(n Notation, reason string) Roll {
	return r.record(n, reason, nil)
}

// Check rolls a notation against a DC (or an armour class) and records the
// outcome: total ≥ dc succeeds; on a single d20 (with or without
// advantage) a natural 20 is a critical success and a natural 1 a critical
// failure, whatever the total.
func (r *Roller) Check(n Notation, reason string, dc int) Roll {
	return r.record(n, reason, &dc)
}

func (r *Roller) record(n Notation, reason string, dc *int) Roll {
	ds := make([]Die, n.Count)
	for i := range ds {
		ds[i] = Die{Sides: n.Sides, Value: r.Die(n.Sides)}
	}
	roll := Roll{Notation: n.String(), Reason: reason, Dice: ds, Modifier: n.Modifier, Index: r.base + len(r.rolls)}
	roll.Total = kept(n, ds) + n.Modifier
	if dc != nil {
		roll.DC = dc
		roll.Outcome = outcome(n, ds, roll.Total, *dc)
	}
	r.rolls = append(r.rolls, roll)
	return roll
}

// kept sums the dice that count: all of them, or the highest/lowest one.
func kept(n Notation, ds []Die) int {
	if len(ds) == 0 {
		return 0
	}
	switch n.Keep {
	case KeepHighest:
		best := ds[0].Value
		for _, d := range ds[1:] {
			best = max(best, d.Value)
		}
		return best
	case KeepLowest:
		best := ds[0].Value
		for _, d := range ds[1:] {
			best = min(best, d.Value)
		}
		return best
	}
	sum := 0
	for _, d := range ds {
		sum += d.Value
	}
	return sum
}

func outcome(n Notation, ds []Die, total, dc int) string {
	if n.Sides == 20 && (n.Count == 1 || n.Keep != KeepAll) {
		switch kept(n, ds) {
		case 20:
			return CriticalSuccess
		case 1:
			return CriticalFailure
		}
	}
	if total >= dc {
		return Success
	}
	return Failure
}

// Mismatch is Verify's error: the first thing in a list of rolls that the
// seed does not reproduce.
type Mismatch struct {
	Roll  int    // index in the list
	Die   int    // k of the die, or -1 when the die values match but a total/outcome does not
	Field string // "value", "sides", "total", "outcome", "notation", "count", "modifier"
	Want  string // what the seed gives
	Got   string // what the roll says
}

func (m *Mismatch) Error() string {
	if m.Die >= 0 {
		return fmt.Sprintf("roll %d, die %d: %s is %s, the seed gives %s", m.Roll, m.Die, m.Field, m.Got, m.Want)
	}
	return fmt.Sprintf("roll %d: %s is %s, the seed gives %s", m.Roll, m.Field, m.Got, m.Want)
}

// Verify recomputes every die of rolls, in order, from a revealed seed,
// and checks each roll's notation, dice, modifier, total and outcome. The
// rolls must be all the rolls drawn from the seed up to the last one, in
// index order. It returns nil or a *Mismatch (or a notation error).
func Verify(seed Seed, rolls []Roll) error {
	r := NewRoller(seed)
	for i, got := range rolls {
		n, err := Parse(got.Notation)
		if err != nil {
			return fmt.Errorf("roll %d: %w", i, err)
		}
		if len(got.Dice) != n.Count {
			return &Mismatch{Roll: i, Die: -1, Field: "count", Want: strconv.Itoa(n.Count), Got: strconv.Itoa(len(got.Dice))}
		}
		if got.Modifier != n.Modifier {
			return &Mismatch{Roll: i, Die: -1, Field: "modifier", Want: strconv.Itoa(n.Modifier), Got: strconv.Itoa(got.Modifier)}
		}
		for _, d := range got.Dice {
			k := r.k
			if d.Sides != n.Sides {
				return &Mismatch{Roll: i, Die: k, Field: "sides", Want: strconv.Itoa(n.Sides), Got: strconv.Itoa(d.Sides)}
			}
			if v := r.Die(n.Sides); v != d.Value {
				return &Mismatch{Roll: i, Die: k, Field: "value", Want: strconv.Itoa(v), Got: strconv.Itoa(d.Value)}
			}
		}
		if want := kept(n, got.Dice) + n.Modifier; want != got.Total {
			return &Mismatch{Roll: i, Die: -1, Field: "total", Want: strconv.Itoa(want), Got: strconv.Itoa(got.Total)}
		}
		if got.DC != nil {
			if want := outcome(n, got.Dice, got.Total, *got.DC); want != got.Outcome {
				return &Mismatch{Roll: i, Die: -1, Field: "outcome", Want: want, Got: got.Outcome}
			}
		} else if got.Outcome != "" {
			return &Mismatch{Roll: i, Die: -1, Field: "outcome", Want: "none (no dc)", Got: got.Outcome}
		}
	}
	return nil
}

// ErrCommitment is returned by CheckCommitment when a seed does not match.
var ErrCommitment = errors.New("the seed does not match the commitment")

// CheckCommitment reports whether commitment is hex(sha256(seed)).
func CheckCommitment(seed Seed, commitment string) error {
	if !hmac.Equal([]byte(seed.Commitment()), []byte(commitment)) {
		return ErrCommitment
	}
	return nil
}
