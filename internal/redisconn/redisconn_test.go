package redisconn

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	t.Run("a redis URL names one server", func(t *testing.T) {
		o, err := Parse("redis://:secret@cache.example:6380/2?dial_timeout=3")
		require.NoError(t, err)
		require.Equal(t, Single, o.Mode)
		assert.Equal(t, "cache.example:6380", o.Single.Addr)
		assert.Equal(t, "secret", o.Single.Password)
		assert.Equal(t, 2, o.Single.DB)
		assert.Equal(t, 3*time.Second, o.Single.DialTimeout)
		assert.Equal(t, []string{"cache.example:6380"}, o.Addrs())
	})
	t.Run("a sentinel URL names the sentinels, the master and the database", func(t *testing.T) {
		o, err := Parse("redis+sentinel://:pw@s1:26379,s2:26380,s3:26381/mymaster/3?read_timeout=2s")
		require.NoError(t, err)
		require.Equal(t, Sentinel, o.Mode)
		f := o.Failover
		assert.Equal(t, "mymaster", f.MasterName)
		assert.Equal(t, []string{"s1:26379", "s2:26380", "s3:26381"}, f.SentinelAddrs)
		assert.Equal(t, 3, f.DB)
		assert.Equal(t, "pw", f.Password, "the master's password")
		assert.Equal(t, "pw", f.SentinelPassword, "the sentinels share it unless told otherwise")
		assert.Equal(t, 2*time.Second, f.ReadTimeout)
		assert.Nil(t, f.TLSConfig)
	})
	t.Run("sentinels may have credentials of their own", func(t *testing.T) {
		o, err := Parse("rediss+sentinel://app:pw@s1:26379/mymaster?sentinel_password=spw&sentinel_username=")
		require.NoError(t, err)
		f := o.Failover
		assert.Equal(t, "app", f.Username)
		assert.Equal(t, "pw", f.Password)
		assert.Equal(t, "", f.SentinelUsername)
		assert.Equal(t, "spw", f.SentinelPassword)
		assert.Equal(t, 0, f.DB)
		assert.NotNil(t, f.TLSConfig)
	})
	t.Run("a cluster URL lists seed nodes", func(t *testing.T) {
		o, err := Parse("redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002?max_redirects=5")
		require.NoError(t, err)
		require.Equal(t, Cluster, o.Mode)
		c := o.ClusterOpts
		assert.Equal(t, []string{"10.0.0.1:7000", "10.0.0.2:7001", "10.0.0.3:7002"}, c.Addrs)
		assert.Equal(t, "pw", c.Password)
		assert.Equal(t, 5, c.MaxRedirects)
	})
	t.Run("a cluster URL with TLS and IPv6 seeds", func(t *testing.T) {
		o, err := Parse("rediss+cluster://[::1]:7000,[::1]:7001")
		require.NoError(t, err)
		assert.Equal(t, []string{"[::1]:7000", "[::1]:7001"}, o.ClusterOpts.Addrs)
		assert.NotNil(t, o.ClusterOpts.TLSConfig)
	})
}

func TestParseRejects(t *testing.T) {
	for name, raw := range map[string]string{
		"no scheme":                    "127.0.0.1:6379",
		"an unknown scheme":            "memcached://127.0.0.1:11211",
		"a sentinel URL with no name":  "redis+sentinel://s1:26379",
		"a sentinel URL with a bad db": "redis+sentinel://s1:26379/m/x",
		"a cluster URL with a db":      "redis+cluster://n1:7000/0",
		"a host without a port":        "redis+cluster://n1,n2:7000",
		"an unknown option":            "redis+cluster://n1:7000?bogus=1",
		"an unknown sentinel option":   "redis+sentinel://:hunter2@s1:26379/m?bogus=1",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(raw)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "hunter2", "errors never repeat the password")
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"redis://127.0.0.1:6379/0",
		"redis+sentinel://:p@a:1,b:2/m/1?dial_timeout=1",
		"rediss+cluster://u:p@a:1,b:2?pool_size=3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		o, err := Parse(raw)
		if err == nil && len(o.Addrs()) == 0 {
			t.Fatalf("%q parsed without an address", raw)
		}
	})
}

func TestHashTag(t *testing.T) {
	for key, want := range map[string]string{
		"events:session:{abc}":   "abc",
		"asynq:{generate}:tasks": "generate",
		"plain":                  "plain",
		"empty:{}:tag":           "empty:{}:tag",
		"first:{a}:then:{b}":     "a",
		"unclosed:{a":            "unclosed:{a",
	} {
		assert.Equal(t, want, HashTag(key), key)
	}
}
