package fakemodel_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/rules"
	"github.com/codeofconquest/brightdawn/loadtest/fakemodel"
)

// The fake model's tool calls, read by the real openai client and executed
// by the rules engine: spending gold the character does not have is
// refused, the refusal reaches the model, and its continuation streams.
func TestToolCallsOnTheWire(t *testing.T) {
	srv := httptest.NewServer(fakemodel.New(fakemodel.Options{Tokens: 3}))
	defer srv.Close()
	m := dm.NewOpenAI(dm.OpenAIOptions{BaseURL: srv.URL + "/v1", Model: "fake"})
	sheet := rules.Sheet{
		Abilities: rules.Abilities{Strength: 10, Dexterity: 10, Constitution: 10, Intelligence: 10, Wisdom: 10, Charisma: 10},
		HP:        rules.HP{Current: 5, Max: 10}, AC: 12, Gold: 10, Level: 1,
		Inventory: []rules.Item{{Name: "healing potion", Qty: 1}},
	}
	tools := &dm.RulesTools{Engine: rules.New(rules.Default()), Sheet: sheet, Roller: dice.NewRoller(dice.Seed{9})}
	var reply strings.Builder
	_, err := m.Stream(context.Background(), dm.Prompt{
		Player: `I buy the horse. [tool:spend_gold {"amount": 500, "reason": "a horse"}] [tool:use_item {"item": "healing potion"}]`,
		Tools:  tools,
	}, func(d string) error { reply.WriteString(d); return nil })
	require.NoError(t, err)
	require.Contains(t, reply.String(), `"code":"insufficient_gold"`, "the refusal went back to the model")
	require.Contains(t, reply.String(), "10 gold, not the 500 needed")
	require.True(t, strings.HasSuffix(reply.String(), "The torchlight gutters"), "the continuation streamed: %q", reply.String())
	require.Equal(t, 10, tools.Sheet.Gold, "no gold was spent")
	require.Zero(t, tools.Sheet.Qty("healing potion"), "the valid call was executed")
	require.Len(t, tools.Outcomes, 1)
	require.NoError(t, dice.Verify(dice.Seed{9}, tools.Roller.Rolls()))
}

func TestNoToolsNoToolCalls(t *testing.T) {
	srv := httptest.NewServer(fakemodel.New(fakemodel.Options{Tokens: 2}))
	defer srv.Close()
	m := dm.NewOpenAI(dm.OpenAIOptions{BaseURL: srv.URL + "/v1", Model: "fake"})
	var reply strings.Builder
	_, err := m.Stream(context.Background(), dm.Prompt{Player: `[tool:gain_gold {"amount":1}]`},
		func(d string) error { reply.WriteString(d); return nil })
	require.NoError(t, err)
	require.Equal(t, "The torchlight", reply.String(), "without tools offered the markers are only text")
}
