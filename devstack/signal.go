package devstack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// sameKeypress is how close two signals must be to count as one Ctrl-C.
const sameKeypress = 500 * time.Millisecond

// InterruptContext returns a context cancelled by the first SIGINT or SIGTERM,
// which starts an orderly teardown. A third signal exits at once; the kernel
// then kills the children (Pdeathsig), but a test stack's temporary folder is
// left behind.
func InterruptContext(out io.Writer) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		var last time.Time
		for n := 1; ; n++ {
			sig, ok := <-sigs
			if !ok {
				return
			}
			// Ctrl-C under Task arrives twice: from the terminal to the
			// whole process group, and relayed by Task. One keypress is
			// one signal.
			if time.Since(last) < sameKeypress {
				n--
				continue
			}
			last = time.Now()
			switch n {
			case 1:
				fmt.Fprintf(out, "\nstack: %v: shutting down…\n", sig)
				cancel()
			case 2:
				fmt.Fprintln(out, "stack: still shutting down; a third signal kills everything now")
			default:
				fmt.Fprintln(out, "stack: killed")
				os.Exit(130)
			}
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel()
	}
}
