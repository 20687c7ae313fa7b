package dm

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func words(n int) string { return strings.TrimSpace(strings.Repeat("word ", n)) }

func shapePrompt() Prompt {
	return Prompt{
		System: "You are the DM.",
		Player: "I open the door.",
		Recent: []Turn{{RolePlayer, "oldest " + words(20)}, {RoleDM, "older " + words(20)}, {RolePlayer, "newest " + words(20)}},
		Memory: []Memory{{RoleDM, "middling " + words(30), 0.5}, {RolePlayer, "best " + words(30), 0.9}, {RoleDM, "worst " + words(30), 0.1}},
	}
}

func TestFitKeepsEverythingWithinTheBudget(t *testing.T) {
	t.Parallel()
	p := shapePrompt()
	got, kept, err := Fit(p, p.Tokens())
	require.NoError(t, err)
	require.Equal(t, p, got)
	require.Equal(t, Kept{Memory: []int{0, 1, 2}, Recent: []int{0, 1, 2}}, kept)
	_, kept, err = Fit(p, 0)
	require.NoError(t, err)
	require.Len(t, kept.Memory, 3, "a zero budget means no limit")
}

func TestFitTrimsMemoryBeforeRecentMessages(t *testing.T) {
	t.Parallel()
	p := shapePrompt()
	full := p.Tokens()
	for _, tc := range []struct {
		name       string
		budget     int
		wantMemory []string
		wantRecent []string
	}{
		{"one memory too many drops the least relevant memory", full - 1, []string{"middling", "best"}, []string{"oldest", "older", "newest"}},
		{"a tighter budget keeps only the most relevant memory", full - 2*memoryTokens(p.Memory[0]), []string{"best"}, []string{"oldest", "older", "newest"}},
		{"all memory goes before the first recent message", full - 3*memoryTokens(p.Memory[0]), nil, []string{"oldest", "older", "newest"}},
		{"then the oldest recent message goes", full - 3*memoryTokens(p.Memory[0]) - 1, nil, []string{"older", "newest"}},
		{"down to the player's message alone", (Prompt{System: p.System, Player: p.Player}).Tokens(), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := Fit(p, tc.budget)
			require.NoError(t, err)
			require.LessOrEqual(t, got.Tokens(), tc.budget)
			require.Equal(t, p.Player, got.Player, "the player's message is always there")
			require.Equal(t, tc.wantMemory, firstWords(got.Memory), "memory")
			var recent []string
			for _, r := range got.Recent {
				recent = append(recent, strings.Fields(r.Content)[0])
			}
			require.Equal(t, tc.wantRecent, recent, "recent")
		})
	}
}

func firstWords(ms []Memory) []string {
	var out []string
	for _, m := range ms {
		out = append(out, strings.Fields(m.Content)[0])
	}
	return out
}

func TestFitRefusesAPlayerMessageLargerThanTheBudget(t *testing.T) {
	t.Parallel()
	p := shapePrompt()
	p.Player = words(2000)
	_, _, err := Fit(p, 1000)
	var de *Error
	require.True(t, errors.As(err, &de), "%v", err)
	require.Equal(t, CodePromptTooLong, de.Code)
	require.Contains(t, de.Message, "budget is 1000")
}

func TestMessagesRenderAChat(t *testing.T) {
	t.Parallel()
	p := Prompt{
		System:    "RULES",
		Character: &Character{Name: "Arwen", Class: "ranger", Level: 3},
		Memory:    []Memory{{RoleDM, "The blacksmith's daughter is named Ysolde.\nShe waves.", 0.9}},
		Recent:    []Turn{{RolePlayer, "Hello"}, {RolePlayer, "Anyone?"}, {RoleDM, "A voice answers."}, {RoleSystem, "Night falls."}},
		Player:    "I listen.",
	}
	msgs := p.Messages()
	require.Equal(t, "system", msgs[0].Role)
	require.True(t, strings.HasPrefix(msgs[0].Content, "RULES\n\nThe player's character: Arwen, a level 3 ranger."), msgs[0].Content)
	require.Contains(t, msgs[0].Content, "Remembered from earlier in this session, most relevant first:\n- Dungeon Master: The blacksmith's daughter is named Ysolde. She waves.")
	require.Equal(t, []ChatMessage{
		{"user", "Hello\n\nAnyone?"},
		{"assistant", "A voice answers."},
		{"user", "(Game note) Night falls.\n\nI listen."},
	}, msgs[1:], "consecutive user turns merge; the player's message comes last")
}

func TestTranscriptEndsWhereTheDungeonMasterSpeaks(t *testing.T) {
	t.Parallel()
	p := Prompt{System: "RULES", Recent: []Turn{{RolePlayer, "Hi"}, {RoleDM, "Hello, traveller."}}, Player: "Who are you?"}
	require.Equal(t, "Player: Hi\n\nDungeon Master: Hello, traveller.\n\nPlayer: Who are you?\n\nDungeon Master:", p.Transcript())
	require.Equal(t, "RULES", p.SystemText())
}

func TestFitPutsTheSummaryBeforeLoreRecentAndMemory(t *testing.T) {
	t.Parallel()
	p := shapePrompt()
	p.Summary = "Ana met Bram. " + words(30)
	got, kept, err := Fit(p, p.Tokens())
	require.NoError(t, err)
	require.True(t, kept.Summary)
	require.Equal(t, p.Summary, got.Summary)
	require.Contains(t, got.SystemText(), SummaryHeading+"\nAna met Bram.")

	// Short of room, memory and recent messages go before the summary.
	fixed := Prompt{System: p.System, Player: p.Player}.Tokens()
	got, kept, err = Fit(p, fixed+SummaryTokens(p.Summary))
	require.NoError(t, err)
	require.True(t, kept.Summary)
	require.Empty(t, got.Recent)
	require.Empty(t, got.Memory)

	// A summary that does not fit what is left is left out whole.
	got, kept, err = Fit(p, fixed+SummaryTokens(p.Summary)-1)
	require.NoError(t, err)
	require.False(t, kept.Summary)
	require.Empty(t, got.Summary)
	require.NotContains(t, got.SystemText(), SummaryHeading)
}
