package devstack

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
)

// redisURL is the REDIS_URL for a redis-server on port.
func redisURL(port int) string { return fmt.Sprintf("redis://%s/0", hostPort(port)) }

// startRedis runs redis-server on port with its files in dir. No config file
// is read, so a distribution's service defaults (port 6379, its own dump
// file) play no part. persist keeps an append-only file for the dev stack;
// test stacks keep everything in memory.
func startRedis(ctx context.Context, exe, dir string, port int, persist bool, logPath string) (*process, error) {
	args := []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--save", "",
		"--daemonize", "no",
	}
	if persist {
		args = append(args, "--appendonly", "yes")
	} else {
		args = append(args, "--appendonly", "no")
	}
	p, err := startLogged("redis", logPath, exec.Command(exe, args...))
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, p, port, func(ctx context.Context) error { return pingRedis(ctx, hostPort(port)) }); err != nil {
		return p, err
	}
	return p, nil
}

// pingRedis speaks just enough RESP to get a PONG; a server still loading its
// append-only file answers -LOADING, which counts as not ready.
func pingRedis(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if reply := strings.TrimSpace(line); reply != "+PONG" {
		return fmt.Errorf("redis answered %q to PING", reply)
	}
	return nil
}
