package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/codeofconquest/brightdawn/internal/memory/embed"
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
	configured embed.Embedder
	spec       ModelSpec
	factory    embed.Factory

	mu        sync.Mutex
	loaded    time.Time
	active    *EmbeddingModel
	building  []EmbeddingModel
	embedders map[string]embed.Embedder
}

// modelsTTL is how stale a process's view of the registry may be.
const modelsTTL = 2 * time.Second

// NewModels returns the registry with the configured embedder.
func NewModels(store *Store, configured embed.Embedder, spec ModelSpec, factory embed.Factory) *Models {
	return &Models{store: store, configured: configured, spec: spec, factory: factory,
		embedders: map[string]embed.Embedder{configured.Model(): configured}}
}

// Configured is the embedder of the configuration.
func (m *Models) Configured() embed.Embedder { return m.configured }

// Serving returns the embedder of the active model: queries must be
// embedded with the model whose vectors they are compared to.
func (m *Models) Serving(ctx context.Context) (embed.Embedder, error) {
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
func (m *Models) Writing(ctx context.Context) ([]embed.Embedder, error) {
	if err := m.refresh(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []embed.Embedder
	if m.active == nil {
		return []embed.Embedder{m.configured}, nil
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
func (m *Models) Embedder(em EmbeddingModel) (embed.Embedder, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.embedderLocked(em)
}

func (m *Models) embedderLocked(em EmbeddingModel) (embed.Embedder, error) {
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
	return m.store.ensureModel(ctx, EmbeddingModel{Model: e.Model(), Provider: m.spec.Provider, Name: m.spec.Name, Dim: e.Dim()})
}
