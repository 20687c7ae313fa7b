package memory

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// Store is the hand-written SQL of the memory feature: the embedding-model
// registry, re-embed jobs, message vectors and the searches over them.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// querier is what both a pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Store) tx(ctx context.Context, fn func(q querier) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(tx) })
}

// --- search

// nearest is a vector search: the query's vector of model in pgvector
// text form, of dim dimensions, with efSearch HNSW candidates; sessions
// with at most exactMax vectors of the model are searched exactly, larger
// ones through the HNSW graph with a scan budget of at least scanTuples.
type nearest struct {
	model      string
	dim        int
	vector     string
	efSearch   int
	exactMax   int
	scanTuples int
}

// search returns up to n messages of the session nearest to near (when
// set) and up to n matching any of the keywords kws (when any), in one
// round trip: the index settings, the nearest neighbours and the keyword
// query go as one batch, which Postgres runs as one implicit transaction,
// so the SET LOCAL settings hold for the KNN query.
func (s *Store) search(ctx context.Context, sessionID uuid.UUID, near *nearest, kws []string, n int, exclude []uuid.UUID, viewer uuid.UUID) (vec, kw []game.MemoryResult, err error) {
	b := &pgx.Batch{}
	if near != nil {
		queueNearest(b, sessionID, *near, n, exclude, viewer)
	}
	if len(kws) > 0 {
		queueKeyword(b, sessionID, kws, n, exclude, viewer)
	}
	br := s.pool.SendBatch(ctx, b)
	err = func() error {
		var err error
		if near != nil {
			if vec, err = readNearest(br); err != nil {
				return err
			}
		}
		if len(kws) > 0 {
			var rows pgx.Rows
			if rows, err = br.Query(); err == nil {
				kw, err = collectResults(rows, game.SourceKeyword)
			}
		}
		return err
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, postgres.Translate(err, "memory")
	}
	return vec, kw, nil
}

