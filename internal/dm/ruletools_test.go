package dm

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	vdice "github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/rules"
)

// toolDelta is a streamed chunk carrying one fragment of a tool call, in
// OpenAI's wire format: the first fragment of an index has the id, type and
// name; the arguments arrive in pieces.
func toolDelta(index int, id, name, args string) string {
	tc := map[string]any{"index": index, "function": map[string]any{"arguments": args}}
	if id != "" {
		tc["id"], tc["type"] = id, "function"
		tc["function"].(map[string]any)["name"] = name
	}
	js, _ := json.Marshal(map[string]any{"id": "chatcmpl-2", "object": "chat.completion.chunk",
		"choices": []map[string]any{{"index": 0, "delta": map[string]any{"tool_calls": []any{tc}}, "finish_reason": nil}}})
	return "data: " + string(js) + "\n\n"
}

const toolFinish = `data: {"id":"chatcmpl-2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}` + "\n\n"

func TestOpenAIToolCalls(t *testing.T) {
	t.Parallel()
	var requests []map[string]any
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		requests = append(requests, body)
		sseHeaders(w, r)
		if calls.Add(1) == 1 {
			write(w, `data: {"id":"chatcmpl-2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":null},"finish_reason":null}]}`+"\n\n")
			write(w, chunk("You haggle. "))
			write(w, toolDelta(0, "call_gold", "spend_gold", ""))
			write(w, toolDelta(0, "", "", `{"amou`))
			write(w, toolDelta(0, "", "", `nt": 500, "reason": "buy the horse"}`))
			write(w, toolDelta(1, "call_bad", "gain_gold", `{"amount": `))
			write(w, toolDelta(2, "call_fly", "fly", `{}`))
			write(w, toolDelta(3, "call_xp", "gain_xp", `{"amount": 50}`))
			write(w, toolFinish+"data: [DONE]\n\n")
			return
		}
		write(w, chunk("The merchant laughs: "))
		write(w, chunk("ten gold will not buy a horse."))
		write(w, finishChunk+usageChunk+"data: [DONE]\n\n")
	}))
	defer srv.Close()

	e := rules.New(rules.Default())
	sheet := rules.Sheet{Abilities: rules.Abilities{Strength: 10, Dexterity: 10, Constitution: 10, Intelligence: 10, Wisdom: 10, Charisma: 10}, HP: rules.HP{Current: 5, Max: 10}, AC: 12, Gold: 10, XP: 0, Level: 1}
	tools := &RulesTools{Engine: e, Sheet: sheet, Roller: vdice.NewRoller(vdice.Seed{4})}
	var reply strings.Builder
	m := newOpenAI(srv.URL, Timeouts{})
	_, err := m.Stream(context.Background(), Prompt{System: "RULES", Player: "I buy the horse.", Tools: tools}, func(d string) error {
		reply.WriteString(d)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, "You haggle. The merchant laughs: ten gold will not buy a horse.", reply.String(), "the continuation is streamed after the tool round")
	require.Len(t, requests, 2)

	// The first request offers every action as a function tool.
	offered := requests[0]["tools"].([]any)
	require.Len(t, offered, len(rules.ActionKinds))
	require.Equal(t, "function", offered[0].(map[string]any)["type"])

	// The second carries the assistant's assembled calls and one tool
	// result per call, in order.
	msgs := requests[1]["messages"].([]any)
	var assistant map[string]any
	results := map[string]map[string]any{}
	for _, raw := range msgs {
		msg := raw.(map[string]any)
		switch msg["role"] {
		case "assistant":
			if msg["tool_calls"] != nil {
				assistant = msg
			}
		case "tool":
			var res map[string]any
			require.NoError(t, json.Unmarshal([]byte(msg["content"].(string)), &res))
			results[msg["tool_call_id"].(string)] = res
		}
	}
	require.NotNil(t, assistant)
	tc := assistant["tool_calls"].([]any)
	require.Len(t, tc, 4)
	first := tc[0].(map[string]any)["function"].(map[string]any)
	require.Equal(t, "spend_gold", first["name"])
	require.JSONEq(t, `{"amount": 500, "reason": "buy the horse"}`, first["arguments"].(string))

	require.Equal(t, "insufficient_gold", results["call_gold"]["refused"].(map[string]any)["code"], "spending gold not held is refused")
	require.Contains(t, results["call_bad"]["error"], "malformed arguments")
	require.Contains(t, results["call_fly"]["error"], `unknown tool "fly"`)
	require.Equal(t, true, results["call_xp"]["ok"])

	// Only the valid call changed the sheet.
	require.Equal(t, 10, tools.Sheet.Gold)
	require.Equal(t, 50, tools.Sheet.XP)
	require.Equal(t, []rules.Change{{Path: "xp", From: 0, To: 50, Reason: "gain_xp"}}, tools.Changes())
}

func TestOpenAIToolStepsAreBounded(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var last map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, json.NewDecoder(r.Body).Decode(&last))
		sseHeaders(w, r)
		calls.Add(1)
		// A model that never stops calling tools.
		write(w, toolDelta(0, "c", "gain_gold", `{"amount":1}`)+toolFinish+"data: [DONE]\n\n")
	}))
	defer srv.Close()
	tools := &RulesTools{Engine: rules.New(rules.Default()), Sheet: rules.Sheet{HP: rules.HP{Current: 1, Max: 1}, AC: 10, Level: 1}, Roller: vdice.NewRoller(vdice.Seed{})}
	_, err := newOpenAI(srv.URL, Timeouts{}).Stream(context.Background(), Prompt{Player: "x", Tools: tools}, func(string) error { return nil })
	require.NoError(t, err)
	require.EqualValues(t, MaxToolSteps+1, calls.Load())
	require.Equal(t, "none", last["tool_choice"], "the last request asks for an answer without tools")
	require.Equal(t, MaxToolSteps, tools.Sheet.Gold, "the calls of the last, tool-less step are not executed")
}
