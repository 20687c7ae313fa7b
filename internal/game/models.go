package game

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// Embedding model statuses (game.embedding_models.status).
const (
	ModelBuilding = "building"
	ModelActive   = "active"
	ModelRetired  = "retired"
)

// EmbeddingModel is a registered embedding model.
type EmbeddingModel struct {
	Model       string     `json:"model"`
	Provider    string     `json:"provider"`
	Name        string     `json:"name"`
	Dim         int        `json:"dim"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	ActivatedAt *time.Time `json:"activated_at,omitempty"`
}

// ModelSpec names the configured embedding model.
type ModelSpec struct {
	Provider string // hash, openai, replicate
	Name     string // the provider's model name
}

// Models knows which embedding model is served (`active`) and which is
// being filled in (`building`), and holds an embedder for each. Every
// process reads the registry from Postgres, cached briefly, so api and
// worker replicas switch models together within a few seconds.
type Models struct {
	store      *Store
	configured memory.Embedder
	spec       ModelSpec
	factory    memory.Factory

	mu        sync.Mutex
	loaded    time.Time
	active    *EmbeddingModel
	building  []EmbeddingModel
	embedders map[string]memory.Embedder
}

// modelsTTL is how stale a process's view of the registry may be.
const modelsTTL = 2 * time.Second

// NewModels returns the registry with the configured embedder.
func NewModels(store *Store, configured memory.Embedder, spec ModelSpec, factory memory.Factory) *Models {
	return &Models{store: store, configured: configured, spec: spec, factory: factory,
		embedders: map[string]memory.Embedder{configured.Model(): configured}}
}

// Configured is the embedder of the configuration.
func (m *Models) Configured() memory.Embedder { return m.configured }

// Serving returns the embedder of the active model: queries must be
// embedded with the model whose vectors they are compared to.
func (m *Models) Serving(ctx context.Context) (memory.Embedder, error) {
	if err := m.refresh(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.active == nil {
		return m.configured, nil // nothing registered yet: EnsureConfigured runs at start-up
	}
	return m.embedderLocked(*m.active)
}

// Writing returns the embedders whose vectors new messages need: the
// active model and any model being built.
func (m *Models) Writing(ctx context.Context) ([]memory.Embedder, error) {
	if err := m.refresh(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []memory.Embedder
	if m.active == nil {
		return []memory.Embedder{m.configured}, nil
	}
	for _, em := range append([]EmbeddingModel{*m.active}, m.building...) {
		e, err := m.embedderLocked(em)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Embedder returns the embedder of a registered model.
func (m *Models) Embedder(em EmbeddingModel) (memory.Embedder, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.embedderLocked(em)
}

func (m *Models) embedderLocked(em EmbeddingModel) (memory.Embedder, error) {
	if e, ok := m.embedders[em.Model]; ok {
		return e, nil
	}
	e, err := m.factory.New(em.Provider, em.Name, em.Dim)
	if err != nil {
		return nil, err
	}
	if e.Model() != em.Model {
		return nil, fmt.Errorf("embedding model %q: the factory built %q", em.Model, e.Model())
	}
	m.embedders[em.Model] = e
	return e, nil
}

// Forget drops the cached registry, so the next call reads Postgres.
func (m *Models) Forget() {
	m.mu.Lock()
	m.loaded = time.Time{}
	m.mu.Unlock()
}

func (m *Models) refresh(ctx context.Context) error {
	m.mu.Lock()
	fresh := time.Since(m.loaded) < modelsTTL
	m.mu.Unlock()
	if fresh {
		return nil
	}
	all, err := m.store.EmbeddingModels(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.active, m.building = nil, nil
	for _, em := range all {
		switch em.Status {
		case ModelActive:
			em := em
			m.active = &em
		case ModelBuilding:
			m.building = append(m.building, em)
		}
	}
	m.loaded = time.Now()
	return nil
}

// EnsureConfigured registers the configured model. On an empty registry it
// becomes active at once. If another model is active, the configured one
// is registered as building and a re-embed job is started for it (or the
// running one returned); the active model stays served until the job
// completes. If the configured model is the active one, any other model
// being built is abandoned (the operator changed their mind) and no job
// is returned.
func (m *Models) EnsureConfigured(ctx context.Context) (*ReembedJob, error) {
	defer m.Forget()
	e := m.configured
	var job *ReembedJob
	err := m.store.Tx(ctx, func(q querier) error {
		// Serialise start-ups of many workers on the registry.
		if _, err := q.Exec(ctx, `LOCK TABLE game.embedding_models IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		var active *string
		err := q.QueryRow(ctx, `SELECT model FROM game.embedding_models WHERE status = 'active'`).Scan(&active)
		if err != nil && err != pgx.ErrNoRows {
			return err
		}
		if active != nil && *active == e.Model() {
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
			e.Model(), m.spec.Provider, m.spec.Name, e.Dim(), status)
		if err != nil {
			return err
		}
		if err := createModelIndex(ctx, q, e.Model(), e.Dim()); err != nil {
			return err
		}
		if active == nil {
			return nil
		}
		// Other models that were being built are abandoned.
		if _, err := q.Exec(ctx, `UPDATE game.embedding_models SET status = 'retired', retired_at = now()
			WHERE status = 'building' AND model <> $1`, e.Model()); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `UPDATE game.reembed_jobs SET status = 'cancelled', finished_at = now(), updated_at = now()
			WHERE status = 'running' AND model <> $1`, e.Model()); err != nil {
			return err
		}
		j, err := scanJob(q.QueryRow(ctx, `SELECT `+jobCols+` FROM game.reembed_jobs WHERE model = $1 AND status = 'running'`, e.Model()))
		if err == nil {
			job = &j
			return nil
		}
		if err != pgx.ErrNoRows {
			return err
		}
		j, err = scanJob(q.QueryRow(ctx, `INSERT INTO game.reembed_jobs (id, model, from_model, status, total)
			VALUES ($1, $2, $3, 'running', (SELECT count(*) FROM game.messages))
			RETURNING `+jobCols, uuid.Must(uuid.NewV7()), e.Model(), *active))
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

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

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
func (s *Store) SetEmbeddings(ctx context.Context, q querier, model string, rows []VectorRow) error {
	if len(rows) == 0 {
		return nil
	}
	if q == nil {
		q = s.pool
	}
	sql, args := embeddingsInsertSQL(model, rows)
	_, err := q.Exec(ctx, sql, args...)
	return postgres.Translate(err, "embedding")
}

// embeddingsInsertSQL is the upsert of one model's vectors for rows.
func embeddingsInsertSQL(model string, rows []VectorRow) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 1+3*len(rows))
	args = append(args, model)
	b.WriteString(`INSERT INTO game.message_embeddings (model, message_id, session_id, embedding) VALUES `)
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		n := len(args)
		fmt.Fprintf(&b, "($1, $%d::uuid, $%d::uuid, $%d::vector)", n+1, n+2, n+3)
		args = append(args, r.MessageID.String(), r.SessionID.String(), VectorText(r.Vector))
	}
	b.WriteString(` ON CONFLICT (model, message_id) DO UPDATE SET embedding = excluded.embedding, created_at = now()`)
	return b.String(), args
}

// VectorRow is one message's vector.
type VectorRow struct {
	MessageID uuid.UUID
	SessionID uuid.UUID
	Vector    []float32
}
