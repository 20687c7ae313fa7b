package auth

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// WatchRevocations calls fn with every revocation announced on
// RevocationsChannel by any replica, until ctx ends. A broken subscription
// is re-established after a pause; revocations announced meanwhile are not
// replayed, which is why a stream is also bounded by its access token's
// expiry (docs/SECURITY.md).
func (s *Service) WatchRevocations(ctx context.Context, fn func(Revocation)) error {
	for ctx.Err() == nil {
		err := s.watchRevocations(ctx, fn)
		if ctx.Err() != nil {
			break
		}
		s.log.Warn("auth: revocation subscription lost, resubscribing", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

func (s *Service) watchRevocations(ctx context.Context, fn func(Revocation)) error {
	ps := s.rdb.Subscribe(ctx, RevocationsChannel)
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
				return errSubscriptionClosed
			}
			var r Revocation
			if err := json.Unmarshal([]byte(m.Payload), &r); err != nil {
				s.log.Warn("auth: ignoring a malformed revocation", "err", err)
				continue
			}
			fn(r)
		}
	}
}

var errSubscriptionClosed = errors.New("auth: revocation subscription closed")
