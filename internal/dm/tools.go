package dm

import "context"

// Tool is a function the model may call, described for the model.
type Tool struct {
	Name        string
	Description string
	Parameters  map[string]any // a JSON schema of the arguments object
}

// ToolCall is one call the model made: its arguments as the raw JSON text
// the model wrote, which may be malformed.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string
}

// ToolExecutor runs the tools of one turn. Execute answers every call,
// including calls to unknown tools and calls with malformed arguments, with
// a result text for the model (a JSON object); an error means the turn
// itself cannot go on (for example ctx ended) and fails the reply.
type ToolExecutor interface {
	Tools() []Tool
	Execute(ctx context.Context, call ToolCall) (string, error)
}
