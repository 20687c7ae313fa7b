//go:build unix && !linux

package devstack

// listensOn cannot tell who owns a port without /proc; trust the probe.
func listensOn(pid, port int) bool { return true }
