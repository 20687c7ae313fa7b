package game

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/lore"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
)

// SourceLore marks a lore entry in a turn's context.
const SourceLore = "lore"

// Lore budgets: the share of the prompt budget lore may take, and what one
// entry may cost (a longer one is cut). docs/LORE.md explains the order.
const (
	LoreBudgetShare   = 4 // lore takes at most 1/LoreBudgetShare of the prompt budget
	LoreEntryMaxToken = 300
)

// LoreEntry is a stored lore entry of a session.
type LoreEntry struct {
	lore.Entry
	SessionID uuid.UUID `json:"session_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// LoreInput creates a lore entry; Enabled defaults to true.
type LoreInput struct {
	Title   string   `json:"title"`
	Keys    []string `json:"keys"`
	Content string   `json:"content"`
	Always  bool     `json:"always"`
	Enabled *bool    `json:"enabled"`
}

// LorePatch changes some fields of a lore entry.
type LorePatch struct {
	Title   *string   `json:"title"`
	Keys    *[]string `json:"keys"`
	Content *string   `json:"content"`
	Always  *bool     `json:"always"`
	Enabled *bool     `json:"enabled"`
}

// CreateLore adds a lore entry to a session the player owns. Keys likely
// to misfire are stored and returned as warnings.
func (s *Service) CreateLore(ctx context.Context, playerID, sessionID uuid.UUID, in LoreInput) (LoreEntry, []lore.Warning, error) {
	e := lore.Entry{Title: in.Title, Keys: in.Keys, Content: in.Content, Always: in.Always, Enabled: in.Enabled == nil || *in.Enabled}
	e, warns, err := lore.Validate(e)
	if err != nil {
		return LoreEntry{}, nil, err
	}
	out, err := s.store.insertLore(ctx, playerID, sessionID, []lore.Entry{e})
	if err != nil {
		return LoreEntry{}, nil, err
	}
	return out[0], orNone(warns), nil
}

// ListLore returns the lore of a session the player owns.
func (s *Service) ListLore(ctx context.Context, playerID, sessionID uuid.UUID) ([]LoreEntry, error) {
	return s.store.listLore(ctx, playerID, sessionID)
}

// GetLore returns a lore entry of a session the player owns.
func (s *Service) GetLore(ctx context.Context, playerID, id uuid.UUID) (LoreEntry, error) {
	return s.store.getLore(ctx, playerID, id)
}

// UpdateLore applies a patch to a lore entry of a session the player owns.
func (s *Service) UpdateLore(ctx context.Context, playerID, id uuid.UUID, p LorePatch) (LoreEntry, []lore.Warning, error) {
	cur, err := s.store.getLore(ctx, playerID, id)
	if err != nil {
		return cur, nil, err
	}
	e := cur.Entry
	if p.Title != nil {
		e.Title = *p.Title
	}
	if p.Keys != nil {
		e.Keys = *p.Keys
	}
	if p.Content != nil {
		e.Content = *p.Content
	}
	if p.Always != nil {
		e.Always = *p.Always
	}
	if p.Enabled != nil {
		e.Enabled = *p.Enabled
	}
	e, warns, err := lore.Validate(e)
	if err != nil {
		return cur, nil, err
	}
	cur.Entry = e
	out, err := s.store.updateLore(ctx, playerID, id, cur)
	return out, orNone(warns), err
}

// DeleteLore removes a lore entry of a session the player owns.
func (s *Service) DeleteLore(ctx context.Context, playerID, id uuid.UUID) error {
	return s.store.deleteLore(ctx, playerID, id)
}

func orNone(w []lore.Warning) []lore.Warning {
	if w == nil {
		return []lore.Warning{}
	}
	return w
}

// lore matches the session's enabled lore entries against the recent
// messages and the player's, and selects what fits lore's share of the
// prompt budget (at most what the fixed parts leave), each entry capped at
// LoreEntryMaxToken. The order is lore.Select's: always-included entries,
// then the most recently mentioned, then the most mentioned.
func (p *Pipeline) lore(ctx context.Context, t Turn, pm Message, char *Character, recent []Message) ([]ContextItem, error) {
	entries, err := p.store.SessionLore(ctx, t.SessionID)
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	msgs := make([]lore.Message, 0, len(recent)+1)
	for _, m := range recent {
		msgs = append(msgs, lore.Message{ID: m.ID.String(), Content: m.Content})
	}
	msgs = append(msgs, lore.Message{ID: pm.ID.String(), Content: pm.Content})
	matches := lore.NewMatcher(entries).Match(msgs)
	if len(matches) == 0 {
		return nil, nil
	}
	budget := p.opts.PromptBudget / LoreBudgetShare
	fixed := dm.Prompt{System: p.opts.System, Character: char.forDM(), Player: pm.Content}.Tokens()
	if left := p.opts.PromptBudget - fixed; left < budget {
		budget = left
	}
	sel := lore.Select(matches, lore.Budget{Tokens: budget, PerEntry: LoreEntryMaxToken, Count: embed.CountTokens})
	out := make([]ContextItem, 0, len(sel.Included))
	for _, in := range sel.Included {
		out = append(out, ContextItem{Source: SourceLore, LoreID: in.Entry.ID, Title: in.Entry.Title, Matched: in.Key,
			Always: in.Always && in.Key == "", Content: in.Content, Tokens: in.Tokens, Role: RoleSystem})
	}
	return out, nil
}
