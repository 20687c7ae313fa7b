package dice

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	t.Parallel()
	t.Run("valid notations parse to their canonical form", func(t *testing.T) {
		for in, want := range map[string]string{
			"1d20":      "1d20",
			"d20":       "1d20",
			"1d20+3":    "1d20+3",
			"1D20 - 1":  "1d20-1",
			"2d6+0":     "2d6",
			"100d100":   "100d100",
			"2d20kh1":   "2d20kh1",
			"2d20kl1+5": "2d20kl1+5",
			"3d4-1000":  "3d4-1000",
			"1d3":       "1d3",
			"1d2":       "1d2",
		} {
			n, err := Parse(in)
			require.NoError(t, err, in)
			require.Equal(t, want, n.String(), in)
		}
	})
	t.Run("invalid notations are refused with the problem named", func(t *testing.T) {
		for in, says := range map[string]string{
			"":                      "empty",
			"d":                     "sides is missing",
			"1d7":                   "d7 does not exist",
			"101d6":                 "at most 100 dice",
			"0d6":                   "at least 1",
			"1d20+":                 "modifier after + is missing",
			"1d20*2":                "a modifier is +K or -K",
			"1d20+1001":             "between -1000 and +1000",
			"3d20kh1":               "only for advantage",
			"2d6kh1":                "only for advantage",
			"2d20kh2":               "only for advantage",
			"1d20+3+4":              "after the modifier",
			"x1d20":                 "expected NdM",
			"99999999d6":            "at most 100 dice",
			strings.Repeat("1", 40): "longer than",
		} {
			_, err := Parse(in)
			require.Error(t, err, in)
			require.True(t, errors.Is(err, ErrNotation), in)
			require.Contains(t, err.Error(), says, in)
		}
	})
}

