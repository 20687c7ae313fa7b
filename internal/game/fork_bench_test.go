package game_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// BenchmarkFork1000 forks a session of 1,000 messages (500 turns, each
// with a roll and a sheet change, every message with a 384-d vector in the
// HNSW index) at its last message: the cost docs/STORY.md chose copy on
// fork by. Run it against the test stack's database:
//
//	go run ./cmd/stack test -- go test -run '^$' -bench BenchmarkFork1000 -benchtime 5x ./internal/game/
func BenchmarkFork1000(b *testing.B) {
	testkit.Migrate(b)
	ctx := context.Background()
	pool, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), 2)
	require.NoError(b, err)
	b.Cleanup(pool.Close)

	owner, session, char := uuid.New(), uuid.New(), uuid.New()
	type stmt struct {
		sql  string
		args []any
	}
	for _, st := range []stmt{
		{`INSERT INTO game.characters (id, player_id, name, class, sheet) VALUES ($1, $2, 'Brenna', 'fighter', '{"hp":{"current":10,"max":20},"gold":500}')`, []any{char, owner}},
		{`INSERT INTO game.sessions (id, owner_id, title, character_id) VALUES ($1, $2, 'A long campaign', $3)`, []any{session, owner, char}},
		{`INSERT INTO game.session_members (session_id, player_id, role) VALUES ($1, $2, 'owner')`, []any{session, owner}},
		{`INSERT INTO game.messages (id, session_id, turn_id, role, content, created_at)
			SELECT md5('m' || g || $1::text)::uuid, $1, md5('t' || ((g + 1) / 2) || $1::text)::uuid,
				CASE WHEN g % 2 = 1 THEN 'player' ELSE 'dm' END,
				'message ' || g || ' of the long campaign: the party walks on through the marsh towards the keep',
				now() - (1000 - g) * interval '1 second'
			FROM generate_series(1, 1000) g ORDER BY g`, []any{session}},
		{`INSERT INTO game.turns (id, session_id, player_id, player_message_id, dm_message_id, status)
			SELECT md5('t' || k || $1::text)::uuid, $1, $2, md5('m' || (2 * k - 1) || $1::text)::uuid,
				md5('m' || (2 * k) || $1::text)::uuid, 'completed'
			FROM generate_series(1, 500) k`, []any{session, owner}},
		{`INSERT INTO game.rolls (id, session_id, turn_id, actor, idx, roll)
			SELECT gen_random_uuid(), $1, t.id, 'dm', 0, '{"notation":"1d20","total":11}' FROM game.turns t WHERE t.session_id = $1`, []any{session}},
		{`INSERT INTO game.character_changes (id, character_id, turn_id, session_id, at, path, from_value, to_value, reason)
			SELECT gen_random_uuid(), $2, t.id, $1, now() - interval '1 hour', 'gold', 501, 500, 'a toll' FROM game.turns t WHERE t.session_id = $1`, []any{session, char}},
		{`INSERT INTO game.message_embeddings (model, message_id, session_id, embedding)
			SELECT 'hash-384', m.id, $1, (SELECT array_agg(random() + 0 * g + 0 * m.seq)::vector(384) FROM generate_series(1, 384) g)
			FROM game.messages m WHERE m.session_id = $1`, []any{session}},
	} {
		_, err := pool.Exec(ctx, st.sql, st.args...)
		require.NoError(b, err, st.sql)
	}
	var last uuid.UUID
	require.NoError(b, pool.QueryRow(ctx, `SELECT id FROM game.messages WHERE session_id = $1 ORDER BY seq DESC LIMIT 1`, session).Scan(&last))

	store := game.NewStore(pool)
	svc := game.NewService(store, nil, nil, nil, nil)
	var copying time.Duration
	b.ResetTimer()
	for range b.N {
		f, err := svc.Fork(ctx, owner, session, game.ForkInput{AtMessageID: &last})
		require.NoError(b, err)
		b.StopTimer()
		var n int
		require.NoError(b, pool.QueryRow(ctx, `SELECT count(*) FROM game.messages WHERE session_id = $1`, f.ID).Scan(&n))
		require.Equal(b, 1000, n)
		// What the session-embedding task does next, in its batches.
		began := time.Now()
		for {
			k, err := store.CopyForkVectors(ctx, f.ID, game.ImportEmbedBatch)
			require.NoError(b, err)
			if k == 0 {
				break
			}
		}
		copying += time.Since(began)
		require.NoError(b, pool.QueryRow(ctx, `SELECT count(*) FROM game.message_embeddings WHERE session_id = $1`, f.ID).Scan(&n))
		require.Equal(b, 1000, n)
		b.StartTimer()
	}
	b.ReportMetric(float64(copying.Milliseconds())/float64(b.N), "vector-copy-ms/op")
}
