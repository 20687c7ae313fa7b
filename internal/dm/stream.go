package dm

import (
	"context"
	"time"
)

// Timeouts bound a network model's reply.
type Timeouts struct {
	// FirstToken bounds the wait for the first piece of text, retries
	// included: the player is staring at an empty reply.
	FirstToken time.Duration
	// Total bounds the whole reply.
	Total time.Duration
}

// deadlines derives the context of one Stream call: it ends with cause
// errTotalTimeout after Total, with errFirstTokenTimeout if no token came
// within FirstToken, and with ctx. gotToken stops the first-token clock.
func (t Timeouts) deadlines(ctx context.Context) (sctx context.Context, gotToken func(), stop func()) {
	var cancelTotal context.CancelFunc = func() {}
	if t.Total > 0 {
		ctx, cancelTotal = context.WithTimeoutCause(ctx, t.Total, errTotalTimeout)
	}
	sctx, cancel := context.WithCancelCause(ctx)
	var timer *time.Timer
	if t.FirstToken > 0 {
		timer = time.AfterFunc(t.FirstToken, func() { cancel(errFirstTokenTimeout) })
	}
	gotToken = func() {
		if timer != nil {
			timer.Stop()
		}
	}
	stop = func() {
		gotToken()
		cancel(nil)
		cancelTotal()
	}
	return sctx, gotToken, stop
}

// streamFailure decides what a Stream that ended with err returns: the caller's
// own cancellation passes through as ctx.Err() (a cancelled turn is not a
// model failure); our timeouts and provider errors become an *Error.
func streamFailure(provider string, parent, sctx context.Context, err error) error {
	if parent.Err() != nil {
		return parent.Err()
	}
	if cause := context.Cause(sctx); cause == errFirstTokenTimeout || cause == errTotalTimeout {
		return classify(provider, cause)
	}
	return classify(provider, err)
}
