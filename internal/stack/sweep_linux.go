package stack

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

const prSetChildSubreaper = 36 // from <linux/prctl.h>

// becomeSubreaper makes processes orphaned anywhere below us (a test that
// started a server and exited without stopping it, a daemon that re-parented
// itself with setsid) re-parent to us instead of init, so sweepOrphans can
// find them after the command ends.
func becomeSubreaper() error {
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// sweepOrphans kills and reaps every remaining child of ours and returns their
// pids. Call it only once all children we started on purpose are gone.
// Killing a child re-parents its own children to us, hence the loop.
func sweepOrphans() []int {
	var killed []int
	for range 20 {
		pids := childPids()
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil)
			killed = append(killed, pid)
		}
	}
	return killed
}

// childPids lists the processes whose parent is us, zombies included.
func childPids() []int {
	self := os.Getpid()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
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
		if err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
