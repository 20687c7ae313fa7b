package devstack

import (
	"fmt"
	"net"
	"slices"
	"strconv"
)

// Fixed loopback ports of the dev stack. They sit in Linux's ephemeral range,
// so FreePorts steers clear of them to keep test stacks from taking them while
// no dev stack is up.
const (
	DevPostgresPort = 55432
	DevRedisPort    = 56379
	DevS3Port       = 59000
	DevAppURL       = "http://localhost:8080"
)

var devPorts = []int{DevPostgresPort, DevRedisPort, DevS3Port}

// FreePorts asks the kernel for n distinct free loopback ports. All listeners
// stay open until every port is chosen, so the n are distinct; they are closed
// before returning, so a server can bind them. Another process may grab one in
// between: callers retry when a server fails to start.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		held = append(held, l)
		port := l.Addr().(*net.TCPAddr).Port
		if slices.Contains(devPorts, port) {
			continue // keep it held so the kernel hands out another
		}
		ports = append(ports, port)
	}
	return ports, nil
}

// portFree reports whether the loopback port can be listened on now.
func portFree(port int) bool {
	l, err := net.Listen("tcp", hostPort(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
