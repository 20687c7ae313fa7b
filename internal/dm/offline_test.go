package dm

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/stretchr/testify/require"
)

// stream runs the offline narrator and collects its deltas.
func stream(t *testing.T, o *Offline, p Prompt) (string, []string, Usage) {
	t.Helper()
	var deltas []string
	u, err := o.Stream(context.Background(), p, func(d string) error {
		deltas = append(deltas, d)
		return nil
	})
	require.NoError(t, err)
	return strings.Join(deltas, ""), deltas, u
}

func TestOfflineIsNamedOffline(t *testing.T) {
	t.Parallel()
	require.Equal(t, "offline", NewOffline(OfflineOptions{}).Name())
}

func TestOfflineNarratesTheSameForTheSameSeed(t *testing.T) {
	t.Parallel()
	p := Prompt{Character: aria(), Memory: smithMemory, Player: "I sneak past the guards toward the mill", Seed: 99}
	a, _, _ := stream(t, NewOffline(OfflineOptions{}), p)
	b, _, _ := stream(t, NewOffline(OfflineOptions{}), p)
	require.Equal(t, a, b)
	require.Equal(t, narrate(p), a)
}

func TestOfflineVariesWithTheSeed(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for seed := range int64(10) {
		text, _, _ := stream(t, NewOffline(OfflineOptions{}), Prompt{Character: aria(), Player: "I attack the ogre", Seed: seed})
		seen[text] = true
	}
	require.GreaterOrEqual(t, len(seen), 5, "ten seeds should tell at least five different stories")
}

func TestOfflineStreamsWordByWord(t *testing.T) {
	t.Parallel()
	p := Prompt{Character: aria(), Memory: smithMemory, Player: "I attack the goblin with my shortsword", Seed: 3}
	text, deltas, _ := stream(t, NewOffline(OfflineOptions{}), p)
	require.Equal(t, narrate(p), text, "the deltas are the whole reply")
	require.Greater(t, len(deltas), 10)
	for i, d := range deltas {
		word := d
		if i < len(deltas)-1 {
			require.True(t, strings.HasSuffix(d, " "), "delta %d %q ends with a space", i, d)
			word = strings.TrimSuffix(d, " ")
		}
		require.NotEmpty(t, word)
		require.NotContains(t, word, " ", "delta %d %q is one word", i, d)
	}
}

func TestOfflineCountsUsage(t *testing.T) {
	t.Parallel()
	p := Prompt{
		System: DefaultSystemPrompt, Character: aria(), Memory: smithMemory,
		Recent: []Turn{{Role: RolePlayer, Content: "Hello"}, {Role: RoleDM, Content: "The tavern is warm."}},
		Player: "I look around", Seed: 1,
	}
	text, _, u := stream(t, NewOffline(OfflineOptions{}), p)
	want := embed.CountTokens(DefaultSystemPrompt) + embed.CountTokens(aria().Describe()) +
		embed.CountTokens(smithMemory[0].Content) + embed.CountTokens(smithMemory[1].Content) +
		embed.CountTokens("Hello") + embed.CountTokens("The tavern is warm.") + embed.CountTokens("I look around")
	require.Equal(t, want, u.PromptTokens)
	require.Equal(t, embed.CountTokens(text), u.CompletionTokens)
}

func TestOfflineKeepsWithinMaxTokens(t *testing.T) {
	t.Parallel()
	p := Prompt{Character: aria(), Memory: smithMemory, Player: "I search the chapel", Seed: 5, MaxTokens: 12}
	text, _, u := stream(t, NewOffline(OfflineOptions{}), p)
	require.LessOrEqual(t, u.CompletionTokens, 12)
	require.True(t, strings.HasPrefix(narrate(p), text))
}

func TestOfflineStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	t.Run("mid-stream it returns promptly and emits nothing more", func(t *testing.T) {
		// An hour between words: only cancellation can end this stream.
		o := NewOffline(OfflineOptions{WordDelay: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var deltas []string
		type result struct {
			u   Usage
			err error
		}
		done := make(chan result, 1)
		go func() {
			u, err := o.Stream(ctx, Prompt{Player: "I attack", Seed: 1}, func(d string) error {
				deltas = append(deltas, d)
				cancel() // cancelled right after the first word
				return nil
			})
			done <- result{u, err}
		}()
		select {
		case r := <-done:
			require.ErrorIs(t, r.err, context.Canceled)
			require.Len(t, deltas, 1)
			require.Equal(t, embed.CountTokens(deltas[0]), r.u.CompletionTokens)
		case <-time.After(10 * time.Second):
			t.Fatal("Stream did not return after cancellation")
		}
	})
	t.Run("without a delay it still stops at the next word", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := 0
		_, err := NewOffline(OfflineOptions{}).Stream(ctx, Prompt{Player: "I attack", Seed: 1}, func(string) error {
			n++
			if n == 3 {
				cancel()
			}
			return nil
		})
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, 3, n)
	})
	t.Run("an already cancelled turn emits nothing", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := NewOffline(OfflineOptions{}).Stream(ctx, Prompt{Player: "I attack"}, func(string) error {
			t.Fatal("emit called")
			return nil
		})
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("a deadline during the pause between words ends the stream", func(t *testing.T) {
		// Without the pause all words would be out long before the
		// deadline: one word proves WordDelay is spent between words.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		n := 0
		_, err := NewOffline(OfflineOptions{WordDelay: time.Hour}).Stream(ctx, Prompt{Player: "I hide"}, func(string) error {
			n++
			return nil
		})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Equal(t, 1, n)
	})
}

func TestOfflineStopsWhenEmitFails(t *testing.T) {
	t.Parallel()
	gone := errors.New("client gone")
	n := 0
	_, err := NewOffline(OfflineOptions{}).Stream(context.Background(), Prompt{Player: "I attack", Seed: 1}, func(string) error {
		n++
		if n == 3 {
			return gone
		}
		return nil
	})
	require.ErrorIs(t, err, gone)
	require.Equal(t, 3, n)
}

func TestOfflineRefersToRetrievedMemory(t *testing.T) {
	t.Parallel()
	t.Run("an action quotes the top memory", func(t *testing.T) {
		for seed := range int64(20) {
			text := narrate(Prompt{Character: aria(), Memory: smithMemory, Player: "I search the forge", Seed: seed})
			require.Contains(t, text, `"The smith wipes his hands on his apron.`, "seed %d", seed)
			require.NotContains(t, text, "old mill", "only the top memory is quoted")
		}
	})
	t.Run("a recall question is answered from the top memory", func(t *testing.T) {
		for seed := range int64(20) {
			text := narrate(Prompt{Character: aria(), Memory: smithMemory, Player: "What was the name of the blacksmith's daughter?", Seed: seed})
			require.Contains(t, text, "Her name is Ysolde", "seed %d", seed)
			require.NotContains(t, text, "check:", "the memory answers, no roll needed")
		}
	})
	t.Run("a recall question without memory rolls Intelligence", func(t *testing.T) {
		text := narrate(Prompt{Character: aria(), Player: "What was the name of the blacksmith's daughter?", Seed: 1})
		require.Contains(t, text, "(Intelligence check:")
		require.NotContains(t, text, "Ysolde")
	})
	t.Run("a recall of the player's own words says so", func(t *testing.T) {
		mem := []Memory{{Role: RolePlayer, Content: "I hid the key under the third stone of the well."}}
		text := narrate(Prompt{Memory: mem, Player: "Where did I hide the key?", Seed: 4})
		require.Contains(t, text, `"I hid the key under the third stone of the well."`)
		require.Regexp(t, "your own words|you who said it", text)
	})
}

// rollPattern parses a stated roll.
var rollPattern = regexp.MustCompile(`\(([A-Z][a-z]+) (check|attack): (\d+) ([+-]) (\d+) = (-?\d+) vs (DC|AC) (\d+) — ([a-z ]+)\)`)

func TestOfflineRollsFollowTheRules(t *testing.T) {
	t.Parallel()
	players := []string{
		"I attack the goblin with my shortsword", "I sneak past the guards", "I persuade the captain",
		"I search the room", "I cast a spell", "I climb the sheer cliff", "We rest", "Who was the hermit?",
	}
	for _, c := range []*Character{nil, aria()} {
		for _, player := range players {
			for seed := range int64(60) {
				text := narrate(Prompt{Character: c, Player: player, Seed: seed})
				m := rollPattern.FindStringSubmatch(text)
				require.NotNil(t, m, "%q seed %d states its roll: %s", player, seed, text)
				roll, _ := strconv.Atoi(m[3])
				bonus, _ := strconv.Atoi(m[5])
				if m[4] == "-" {
					bonus = -bonus
				}
				total, _ := strconv.Atoi(m[6])
				dc, _ := strconv.Atoi(m[8])
				require.True(t, roll >= 1 && roll <= 20)
				require.Equal(t, roll+bonus, total, text)
				if c == nil {
					require.Zero(t, bonus, "no character rolls +0")
				}
				words := map[string][3]string{ // failure, success, natural 20
					"check":  {"failure", "success", "critical success"},
					"attack": {"miss", "hit", "critical hit"},
				}[m[2]]
				want := words[0]
				switch {
				case roll == 20:
					want = words[2]
				case roll == 1:
					want = "fumble"
				case total >= dc:
					want = words[1]
				}
				require.Equal(t, want, m[9], text)
			}
		}
	}
}

