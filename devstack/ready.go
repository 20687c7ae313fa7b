package devstack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// errExited means a server ended before it became ready: a port taken
// between FreePorts and bind, a bad flag, a corrupt data folder.
var errExited = errors.New("exited before it was ready")

// waitReady polls probe until it succeeds against the child itself (it holds
// the listener on port), the child exits or ctx ends. The last probe error is
// kept, so a timeout says what was still failing.
func waitReady(ctx context.Context, p *process, port int, probe func(context.Context) error) error {
	delay := 50 * time.Millisecond
	var last error
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = probe(pctx)
		cancel()
		if last == nil {
			if listensOn(p.pid(), port) {
				return nil
			}
			last = fmt.Errorf("port %d answers but %s does not hold it", port, p.name)
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s %w (%v)%s", p.name, errExited, p.err, logHint(p))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last probe: %v)%s", p.name, ctx.Err(), last, logHint(p))
		case <-time.After(delay):
		}
		delay = min(delay*2, 500*time.Millisecond)
	}
}

// logHint quotes the end of a child's log for an error message.
func logHint(p *process) string {
	if p.logPath == "" {
		return ""
	}
	lines, err := tail(p.logPath, 15)
	if err != nil || len(lines) == 0 {
		return "; log: " + p.logPath
	}
	return fmt.Sprintf("; last lines of %s:\n    %s", p.logPath, strings.Join(lines, "\n    "))
}