// ExplainNearest returns Postgres's plan of the game's vector search of a
// session (the statement and settings search runs, with EXPLAIN ANALYZE),
// for the retrieval benchmark.
func (s *Store) ExplainNearest(ctx context.Context, sessionID uuid.UUID, model, vector string, efSearch, exactMax, scanTuples, n int) ([]string, error) {
	b := &pgx.Batch{}
	near := nearest{model: model, dim: strings.Count(vector, ",") + 1, vector: vector, efSearch: max(efSearch, n), exactMax: exactMax, scanTuples: scanTuples}
	settings, query, args := nearestSQL(sessionID, near, n, nil, uuid.Nil)
	b.Queue(settings, args[:3]...)
	b.Queue(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) `+query, args[3:]...)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, postgres.Translate(err, "memory")
	}
	rows, err := br.Query()
	if err != nil {
		return nil, postgres.Translate(err, "memory")
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return plan, postgres.Translate(err, "memory")
}

// queueNearest queues the settings and the query of the n messages of the
// session nearest to near.vector (nearestSQL).
func queueNearest(b *pgx.Batch, sessionID uuid.UUID, near nearest, n int, exclude []uuid.UUID, viewer uuid.UUID) {
	settings, query, args := nearestSQL(sessionID, near, n, exclude, viewer)
	b.Queue(settings, args[:3]...)
	b.Queue(query, args[3:]...)
}

// nearestSQL is the settings statement and the query of the n messages of
// the session nearest to near.vector, best first, with the arguments of
// both (the settings take the first three). The model and dimension are
// literals, not parameters, so the planner can match the model's partial
// HNSW index (a parameter would hide which partial index applies from a
// generic plan).
//
// The plan is chosen by the session's size, not left to the planner's
// estimate (docs/PERFORMANCE.md "Retrieval at scale"): a session-filtered
// HNSW scan visits index entries of every session and gives up after
// hnsw.max_scan_tuples, so for a session that is a small share of the
// index it returns too few or the wrong rows. The query counts the
// session's vectors of the model, stopping at exactMax+1 (on the
// (model, session_id) btree: an index-only scan for small sessions; for
// large ones Postgres chose a bitmap heap scan), and runs one of two branches of
// a UNION ALL; the other is switched off by a one-time filter and never
// executed:
//   - at most exactMax vectors: exact search, every vector of the session
//     through the btree and a sort (the distance is written on the plain
//     column, which the HNSW index, built on a cast expression, cannot
//     serve);
//   - more: the HNSW graph with iterative scans (relaxed_order) and a scan
//     budget hnsw.max_scan_tuples of at least scanTuples, raised so the
//     scan can visit 4·n / share index entries, the session's share of the
//     table being at least exactMax / (the table's estimated rows); the
//     scan stops as soon as it has n rows, so a large budget costs only
//     when the session's rows are rare in the index. hnsw.scan_mem_multiplier
//     lets the scan hold 4 × work_mem of candidates before it stops. The
//     planner may still answer this branch through the btree and a sort,
//     which is exact too.
//
// Whispers: only public messages and those private to viewer (uuid.Nil:
// none) are candidates. The filter is inside the scan, so an iterative
// index scan keeps going until it has n visible ones.
func nearestSQL(sessionID uuid.UUID, near nearest, n int, exclude []uuid.UUID, viewer uuid.UUID) (settings, query string, args []any) {
	// set_config(…, true) is SET LOCAL: transaction state only, which
	// PGlite's connection multiplexing allows. The table's rows are
	// estimated by the planner's reltuples or, where the table was never
	// analyzed (PGlite runs no autovacuum: reltuples stays -1), the
	// statistics system's live-tuple count; both count every model's rows,
	// which only raises the budget.
	budget := `greatest($2::float8, $3::float8)`
	if near.exactMax > 0 {
		budget = `greatest($2::float8, (SELECT 4 * $3::float8 * greatest(c.reltuples, pg_stat_get_live_tuples(c.oid)) / ` + strconv.Itoa(near.exactMax) + `
			FROM pg_class c WHERE c.oid = 'game.message_embeddings'::regclass))`
	}
	settings = `SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),
		set_config('hnsw.ef_search', $1, true),
		set_config('hnsw.max_scan_tuples', ` + budget + `::bigint::text, true),
		set_config('hnsw.scan_mem_multiplier', '4', true)`
	typ := "vector(" + strconv.Itoa(near.dim) + ")"
	model := quoteLiteral(near.model)
	filter := `e.model = ` + model + ` AND e.session_id = $1 AND NOT (e.message_id = ANY($3::uuid[]))
			  AND NOT EXISTS (SELECT 1 FROM game.messages pm WHERE pm.id = e.message_id
				AND pm.visibility = 'private' AND pm.private_to IS DISTINCT FROM $5::uuid)`
	// The nearest n first, then their messages: joining before the LIMIT
	// fetched every message of the session.
	query = `WITH size AS MATERIALIZED (
			SELECT count(*) <= ` + strconv.Itoa(near.exactMax) + ` AS small FROM (
				SELECT 1 FROM game.message_embeddings e WHERE e.model = ` + model + ` AND e.session_id = $1
				LIMIT ` + strconv.Itoa(near.exactMax+1) + `) s
		)
		SELECT ` + resultCols + `, 1 - k.dist AS score
		FROM (
			(SELECT e.message_id, e.embedding <=> $2::vector AS dist
			FROM game.message_embeddings e
			WHERE (SELECT small FROM size) AND ` + filter + `
			ORDER BY dist
			LIMIT $4)
			UNION ALL
			(SELECT e.message_id, e.embedding::` + typ + ` <=> $2::` + typ + ` AS dist
			FROM game.message_embeddings e
			WHERE NOT (SELECT small FROM size) AND ` + filter + `
			ORDER BY dist
			LIMIT $4)
		) k JOIN game.messages m ON m.id = k.message_id`
	args = []any{strconv.Itoa(near.efSearch), near.scanTuples, n, sessionID, near.vector, uuidTexts(exclude), n, viewer}
	return settings, query, args
}

// readNearest reads what queueNearest queued.
func readNearest(br pgx.BatchResults) ([]game.MemoryResult, error) {
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	out, err := collectResults(rows, game.SourceVector)
	if err != nil {
		return nil, err
	}
	// relaxed_order may return rows slightly out of order.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out, nil
}

// queueKeyword queues the query of up to n messages of the session matching
// any of the keywords kws (embed.Keywords of the query text), ranked by BM25 computed in SQL over the session's messages:
// each matched term adds its inverse document frequency within the
// session, damped by the message's length relative to the session's
// average (the textbook k1 = 1.2, b = 0.75; term frequency counts as 1,
// since messages are short). Postgres's ts_rank has no IDF, so a common
// word ("innkeeper" in a tavern campaign) would count as much as a rare
// one ("warn"); and requiring every term, as websearch_to_tsquery does,
// finds almost nothing, because questions are phrased unlike the facts
// they ask about. Each keyword is its own tsquery, stemmed by the english
// configuration like messages.tsv. stats, hits and df are MATERIALIZED:
// each is used once, so Postgres would inline them, and the planner (which
// believes a session holds a handful of rows) then re-aggregated the whole
// session for every (message, term) match: quadratic in the session's
// length (docs/PERFORMANCE.md "Figures behind the code"). hits matches each
// (message, term) pair once for both the document frequencies and the
// scores; terms are joined by a number, not by comparing tsquery values,
// and the score is float8 arithmetic, not numeric (ln of a numeric is
// slow; same figures section).
func queueKeyword(b *pgx.Batch, sessionID uuid.UUID, kws []string, n int, exclude []uuid.UUID, viewer uuid.UUID) {
	b.Queue(`WITH terms AS (
			SELECT min(t.i) AS term, q FROM unnest($2::text[]) WITH ORDINALITY AS t(word, i), to_tsquery('english', t.word) AS q
			WHERE numnode(q) > 0 GROUP BY q
		), docs AS (
			SELECT m.id, m.tsv, length(m.tsv) AS len FROM game.messages m
			WHERE m.session_id = $1 AND (m.visibility = 'public' OR m.private_to = $5::uuid)
		), stats AS MATERIALIZED (
			SELECT count(*)::float8 AS n, greatest(avg(len), 1)::float8 AS avglen FROM docs
		), hits AS MATERIALIZED (
			SELECT d.id, d.len, terms.term FROM docs d JOIN terms ON d.tsv @@ terms.q
		), df AS MATERIALIZED (
			SELECT term, count(*)::float8 AS n FROM hits GROUP BY term
		), scored AS (
			SELECT h.id, sum(ln(1 + (stats.n - df.n + 0.5) / (df.n + 0.5))
				* 2.2 / (1 + 1.2 * (0.25 + 0.75 * h.len / stats.avglen))) AS score
			FROM hits h JOIN df ON df.term = h.term CROSS JOIN stats
			WHERE NOT (h.id = ANY($3::uuid[]))
			GROUP BY h.id
		)
		SELECT `+resultCols+`, s.score::float8
		FROM scored s JOIN game.messages m ON m.id = s.id
		ORDER BY s.score DESC, m.seq DESC
		LIMIT $4`, sessionID, kws, uuidTexts(exclude), n, viewer)
}

// resultCols are the message columns of a search result (collectResults).
const resultCols = `m.id, m.session_id, m.role, m.content, m.turn_id, m.author_id, m.created_at, m.seq, m.visibility`

func collectResults(rows pgx.Rows, source string) ([]game.MemoryResult, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (game.MemoryResult, error) {
		var r game.MemoryResult
		m := &r.Message
		err := row.Scan(&m.ID, &m.SessionID, &m.Role, &m.Content, &m.TurnID, &m.AuthorID, &m.CreatedAt, &m.Seq, &m.Visibility, &r.Score)
		r.Source = source
		if source == game.SourceVector {
			r.VectorScore = r.Score
		} else {
			r.KeywordScore = r.Score
		}
		return r, err
	})
}

// uuidTexts passes ids as text[]: under PGlite's exec mode pgx cannot
// encode a []uuid.UUID parameter without the server describing it.
func uuidTexts(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// --- the embedding-model registry

// ensureModel registers em as Models.EnsureConfigured describes.
func (s *Store) ensureModel(ctx context.Context, em EmbeddingModel) (*ReembedJob, error) {
	var job *ReembedJob
	err := s.tx(ctx, func(q querier) error {
		// Serialise start-ups of many workers on the registry.
		if _, err := q.Exec(ctx, `LOCK TABLE game.embedding_models IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		var active *string
		err := q.QueryRow(ctx, `SELECT model FROM game.embedding_models WHERE status = 'active'`).Scan(&active)
		if err != nil && err != pgx.ErrNoRows {
			return err
		}
		if active != nil && *active == em.Model {
			_, err := q.Exec(ctx, `UPDATE game.reembed_jobs SET status = 'cancelled', finished_at = now(), updated_at = now()
				WHERE status = 'running'`)
			if err != nil {
				return err
			}
			_, err = q.Exec(ctx, `UPDATE game.embedding_models SET status = 'retired', retired_at = now() WHERE status = 'building'`)
			return err
		}
		status := ModelBuilding
		if active == nil {
			status = ModelActive
		}
		_, err = q.Exec(ctx, `INSERT INTO game.embedding_models (model, provider, name, dim, status, activated_at)
			VALUES ($1, $2, $3, $4, $5, CASE WHEN $5 = 'active' THEN now() END)
			ON CONFLICT (model) DO UPDATE SET status = CASE WHEN game.embedding_models.status = 'active'
				THEN 'active' ELSE excluded.status END, retired_at = NULL`,
			em.Model, em.Provider, em.Name, em.Dim, status)
		if err != nil {
			return err
		}
		if err := createModelIndex(ctx, q, em.Model, em.Dim); err != nil {
			return err
		}
		if active == nil {
			return nil
		}
		// Other models that were being built are abandoned.
		if _, err := q.Exec(ctx, `UPDATE game.embedding_models SET status = 'retired', retired_at = now()
			WHERE status = 'building' AND model <> $1`, em.Model); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `UPDATE game.reembed_jobs SET status = 'cancelled', finished_at = now(), updated_at = now()
			WHERE status = 'running' AND model <> $1`, em.Model); err != nil {
			return err
		}
		j, err := scanJob(q.QueryRow(ctx, `SELECT `+jobCols+` FROM game.reembed_jobs WHERE model = $1 AND status = 'running'`, em.Model))
		if err == nil {
			job = &j
			return nil
		}
		if err != pgx.ErrNoRows {
			return err
		}
		j, err = scanJob(q.QueryRow(ctx, `INSERT INTO game.reembed_jobs (id, model, from_model, status, total)
			VALUES ($1, $2, $3, 'running', (SELECT count(*) FROM game.messages))
			RETURNING `+jobCols, uuid.Must(uuid.NewV7()), em.Model, *active))
		if err != nil {
			return err
		}
		job = &j
		return nil
	})
	return job, postgres.Translate(err, "embedding model")
}