func TestOfflineNarratesTheCharacter(t *testing.T) {
	t.Parallel()
	t.Run("with a character it names them and uses their gear", func(t *testing.T) {
		text := narrate(Prompt{Character: aria(), Player: "I attack the goblin with my sword", Seed: 1})
		require.True(t, strings.HasPrefix(text, "Aria, you "), text)
		require.Contains(t, text, "(Dexterity attack:", "a shortsword is a finesse weapon")
		require.Contains(t, text, "your shortsword", "the inventory's sword")
		require.Contains(t, text, "HP 4/21", "badly hurt")
	})
	t.Run("without a character it narrates to You", func(t *testing.T) {
		text := narrate(Prompt{Player: "I attack the goblin", Seed: 1})
		require.True(t, strings.HasPrefix(text, "You "), text)
		require.NotContains(t, text, "Aria")
		require.Contains(t, text, "(Strength attack:")
	})
	t.Run("a rest heals by the class's hit die", func(t *testing.T) {
		for seed := range int64(30) {
			text := narrate(Prompt{Character: aria(), Player: "I rest", Seed: seed})
			if strings.Contains(text, "— fumble)") {
				continue // interrupted, nothing healed
			}
			require.Regexp(t, `recovering \d+ hit points \(HP 4 → \d+/21\)`, text)
		}
	})
	t.Run("a fumbled attack hurts", func(t *testing.T) {
		found := false
		for seed := range int64(200) {
			text := narrate(Prompt{Character: aria(), Player: "I attack the troll", Seed: seed})
			if strings.Contains(text, "— fumble)") {
				require.Regexp(t, `\(HP 4 → \d/21\)`, text)
				found = true
			}
		}
		require.True(t, found, "200 seeds roll at least one natural 1")
	})
	t.Run("every reply ends by asking the player", func(t *testing.T) {
		for seed := range int64(20) {
			text := narrate(Prompt{Player: "I sing", Seed: seed})
			require.True(t, strings.HasSuffix(text, "?"), text)
		}
	})
}

func TestExcerpt(t *testing.T) {
	t.Parallel()
	t.Run("it starts at the sentence that matches and skips roll notes", func(t *testing.T) {
		got := excerpt(smithMemory[0].Content, "What was the blacksmith's daughter called?", 25)
		require.Equal(t, "'My daughter? Her name is Ysolde, and she is the finest smith in Brightwater, though the guild won't admit it.'", got)
	})
	t.Run("it keeps to the word limit and marks the cut", func(t *testing.T) {
		long := strings.Repeat("The road winds on and on through the hills, ", 10)
		got := excerpt(long, "road", 25)
		require.Len(t, strings.Fields(got), 25)
		require.True(t, strings.HasSuffix(got, "…"), got)
	})
	t.Run("it drops the closing question", func(t *testing.T) {
		require.Equal(t, "The door creaks open.", excerpt("The door creaks open. What do you do next?", "door", 25))
	})
}

func TestRecallAnswersFromRecentMessagesWhenNothingWasRetrieved(t *testing.T) {
	t.Parallel()
	p := Prompt{
		Player: "What was in the chest I searched?",
		Recent: []Turn{
			{Role: RolePlayer, Content: "I sneak past the sleeping guard and search the chest."},
			{Role: RoleDM, Content: "Inside the chest lies a silver key wrapped in oilcloth."},
		},
		Seed: 7,
	}
	var b strings.Builder
	_, err := NewOffline(OfflineOptions{}).Stream(context.Background(), p, func(d string) error { b.WriteString(d); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "silver key") {
		t.Fatalf("the answer should quote the recent message about the chest, got %q", b.String())
	}
}
