package devstack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis topologies for the opt-in tests (docs/RELIABILITY.md "Redis
// Sentinel and Cluster"): STACK_REDIS=cluster or STACK_REDIS=sentinel makes
// a test stack start, instead of one redis-server, a Redis Cluster of three
// masters with a replica each, or a master, a replica and three sentinels,
// all on loopback. They run as one shell whose background jobs are the
// servers, so the stack starts, logs and stops them as one process group.

// Topologies STACK_REDIS names.
const (
	TopologyCluster  = "cluster"
	TopologySentinel = "sentinel"
	// SentinelMaster is the master name the sentinel topology monitors.
	SentinelMaster = "conquest"
)

// topologyPorts is how many ports a topology takes.
func topologyPorts(topology string) int {
	switch topology {
	case TopologyCluster:
		return 6 // 3 masters, 3 replicas
	case TopologySentinel:
		return 5 // master, replica, 3 sentinels
	default:
		return 1
	}
}

// topologyURL is the REDIS_URL of a topology on ports.
func topologyURL(topology string, ports []int) string {
	hosts := func(ps []int) string {
		hs := make([]string, len(ps))
		for i, p := range ps {
			hs[i] = hostPort(p)
		}
		return strings.Join(hs, ",")
	}
	switch topology {
	case TopologyCluster:
		return "redis+cluster://" + hosts(ports)
	case TopologySentinel:
		return "redis+sentinel://" + hosts(ports[2:]) + "/" + SentinelMaster + "/0"
	default:
		return redisURL(ports[0])
	}
}

// startRedisTopology starts the topology's servers with their files under
// dir and returns once the cluster is formed and healthy, or the
// sentinels know the master and its replica.
func startRedisTopology(ctx context.Context, exe, dir, topology string, ports []int, logPath string) (*process, error) {
	common := func(port int) string {
		d := filepath.Join(dir, strconv.Itoa(port))
		return fmt.Sprintf("mkdir -p %s && %s %s", d, exe, shellJoin(redisArgs(port, d)))
	}
	var jobs []string
	switch topology {
	case TopologyCluster:
		for _, p := range ports {
			jobs = append(jobs, common(p)+" "+shellJoin(clusterArgs))
		}
	case TopologySentinel:
		jobs = append(jobs, common(ports[0]), common(ports[1])+fmt.Sprintf(" --replicaof 127.0.0.1 %d", ports[0]))
		for _, p := range ports[2:] {
			conf := filepath.Join(dir, fmt.Sprintf("sentinel-%d.conf", p))
			text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %d 2\n"+
				"sentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 5000\nsentinel parallel-syncs %s 1\n",
				p, dir, SentinelMaster, ports[0], SentinelMaster, SentinelMaster, SentinelMaster)
			if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
				return nil, err
			}
			jobs = append(jobs, fmt.Sprintf("%s %s --sentinel", exe, conf))
		}
	default:
		return nil, fmt.Errorf("unknown STACK_REDIS topology %q (cluster or sentinel)", topology)
	}
	script := strings.Join(jobs, " &\n") + " &\nwait\n"
	p, err := startLogged("redis", logPath, exec.Command("sh", "-c", script))
	if err != nil {
		return nil, err
	}
	// The servers are the shell's children, so waitReady's check that the
	// child itself holds the port does not apply: answering is enough.
	for _, port := range ports {
		for pingRedis(ctx, hostPort(port)) != nil {
			select {
			case <-p.done:
				return p, fmt.Errorf("redis %w (%v)%s", errExited, p.err, logHint(p))
			case <-ctx.Done():
				return p, fmt.Errorf("redis on %d not ready: %w%s", port, ctx.Err(), logHint(p))
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	switch topology {
	case TopologyCluster:
		err = formCluster(ctx, exe, ports, logPath)
	case TopologySentinel:
		err = awaitSentinels(ctx, ports)
	}
	return p, err
}

// redisArgs are the arguments of every server of a topology: loopback,
// its files in dir, no persistence.
func redisArgs(port int, dir string) []string {
	return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no"}
}

// shellJoin quotes args for sh (the paths are the stack's own: no quotes in them).
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + a + "'"
	}
	return strings.Join(q, " ")
}

// ClusterNodeArgs are the redis-server arguments of the cluster node on
// port with its files (nodes.conf) in dir. A fault test restarts a killed
// node with them, and it rejoins the cluster as what nodes.conf says.
func ClusterNodeArgs(port int, dir string) []string {
	return append(redisArgs(port, dir), clusterArgs...)
}

var clusterArgs = []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"}

// formCluster joins the nodes with redis-cli (three masters, a replica
// each) and waits until every node reports the cluster healthy.
func formCluster(ctx context.Context, serverExe string, ports []int, logPath string) error {
	cli := filepath.Join(filepath.Dir(serverExe), "redis-cli")
	if _, err := os.Stat(cli); err != nil {
		if cli, err = exec.LookPath("redis-cli"); err != nil {
			return fmt.Errorf("redis-cli is needed to form the cluster: %w", err)
		}
	}
	args := []string{"--cluster", "create"}
	for _, p := range ports {
		args = append(args, hostPort(p))
	}
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	log, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("redis-cli --cluster create: %w (see %s)", err, logPath)
	}
	return pollAll(ctx, ports, func(ctx context.Context, c *redis.Client) bool {
		info, err := c.ClusterInfo(ctx).Result()
		return err == nil && strings.Contains(info, "cluster_state:ok")
	})
}

// awaitSentinels waits until every sentinel knows the master and its
// replica, so that a failover can happen.
func awaitSentinels(ctx context.Context, ports []int) error {
	return pollAll(ctx, ports[2:], func(ctx context.Context, c *redis.Client) bool {
		reps, err := c.Do(ctx, "SENTINEL", "REPLICAS", SentinelMaster).Slice()
		if err != nil || len(reps) == 0 {
			return false
		}
		others, err := c.Do(ctx, "SENTINEL", "SENTINELS", SentinelMaster).Slice()
		return err == nil && len(others) == len(ports[2:])-1
	})
}

func pollAll(ctx context.Context, ports []int, ok func(context.Context, *redis.Client) bool) error {
	for _, p := range ports {
		c := redis.NewClient(&redis.Options{Addr: hostPort(p), MaxRetries: -1})
		for !ok(ctx, c) {
			select {
			case <-ctx.Done():
				c.Close()
				return fmt.Errorf("redis on %s: not ready: %w", hostPort(p), ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
		c.Close()
	}
	return nil
}