// createModelIndex creates the model's partial HNSW index, the one the
// searcher's ORDER BY uses. DDL takes no parameters, so the model name is
// a quoted literal; configuration restricts model names to a safe alphabet
// and quoting doubles any quote anyway.
func createModelIndex(ctx context.Context, q querier, model string, dim int) error {
	_, err := q.Exec(ctx, `CREATE INDEX IF NOT EXISTS `+modelIndexName(model)+`
		ON game.message_embeddings USING hnsw ((embedding::vector(`+strconv.Itoa(dim)+`)) vector_cosine_ops)
		WHERE model = `+quoteLiteral(model))
	return err
}

func dropModelIndex(ctx context.Context, q querier, model string) error {
	_, err := q.Exec(ctx, `DROP INDEX IF EXISTS game.`+modelIndexName(model))
	return err
}

// modelIndexName is stable per model; the hash models' names match
// migrations 004 and 005.
func modelIndexName(model string) string {
	switch model {
	case "hash-384":
		return "message_embeddings_hnsw_hash_384"
	case "hash-384-v2":
		return "message_embeddings_hnsw_hash_384_v2"
	}
	sum := sha1.Sum([]byte(model))
	return "message_embeddings_hnsw_" + hex.EncodeToString(sum[:8])
}

// EmbeddingModels lists the registry.
func (s *Store) EmbeddingModels(ctx context.Context) ([]EmbeddingModel, error) {
	rows, err := s.pool.Query(ctx, `SELECT model, provider, name, dim, status, created_at, activated_at
		FROM game.embedding_models ORDER BY created_at`)
	if err != nil {
		return nil, postgres.Translate(err, "embedding models")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EmbeddingModel, error) {
		var m EmbeddingModel
		err := r.Scan(&m.Model, &m.Provider, &m.Name, &m.Dim, &m.Status, &m.CreatedAt, &m.ActivatedAt)
		return m, err
	})
	return out, postgres.Translate(err, "embedding models")
}

