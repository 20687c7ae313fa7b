package workers

import (
	"github.com/hibiken/asynq"

	"github.com/codeofconquest/brightdawn/internal/redisconn"
)

// RedisConnOpt is REDIS_URL as asynq's own connection options, for what
// opens its own connections (asynqmon, inspectors in tests): its failover
// and cluster options for Sentinel and Cluster.
func RedisConnOpt(o *redisconn.Options) asynq.RedisConnOpt {
	switch o.Mode {
	case redisconn.Sentinel:
		f := o.Failover
		return asynq.RedisFailoverClientOpt{
			MasterName: f.MasterName, SentinelAddrs: f.SentinelAddrs,
			SentinelUsername: f.SentinelUsername, SentinelPassword: f.SentinelPassword,
			Username: f.Username, Password: f.Password, DB: f.DB,
			DialTimeout: f.DialTimeout, ReadTimeout: f.ReadTimeout, WriteTimeout: f.WriteTimeout,
			PoolSize: f.PoolSize, TLSConfig: f.TLSConfig,
		}
	case redisconn.Cluster:
		c := o.ClusterOpts
		return asynq.RedisClusterClientOpt{
			Addrs: c.Addrs, MaxRedirects: c.MaxRedirects, Username: c.Username, Password: c.Password,
			DialTimeout: c.DialTimeout, ReadTimeout: c.ReadTimeout, WriteTimeout: c.WriteTimeout,
			TLSConfig: c.TLSConfig,
		}
	default:
		s := o.Single
		return asynq.RedisClientOpt{
			Network: s.Network, Addr: s.Addr, Username: s.Username, Password: s.Password, DB: s.DB,
			DialTimeout: s.DialTimeout, ReadTimeout: s.ReadTimeout, WriteTimeout: s.WriteTimeout,
			PoolSize: s.PoolSize, TLSConfig: s.TLSConfig,
		}
	}
}
