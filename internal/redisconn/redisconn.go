// Package redisconn turns REDIS_URL, in the forms operators write, into a
// go-redis client: one server, a Sentinel-managed master, or a Cluster.
//
// The forms (docs/CONFIGURATION.md):
//
//	redis://[[user]:pass@]host:port[/db][?opts]            one server (rediss:// for TLS)
//	redis+sentinel://[[user]:pass@]s1:26379,s2:26379/master[/db][?opts]
//	redis+cluster://[[user]:pass@]n1:7000,n2:7001[?opts]  seed nodes
//
// rediss+sentinel:// and rediss+cluster:// use TLS. The query options are
// go-redis's (dial_timeout, read_timeout, pool_size, …; unknown ones are an
// error). For Sentinel the user and password are the master's and, unless
// sentinel_username / sentinel_password are given in the query, the
// sentinels' too. A Cluster has no database number.
package redisconn

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Mode is the kind of deployment a URL names.
type Mode int

// The deployments.
const (
	Single Mode = iota
	Sentinel
	Cluster
)

func (m Mode) String() string {
	switch m {
	case Sentinel:
		return "sentinel"
	case Cluster:
		return "cluster"
	default:
		return "single"
	}
}

// Options is a parsed REDIS_URL. Exactly one of Single, Failover and
// ClusterOpts is set, as Mode says.
type Options struct {
	Mode        Mode
	Single      *redis.Options
	Failover    *redis.FailoverOptions
	ClusterOpts *redis.ClusterOptions
}

// Parse reads a REDIS_URL. Its errors never repeat the password.
func Parse(raw string) (*Options, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, errors.New("must be a URL such as redis://host:6379/0")
	}
	tls := false
	switch strings.ToLower(scheme) {
	case "redis", "rediss":
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, clean(err, raw)
		}
		return &Options{Mode: Single, Single: o}, nil
	case "rediss+sentinel":
		tls = true
		fallthrough
	case "redis+sentinel":
		return parseSentinel(rest, tls, raw)
	case "rediss+cluster":
		tls = true
		fallthrough
	case "redis+cluster":
		return parseCluster(rest, tls, raw)
	default:
		return nil, fmt.Errorf("unknown scheme %q: use redis://, rediss://, redis+sentinel:// or redis+cluster://", scheme)
	}
}

// split breaks "[userinfo@]h1:p1,h2:p2[/path][?query]" into its parts;
// url.Parse cannot read a host list.
func split(rest string) (userinfo string, hosts []string, path string, q url.Values, err error) {
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		q, err = url.ParseQuery(rest[i+1:])
		if err != nil {
			return "", nil, "", nil, errors.New("invalid query")
		}
		rest = rest[:i]
	}
	if q == nil {
		q = url.Values{}
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		userinfo, rest = rest[:i], rest[i+1:]
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest, path = rest[:i], rest[i+1:]
	}
	for _, h := range strings.Split(rest, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" {
			return "", nil, "", nil, fmt.Errorf("host %q must be host:port", h)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return "", nil, "", nil, fmt.Errorf("host %q has an invalid port", h)
		}
		hosts = append(hosts, h)
	}
	return userinfo, hosts, path, q, nil
}

// goRedisURL rebuilds the URL in go-redis's own multi-host convention
// (the first host in the authority, the others as addr= options) so that
// its parsers handle TLS and every query option.
func goRedisURL(tls bool, userinfo string, hosts []string, path string, q url.Values) string {
	scheme := "redis"
	if tls {
		scheme = "rediss"
	}
	for _, h := range hosts[1:] {
		q.Add("addr", h)
	}
	s := scheme + "://"
	if userinfo != "" {
		s += userinfo + "@"
	}
	s += hosts[0]
	if path != "" {
		s += "/" + path
	}
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

func credentials(userinfo string) (user, pass string, err error) {
	if userinfo == "" {
		return "", "", nil
	}
	u, err := url.Parse("redis://" + userinfo + "@h")
	if err != nil || u.User == nil {
		return "", "", errors.New("invalid user or password")
	}
	p, _ := u.User.Password()
	return u.User.Username(), p, nil
}

func parseSentinel(rest string, tls bool, raw string) (*Options, error) {
	userinfo, hosts, path, q, err := split(rest)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if parts[0] == "" || len(parts) > 2 {
		return nil, errors.New("a sentinel URL names the master: redis+sentinel://host:26379,host2:26379/mastername[/db]")
	}
	user, pass, err := credentials(userinfo)
	if err != nil {
		return nil, err
	}
	sUser, sPass := user, pass
	if q.Has("sentinel_username") {
		sUser = q.Get("sentinel_username")
		q.Del("sentinel_username")
	}
	if q.Has("sentinel_password") {
		sPass = q.Get("sentinel_password")
		q.Del("sentinel_password")
	}
	q.Set("master_name", parts[0])
	db := ""
	if len(parts) == 2 {
		if _, err := strconv.Atoi(parts[1]); err != nil {
			return nil, fmt.Errorf("invalid database number %q", parts[1])
		}
		db = parts[1]
	}
	// The userinfo goes to the sentinels in go-redis's convention; it is
	// set below, so pass none.
	o, err := redis.ParseFailoverURL(goRedisURL(tls, "", hosts, db, q))
	if err != nil {
		return nil, clean(err, raw)
	}
	o.Username, o.Password = user, pass
	o.SentinelUsername, o.SentinelPassword = sUser, sPass
	return &Options{Mode: Sentinel, Failover: o}, nil
}

func parseCluster(rest string, tls bool, raw string) (*Options, error) {
	userinfo, hosts, path, q, err := split(rest)
	if err != nil {
		return nil, err
	}
	if strings.Trim(path, "/") != "" {
		return nil, errors.New("a cluster has no database number: redis+cluster://host:7000,host2:7001")
	}
	o, err := redis.ParseClusterURL(goRedisURL(tls, userinfo, hosts, "", q))
	if err != nil {
		return nil, clean(err, raw)
	}
	return &Options{Mode: Cluster, ClusterOpts: o}, nil
}

// clean drops the URL (and its password) from a parser's error.
func clean(err error, raw string) error {
	msg := err.Error()
	if u, perr := url.Parse(raw); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return errors.New(msg)
}

// NewClient returns the client for the deployment. Every use of Redis in
// the project goes through redis.UniversalClient, so they all work on any.
func (o *Options) NewClient() redis.UniversalClient {
	switch o.Mode {
	case Sentinel:
		return redis.NewFailoverClient(o.Failover)
	case Cluster:
		return redis.NewClusterClient(o.ClusterOpts)
	default:
		return redis.NewClient(o.Single)
	}
}

// Addrs lists the addresses the URL names (the server, the sentinels or
// the seed nodes), for logs.
func (o *Options) Addrs() []string {
	switch o.Mode {
	case Sentinel:
		return o.Failover.SentinelAddrs
	case Cluster:
		return o.ClusterOpts.Addrs
	default:
		return []string{o.Single.Addr}
	}
}

// IsCluster reports whether rdb talks to a Redis Cluster (which wants
// sharded pub/sub and hash-tagged multi-key operations).
func IsCluster(rdb redis.UniversalClient) bool {
	_, ok := rdb.(*redis.ClusterClient)
	return ok
}