// SetEmbeddings stores vectors of one model for messages (idempotent).
func (s *Store) SetEmbeddings(ctx context.Context, model string, rows []game.VectorRow) error {
	return postgres.Translate(setEmbeddings(ctx, s.pool, model, rows), "embedding")
}

// setEmbeddings upserts rows as three arrays, one statement whatever the
// batch size (the turn's embed stage writes its single row with the game
// store's own statement, in its stage's batch).
func setEmbeddings(ctx context.Context, q querier, model string, rows []game.VectorRow) error {
	if len(rows) == 0 {
		return nil
	}
	ids, sessions, vecs := make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		ids[i], sessions[i], vecs[i] = r.MessageID.String(), r.SessionID.String(), embed.VectorText(r.Vector)
	}
	_, err := q.Exec(ctx, `INSERT INTO game.message_embeddings (model, message_id, session_id, embedding)
		SELECT $1, r.message_id, r.session_id, r.embedding::vector
		FROM unnest($2::uuid[], $3::uuid[], $4::text[]) AS r(message_id, session_id, embedding)
		ON CONFLICT (model, message_id) DO UPDATE SET embedding = excluded.embedding, created_at = now()`,
		model, ids, sessions, vecs)
	return err
}

// --- re-embed jobs

const jobCols = `id, model, from_model, status, cursor_seq, done, total, attempts, error, created_at, updated_at, finished_at`

