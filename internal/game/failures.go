package game

import "github.com/codeofconquest/brightdawn/internal/dm"

// FailureCode is why a turn failed: the `error.code` of a failed turn (GET
// /api/turns/{id}) and of its turn.failed event. This is the one list of
// them; docs/TURN_ERRORS.md documents each for API users.
type FailureCode string

// The codes a turn can fail with.
const (
	// The model could not answer (a *dm.Error; the provider already
	// retried what was worth retrying, so the turn fails at once).
	FailModelUnavailable FailureCode = dm.CodeUnavailable
	FailModelRateLimited FailureCode = dm.CodeRateLimited
	FailModelTimeout     FailureCode = dm.CodeTimeout
	FailModelError       FailureCode = dm.CodeError
	FailPromptTooLong    FailureCode = dm.CodePromptTooLong

	// FailTimeout: the turn did not finish within the turn deadline
	// (TURN_DEADLINE); the sweeper ends it.
	FailTimeout FailureCode = "timeout"

	// A stage's task failed after its retries (the database or an
	// embedding provider was down for longer than they last).
	FailEmbed    FailureCode = "embed_failed"
	FailRetrieve FailureCode = "retrieve_failed"
	FailGenerate FailureCode = "generate_failed"
)

// FailureCodes lists every code, in the order docs/TURN_ERRORS.md gives them.
var FailureCodes = []FailureCode{
	FailModelUnavailable, FailModelRateLimited, FailModelTimeout, FailModelError, FailPromptTooLong,
	FailTimeout, FailEmbed, FailRetrieve, FailGenerate,
}

// StageFailed is the code of a turn whose stage (StageEmbed, StageRetrieve,
// StageGenerate) spent its retries, with its client-safe message; false
// for a stage whose failure does not fail the turn (StageEmbedDM).
func StageFailed(stage string) (FailureCode, string, bool) {
	code, ok := map[string]FailureCode{StageEmbed: FailEmbed, StageRetrieve: FailRetrieve, StageGenerate: FailGenerate}[stage]
	if !ok {
		return "", "", false
	}
	return code, "the " + stage + " stage failed after retries", true
}

// failureOf is the code of a model's permanent error.
func failureOf(e *dm.Error) FailureCode { return FailureCode(e.Code) }
