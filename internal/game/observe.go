package game

import "time"

// Observer receives the pipeline's measurements (Prometheus metrics in
// production; see internal/metrics). Its methods must be cheap and safe
// for concurrent use. A nil PipelineOptions.Observer measures nothing.
type Observer interface {
	// StageDone: a stage (StageEmbed, StageRetrieve, StageGenerate) of a
	// turn completed in d.
	StageDone(stage string, d time.Duration)
	// TurnFinished: a turn reached a final status, d after it was accepted.
	TurnFinished(status string, d time.Duration)
	// FirstToken: the model streamed its first piece d after the call began.
	FirstToken(model string, d time.Duration)
	// DeltaStreamed: one piece of a reply was published to the player.
	DeltaStreamed(model string)
	// TokensUsed: the token counts the model reported for a generation.
	TokensUsed(model string, prompt, completion int)
}

type nopObserver struct{}

func (nopObserver) StageDone(string, time.Duration)    {}
func (nopObserver) TurnFinished(string, time.Duration) {}
func (nopObserver) FirstToken(string, time.Duration)   {}
func (nopObserver) DeltaStreamed(string)               {}
func (nopObserver) TokensUsed(string, int, int)        {}
