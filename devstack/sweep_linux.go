package devstack

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

const prSetChildSubreaper = 36 // from <linux/prctl.h>

// becomeSubreaper makes processes orphaned anywhere below us (a test that
// started a server and exited without stopping it, a browser that
// double-forks) re-parent to us instead of init, so sweepOrphans can find
// them after the command ends.
func becomeSubreaper() error {
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// reapOrphans reaps adopted orphans that have exited, every few seconds until
// ctx ends; without it each would sit as a zombie, holding a pid, until the
// final sweep.
func reapOrphans(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		spawning.Lock()
		for _, c := range adoptedChildren() {
			if c.zombie {
				var ws syscall.WaitStatus
				syscall.Wait4(c.pid, &ws, syscall.WNOHANG, nil)
			}
		}
		spawning.Unlock()
	}
}

// sweepOrphans kills and reaps every adopted orphan still around and returns
// their pids. Killing one re-parents its own children to us, hence the loop.
func sweepOrphans() []int {
	spawning.Lock()
	defer spawning.Unlock()
	var killed []int
	for range 20 {
		orphans := adoptedChildren()
		if len(orphans) == 0 {
			break
		}
		for _, c := range orphans {
			syscall.Kill(c.pid, syscall.SIGKILL)
			var ws syscall.WaitStatus
			syscall.Wait4(c.pid, &ws, 0, nil)
			if !c.zombie {
				killed = append(killed, c.pid)
			}
		}
	}
	return killed
}

type child struct {
	pid    int
	zombie bool
}

// adoptedChildren lists the processes whose parent is us but that we did not
// start ourselves: orphans the kernel handed to us as subreaper.
func adoptedChildren() []child {
	self := os.Getpid()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []child
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parens.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := bytes.Fields(b[i+1:])
		if len(fields) < 2 {
			continue
		}
		ppid, err := strconv.Atoi(string(fields[1]))
		if err != nil || ppid != self {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		if err != nil || isOwnChild(pid) {
			continue
		}
		out = append(out, child{pid: pid, zombie: string(fields[0]) == "Z"})
	}
	return out
}
