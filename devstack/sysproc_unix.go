//go:build unix && !linux

package devstack

import "syscall"

// childAttr puts a child in its own process group so its whole tree can be
// signalled at once. Outside Linux there is no Pdeathsig: a stack killed with
// SIGKILL leaves its servers running.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
