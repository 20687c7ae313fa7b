package auth

import (
	"context"
	"time"

	"github.com/codeofconquest/brightdawn/internal/redisconn"
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
	return redisconn.WatchJSON(ctx, s.rdb, RevocationsChannel, s.log, "revocation", fn)
}