func scanJob(row pgx.Row) (ReembedJob, error) {
	var j ReembedJob
	err := row.Scan(&j.ID, &j.Model, &j.FromModel, &j.Status, &j.CursorSeq, &j.Done, &j.Total, &j.Attempts, &j.Error, &j.CreatedAt, &j.UpdatedAt, &j.FinishedAt)
	return j, err
}

func collectJobs(rows pgx.Rows, err error) ([]ReembedJob, error) {
	if err != nil {
		return nil, postgres.Translate(err, "reembed jobs")
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReembedJob, error) { return scanJob(r) })
	return jobs, postgres.Translate(err, "reembed jobs")
}

// recentJobs returns the last n jobs, newest first.
func (s *Store) recentJobs(ctx context.Context, n int) ([]ReembedJob, error) {
	return collectJobs(s.pool.Query(ctx, `SELECT `+jobCols+` FROM game.reembed_jobs ORDER BY created_at DESC LIMIT $1`, n))
}

// job returns a job by id.
func (s *Store) job(ctx context.Context, id uuid.UUID) (ReembedJob, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+jobCols+` FROM game.reembed_jobs WHERE id = $1`, id))
	return j, postgres.Translate(err, "reembed job")
}

// restartable marks and returns the jobs Reembedder.Restartable describes.
func (s *Store) restartable(ctx context.Context, before time.Time, retryFailed bool) ([]ReembedJob, error) {
	return collectJobs(s.pool.Query(ctx, `UPDATE game.reembed_jobs j SET attempts = attempts + 1, status = 'running',
			error = NULL, finished_at = NULL, updated_at = now()
		WHERE (j.status = 'running' AND j.updated_at < $1)
		   OR ($2 AND j.status = 'failed' AND EXISTS (SELECT 1 FROM game.embedding_models m WHERE m.model = j.model AND m.status = 'building')
		       AND NOT EXISTS (SELECT 1 FROM game.reembed_jobs o WHERE o.model = j.model AND o.status = 'running'))
		RETURNING `+jobCols, before, retryFailed))
}

