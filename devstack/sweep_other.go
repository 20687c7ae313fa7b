//go:build unix && !linux

package devstack

import "context"

// becomeSubreaper is Linux-only; elsewhere orphans of the command go to init.
func becomeSubreaper() error { return nil }

// reapOrphans has nothing to reap without a subreaper.
func reapOrphans(ctx context.Context) {}

// sweepOrphans has nothing to find without a subreaper.
func sweepOrphans() []int { return nil }
