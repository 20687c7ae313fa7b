package devstack

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// listensOn reports whether process pid holds the listening TCP socket on
// loopback port. A server that lost its port to someone else between
// FreePorts and bind would otherwise look ready, because the probe reaches the
// other server.
func listensOn(pid, port int) bool {
	inodes := listeningInodes(port)
	if len(inodes) == 0 {
		return false
	}
	fds, err := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	if err != nil {
		return false
	}
	for _, fd := range fds {
		link, err := os.Readlink(fd)
		if err == nil && inodes[link] {
			return true
		}
	}
	return false
}

// listeningInodes returns "socket:[inode]" for every socket in LISTEN state
// on port, from /proc/net/tcp and tcp6.
func listeningInodes(port int) map[string]bool {
	const listen = "0A"
	suffix := fmt.Sprintf(":%04X", port)
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != listen || !strings.HasSuffix(fields[1], suffix) {
				continue
			}
			inodes["socket:["+fields[9]+"]"] = true
		}
		f.Close()
	}
	return inodes
}