// failJob records that a running job's task gave up.
func (s *Store) failJob(ctx context.Context, id uuid.UUID, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE game.reembed_jobs SET status = 'failed', error = $2, updated_at = now(), finished_at = now()
		WHERE id = $1 AND status = 'running'`, id, reason)
	return postgres.Translate(err, "reembed job")
}

// message is what re-embedding needs of a message.
type message struct {
	ID        uuid.UUID
	SessionID uuid.UUID
	Content   string
	Seq       int64
}

func collectMessages(rows pgx.Rows, err error) ([]message, error) {
	if err != nil {
		return nil, postgres.Translate(err, "messages")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (message, error) {
		var m message
		err := r.Scan(&m.ID, &m.SessionID, &m.Content, &m.Seq)
		return m, err
	})
	return out, postgres.Translate(err, "messages")
}

// messagesAfter returns up to n messages after seq, in order.
func (s *Store) messagesAfter(ctx context.Context, seq int64, n int) ([]message, error) {
	return collectMessages(s.pool.Query(ctx, `SELECT id, session_id, content, seq FROM game.messages
		WHERE seq > $1 ORDER BY seq LIMIT $2`, seq, n))
}

// messagesWithout returns up to n messages that have no vector of model.
func (s *Store) messagesWithout(ctx context.Context, model string, n int) ([]message, error) {
	return collectMessages(s.pool.Query(ctx, `SELECT id, session_id, content, seq FROM game.messages m
		WHERE NOT EXISTS (SELECT 1 FROM game.message_embeddings e WHERE e.model = $1 AND e.message_id = m.id)
		ORDER BY seq LIMIT $2`, model, n))
}

// saveBatch writes the job's vectors of a batch and its progress in one
// transaction; advance moves the job's cursor to the batch's last message
// (the batch was read after the cursor), otherwise only done counts it.
func (s *Store) saveBatch(ctx context.Context, j ReembedJob, rows []game.VectorRow, lastSeq int64, advance bool) error {
	err := s.tx(ctx, func(q querier) error {
		if err := setEmbeddings(ctx, q, j.Model, rows); err != nil {
			return err
		}
		if !advance {
			_, err := q.Exec(ctx, `UPDATE game.reembed_jobs SET done = done + $2, updated_at = now() WHERE id = $1`, j.ID, len(rows))
			return err
		}
		_, err := q.Exec(ctx, `UPDATE game.reembed_jobs SET cursor_seq = greatest(cursor_seq, $2), done = done + $3,
			total = greatest(total, done + $3), updated_at = now() WHERE id = $1 AND status = 'running'`, j.ID, lastSeq, len(rows))
		return err
	})
	return postgres.Translate(err, "reembed")
}

// completeJob marks a running job completed and makes its model the served
// one in one transaction. It returns the model retired, if any; nothing
// switches when the job was no longer running (cancelled meanwhile).
func (s *Store) completeJob(ctx context.Context, j ReembedJob) (old *string, err error) {
	err = s.tx(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, `UPDATE game.reembed_jobs SET status = 'completed', finished_at = now(), updated_at = now()
			WHERE id = $1 AND status = 'running'`, j.ID)
		if err != nil || tag.RowsAffected() == 0 {
			return err // cancelled meanwhile: switch nothing
		}
		if err := q.QueryRow(ctx, `UPDATE game.embedding_models SET status = 'retired', retired_at = now()
			WHERE status = 'active' AND model <> $1 RETURNING model`, j.Model).Scan(&old); err != nil && err != pgx.ErrNoRows {
			return err
		}
		_, err = q.Exec(ctx, `UPDATE game.embedding_models SET status = 'active', activated_at = now() WHERE model = $1`, j.Model)
		return err
	})
	return old, postgres.Translate(err, "reembed")
}

// dropModel deletes a retired model's vectors in batches of 5000, so
// transactions stay short, then its index.
func (s *Store) dropModel(ctx context.Context, model string) error {
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM game.message_embeddings WHERE model = $1 AND message_id IN
			(SELECT message_id FROM game.message_embeddings WHERE model = $1 LIMIT 5000)`, model)
		if err != nil {
			return postgres.Translate(err, "reembed cleanup")
		}
		if tag.RowsAffected() == 0 {
			break
		}
	}
	return postgres.Translate(dropModelIndex(ctx, s.pool, model), "reembed cleanup")
}
