//go:build unix && !linux

package stack

// becomeSubreaper is Linux-only; elsewhere orphans of the command go to init.
func becomeSubreaper() error { return nil }

// sweepOrphans has nothing to find without a subreaper.
func sweepOrphans() []int { return nil }
