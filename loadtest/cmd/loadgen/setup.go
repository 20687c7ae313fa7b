package main

import (
	"context"
	"fmt"
	"os"

	"github.com/codeofconquest/brightdawn/events"
	"github.com/codeofconquest/brightdawn/internal/redisconn"
)

// setup says what an SSE scenario needs before it starts measuring.
type setup struct {
	titles  []string // one session per title, owned by the stage's player
	env     []string // extra KEY=VALUE for the started conquest
	publish bool     // also connect a Publisher to the stack's Redis
}

// stage is what the SSE scenarios (fanout, idle, storm, slow) run against:
// the server under test, one registered player who owns the sessions the
// streams follow, and, when asked for, the Publisher the workers use, so
// the scenario can put events into those sessions itself.
type stage struct {
	srv        *server
	p          *player
	sessions   []string
	pub        *events.Publisher
	closeRedis func()
}

// setUp builds the stage of s. On error whatever it started is stopped
// again; otherwise the caller closes the stage.
func setUp(ctx context.Context, c *common, s setup) (*stage, error) {
	srv, err := startServer(ctx, c, s.env...)
	if err != nil {
		return nil, err
	}
	st := &stage{srv: srv, closeRedis: func() {}}
	if err := st.populate(ctx, s); err != nil {
		st.close()
		return nil, err
	}
	return st, nil
}

// populate registers the player, creates the sessions and connects the
// publisher, in the order the scenarios always did.
func (st *stage) populate(ctx context.Context, s setup) error {
	p, err := register(ctx, st.srv.URL)
	if err != nil {
		return err
	}
	st.p = p
	st.sessions = make([]string, len(s.titles))
	for i, title := range s.titles {
		if st.sessions[i], err = p.newSession(ctx, title); err != nil {
			return err
		}
	}
	if !s.publish {
		return nil
	}
	pub, closeRedis, err := publisher()
	if err != nil {
		return err
	}
	st.pub, st.closeRedis = pub, closeRedis
	return nil
}

// close disconnects from Redis, then stops the server.
func (st *stage) close() {
	st.closeRedis()
	st.srv.stop()
}

// publisher returns the events.Publisher on the stack's Redis.
func publisher() (*events.Publisher, func(), error) {
	opt, err := redisconn.Parse(os.Getenv("REDIS_URL"))
	if err != nil {
		return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	rdb := opt.NewClient()
	return events.NewPublisher(rdb, 5000), func() { rdb.Close() }, nil
}

// numbered is n session titles "prefix 0" … "prefix n-1".
func numbered(prefix string, n int) []string {
	titles := make([]string, n)
	for i := range titles {
		titles[i] = fmt.Sprintf("%s %d", prefix, i)
	}
	return titles
}
