package devstack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// InterruptContext returns a context cancelled by the first SIGINT or SIGTERM,
// which starts an orderly teardown. A third signal exits at once; the kernel
// then kills the children (Pdeathsig), but a test stack's temporary folder is
// left behind.
func InterruptContext(out io.Writer) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		for n := 1; ; n++ {
			sig, ok := <-sigs
			if !ok {
				return
			}
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
