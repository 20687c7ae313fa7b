package devstack

import "syscall"

// childAttr puts a child in its own process group, so that the whole tree it
// spawns can be signalled at once and a terminal's Ctrl-C reaches only us, and
// asks the kernel to SIGKILL it if we die without tearing down (kill -9,
// crash). Pdeathsig fires when the OS thread that forked the child exits; the
// Go runtime only retires threads locked by LockOSThread, which we never use.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
