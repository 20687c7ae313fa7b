package redisconn

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// ErrSubscriptionClosed is WatchJSON's answer when Redis closed the
// subscription under it (the caller reconnects).
var ErrSubscriptionClosed = errors.New("redisconn: subscription closed")

// WatchJSON subscribes to a pub/sub channel of JSON messages and hands each
// decoded message to fn until ctx ends (nil) or the subscription fails. It
// returns only once Redis has confirmed the subscription or refused it, so
// a caller knows from then on no message is missed. A malformed message is
// logged (what names it) and skipped.
func WatchJSON[T any](ctx context.Context, rdb redis.UniversalClient, channel string, log *slog.Logger, what string, fn func(T)) error {
	ps := rdb.Subscribe(ctx, channel)
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
		return err
	}
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-ch:
			if !ok {
				return ErrSubscriptionClosed
			}
			var v T
			if err := json.Unmarshal([]byte(m.Payload), &v); err != nil {
				log.Warn("ignoring a malformed "+what, "channel", channel, "err", err)
				continue
			}
			fn(v)
		}
	}
}