// The golden values were computed independently of this package, with
// python3's hmac module:
//
//	seed = bytes(range(32))
//	hashlib.sha256(seed).hexdigest()
//	x = int.from_bytes(hmac.new(seed, f"{k}:{s}:0".encode(), hashlib.sha256).digest()[:8], "big")
//	x % s + 1
//
// and die 0 cross-checked with openssl:
//
//	echo -n "0:20:0" | openssl dgst -sha256 -mac HMAC -macopt hexkey:000102…1f
//	→ d1db8e1dc14cd1d8… ; 0xd1db8e1dc14cd1d8 % 20 + 1 = 9
func TestGoldenDerivation(t *testing.T) {
	t.Parallel()
	var seed Seed
	for i := range seed {
		seed[i] = byte(i)
	}
	require.Equal(t, "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd", seed.Commitment())
	require.Equal(t, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", seed.Hex())
	r := NewRoller(seed)
	for k, want := range []struct{ sides, value int }{{20, 9}, {20, 19}, {6, 2}, {100, 24}, {2, 1}, {8, 6}} {
		require.Equal(t, k, r.Dice())
		require.Equal(t, want.value, r.Die(want.sides), "die %d (d%d)", k, want.sides)
	}
}

func TestAcceptLimit(t *testing.T) {
	t.Parallel()
	// Powers of two divide 2^64: every x is accepted.
	for _, s := range []uint64{2, 4, 8} {
		require.Zero(t, acceptLimit(s), s)
	}
	// Otherwise floor(2^64/s)*s, computed with big arithmetic by hand:
	// 2^64 = 18446744073709551616.
	require.Equal(t, uint64(18446744073709551615), acceptLimit(3))  // 2^64 ≡ 1 mod 3
	require.Equal(t, uint64(18446744073709551612), acceptLimit(6))  // ≡ 4 mod 6
	require.Equal(t, uint64(18446744073709551600), acceptLimit(20)) // ≡ 16 mod 20
	require.Equal(t, uint64(18446744073709551600), acceptLimit(100))
}

func TestRollAndVerify(t *testing.T) {
	t.Parallel()
	seed, err := NewSeed()
	require.NoError(t, err)
	r := NewRoller(seed)
	r.Roll(MustParse("2d6+1"), "damage")
	chk := r.Check(MustParse("2d20kh1+3"), "climb", 12)
	r.Check(MustParse("1d20"), "save", 10)
	r.Roll(MustParse("4d4"), "heal")
	rolls := r.Rolls()
	require.Len(t, rolls, 4)
	require.Equal(t, 9, r.Dice())
	require.Equal(t, 1, chk.Index)
	require.Equal(t, max(chk.Dice[0].Value, chk.Dice[1].Value)+3, chk.Total)
	require.NotEmpty(t, chk.Outcome)
	require.NoError(t, Verify(seed, rolls))
	require.NoError(t, CheckCommitment(seed, seed.Commitment()))

	t.Run("a changed die is found and named", func(t *testing.T) {
		bad := clone(rolls)
		bad[3].Dice[2].Value = bad[3].Dice[2].Value%4 + 1
		var m *Mismatch
		require.ErrorAs(t, Verify(seed, bad), &m)
		require.Equal(t, 3, m.Roll)
		require.Equal(t, 7, m.Die)
		require.Equal(t, "value", m.Field)
	})
	t.Run("a changed total is found", func(t *testing.T) {
		bad := clone(rolls)
		bad[0].Total++
		var m *Mismatch
		require.ErrorAs(t, Verify(seed, bad), &m)
		require.Equal(t, "total", m.Field)
	})
	t.Run("a changed outcome is found", func(t *testing.T) {
		bad := clone(rolls)
		bad[2].Outcome = "nope"
		var m *Mismatch
		require.ErrorAs(t, Verify(seed, bad), &m)
		require.Equal(t, "outcome", m.Field)
	})
	t.Run("another seed does not verify", func(t *testing.T) {
		other, _ := NewSeed()
		require.Error(t, Verify(other, rolls))
		require.ErrorIs(t, CheckCommitment(other, seed.Commitment()), ErrCommitment)
	})
}

func clone(rs []Roll) []Roll {
	out := make([]Roll, len(rs))
	for i, r := range rs {
		r.Dice = append([]Die(nil), r.Dice...)
		out[i] = r
	}
	return out
}

func TestOutcomeCriticals(t *testing.T) {
	t.Parallel()
	n := MustParse("1d20+50")
	require.Equal(t, CriticalFailure, outcome(n, []Die{{20, 1}}, 51, 10))
	require.Equal(t, CriticalSuccess, outcome(MustParse("1d20-50"), []Die{{20, 20}}, -30, 10))
	require.Equal(t, Success, outcome(n, []Die{{20, 5}}, 55, 55))
	require.Equal(t, Failure, outcome(n, []Die{{20, 5}}, 55, 56))
	// Disadvantage keeps the 1.
	require.Equal(t, CriticalFailure, outcome(MustParse("2d20kl1"), []Die{{20, 20}, {20, 1}}, 1, 5))
	// A 2d6 has no criticals.
	require.Equal(t, Failure, outcome(MustParse("2d6"), []Die{{6, 1}, {6, 1}}, 2, 3))
}

// TestDistribution is a chi-square goodness-of-fit test over 100,000 dice
// per die size from a fixed seed. The critical values are for p = 0.001
// with sides-1 degrees of freedom, so a fair derivation fails about once
// in a thousand seeds; the seed is fixed, so the test is deterministic.
func TestDistribution(t *testing.T) {
	t.Parallel()
	critical := map[int]float64{2: 10.828, 3: 13.816, 4: 16.266, 6: 20.515, 8: 24.322, 10: 27.877, 12: 31.264, 20: 43.820, 100: 148.230}
	var seed Seed
	copy(seed[:], "bright dawn chi-square test seed")
	const n = 100_000
	for sides, crit := range critical {
		r := NewRoller(seed)
		counts := make([]int, sides+1)
		for range n {
			v := r.Die(sides)
			require.True(t, v >= 1 && v <= sides)
			counts[v]++
		}
		expected := float64(n) / float64(sides)
		chi := 0.0
		for _, c := range counts[1:] {
			d := float64(c) - expected
			chi += d * d / expected
		}
		require.Less(t, chi, crit, "d%d: chi-square %.2f", sides, chi)
		require.False(t, math.IsNaN(chi))
	}
}

func TestDieAllocatesNothing(t *testing.T) {
	r := NewRoller(Seed{})
	allocs := testing.AllocsPerRun(1000, func() { r.Die(20) })
	require.Zero(t, allocs)
}

func BenchmarkDie(b *testing.B) {
	r := NewRoller(Seed{1})
	b.ReportAllocs()
	for b.Loop() {
		r.Die(20)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Parse("2d20kh1+5")
	}
}
