package events

import (
	"math/rand/v2"
	"time"
)

// When a replica shuts down (Hub.Shutdown), each open SSE response ends
// with a fresh `retry:` so the client reconnects soon — through the load
// balancer to another replica, resuming with Last-Event-ID — instead of
// after its normal delay. The delay is spread over ShutdownRetrySpread so
// that the clients of a busy replica do not all land on the survivors in
// the same millisecond.
const (
	ShutdownRetryMin    = 250 * time.Millisecond
	ShutdownRetrySpread = time.Second
)

// shutdownBlock is the last block of a stream closed by Hub.Shutdown: a
// comment for people reading the wire and the reconnection delay. It has
// no data, so the client dispatches no event.
func shutdownBlock() []byte {
	retry := ShutdownRetryMin + rand.N(ShutdownRetrySpread)
	return append([]byte(": server shutting down, reconnect\n"), openingBlock(retry, nil)...)
}
