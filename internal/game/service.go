package game

import (
	"context"
	"math/rand/v2"
	"strings"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/logging"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/rules"
)

// Stages of the pipeline, each its own task type.
const (
	StageEmbed    = "embed"
	StageRetrieve = "retrieve"
	StageGenerate = "generate"
	StageEmbedDM  = "embed_dm"
)

// Runner processes accepted turns (implemented by *workers.Client): the
// service hands it a committed turn and asks it to stop one. Which task,
// queue or worker that means is the runner's business.
type Runner interface {
	// Start begins processing a committed turn. Starting a turn twice must
	// succeed without doubling its work.
	Start(ctx context.Context, turnID uuid.UUID) error
	// Stop asks whichever worker runs the turn's generation to stop.
	Stop(ctx context.Context, turnID uuid.UUID) error
}

// Service is the game's API-facing behaviour.
type Service struct {
	store    *Store
	runner   Runner
	pub      Publisher
	embedder embed.Embedder
	search   MemorySearch

	portraits Portraits   // nil: characters cannot have portraits
	assets    AssetReader // nil: no imports of uploads (cards.go)

	exports     *Exporter // nil: no exports (exports.go)
	exportQueue ExportQueue
	embedQueue  EmbedQueue  // imported sessions' vectors (import.go)
	pack        *rules.Pack // the rule pack sheets are normalised with (WithRules)

	limits TurnLimits // per-player turn limits (limits.go)
	party  Party      // removals and presence across replicas (party.go); may be nil

	ender SessionEnder // nil: a deleted session's stream is left to expire

	summaryTokens int          // a rolling summary's budget (summary.go)
	summaryQueue  SummaryQueue // imported sessions' summaries (import.go)
}

// WithSessionEnder makes DeleteSession end the session's event stream.
func WithSessionEnder(e SessionEnder) ServiceOption {
	return func(s *Service) { s.ender = e }
}

// NewService wires the game service.
func NewService(store *Store, runner Runner, pub Publisher, embedder embed.Embedder, search MemorySearch, opts ...ServiceOption) *Service {
	s := &Service{store: store, runner: runner, pub: pub, embedder: embedder, search: search, pack: rules.Default()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// --- characters

// CreateCharacter validates and stores a new character for the player.
func (s *Service) CreateCharacter(ctx context.Context, playerID uuid.UUID, in CharacterInput) (Character, error) {
	c := Character{ID: uuid.Must(uuid.NewV7()), PlayerID: playerID, Level: 1}
	var err error
	if c.Name, err = cleanText("name", in.Name, MaxNameLen); err != nil {
		return c, err
	}
	if c.Class, err = cleanText("class", in.Class, MaxClassLen); err != nil {
		return c, err
	}
	if c.Sheet, err = s.sheet(in.Sheet); err != nil {
		return c, err
	}
	c.Level = c.Sheet.Level
	if in.Level != nil {
		c.Level = *in.Level
	}
	if err := checkLevel(c.Level); err != nil {
		return c, err
	}
	c.Sheet.Level = c.Level
	return s.store.insertCharacter(ctx, c, s.limits.MaxCharacters)
}

// ListCharacters returns a page of the player's characters, newest first:
// those created before the character `before` (nil: from the newest).
func (s *Service) ListCharacters(ctx context.Context, playerID uuid.UUID, before *uuid.UUID, limit int) (CharacterPage, error) {
	if err := CheckPageLimit(limit); err != nil {
		return CharacterPage{}, err
	}
	list, err := s.store.listCharacters(ctx, playerID, before, limit+1)
	if err != nil {
		return CharacterPage{}, err
	}
	var p CharacterPage
	p.Characters, p.NextBefore = CutPage(list, limit, func(c Character) uuid.UUID { return c.ID })
	return p, nil
}

// GetCharacter returns one of the player's characters.
func (s *Service) GetCharacter(ctx context.Context, playerID, id uuid.UUID) (Character, error) {
	return s.store.getCharacter(ctx, s.store.pool, playerID, id)
}

// UpdateCharacter applies a patch to one of the player's characters.
// The read, the patch and the write happen under the row's lock, so two
// concurrent patches of different fields both land; with If-Match a patch
// made against an older version is refused (precondition_failed).
func (s *Service) UpdateCharacter(ctx context.Context, playerID, id uuid.UUID, p CharacterPatch) (out Character, err error) {
	// The portrait is checked before the row is locked: the check reads the
	// asset on a connection of its own, which must not wait on this
	// transaction (PGlite serves one transaction at a time: it would hang).
	var portrait Character
	if p.PortraitAssetID.Set {
		portrait.PlayerID = playerID
		if err := s.setPortrait(ctx, &portrait, p.PortraitAssetID); err != nil {
			return Character{}, err
		}
	}
	err = s.store.Tx(ctx, func(q querier) error {
		out, err = s.updateCharacter(ctx, q, playerID, id, p, portrait.PortraitAssetID)
		return err
	})
	return out, err
}

func (s *Service) updateCharacter(ctx context.Context, q querier, playerID, id uuid.UUID, p CharacterPatch, portrait *uuid.UUID) (Character, error) {
	c, err := s.store.lockCharacter(ctx, q, playerID, id)
	if err != nil {
		return c, err
	}
	if p.IfMatch != "" && p.IfMatch != "*" && p.IfMatch != c.ETag() {
		return c, apperr.New(apperr.PreconditionFailed, "the character changed since %s (now %s): fetch it again", p.IfMatch, c.ETag())
	}
	if p.Name != nil {
		if c.Name, err = cleanText("name", *p.Name, MaxNameLen); err != nil {
			return c, err
		}
	}
	if p.Class != nil {
		if c.Class, err = cleanText("class", *p.Class, MaxClassLen); err != nil {
			return c, err
		}
	}
	old := c.Sheet
	if p.Sheet != nil {
		if c.Sheet, err = s.sheet(p.Sheet); err != nil {
			return c, err
		}
		c.Level = c.Sheet.Level
	}
	if p.Level != nil {
		if err := checkLevel(*p.Level); err != nil {
			return c, err
		}
		c.Level = *p.Level
	}
	c.Sheet.Level = c.Level
	if p.PortraitAssetID.Set {
		c.PortraitAssetID = portrait // checked by UpdateCharacter
	}
	return s.store.updateCharacter(ctx, q, c, engineOwnedChange(old, c.Sheet))
}

// DeleteCharacter removes one of the player's characters.
func (s *Service) DeleteCharacter(ctx context.Context, playerID, id uuid.UUID) error {
	return s.store.deleteCharacter(ctx, playerID, id)
}

// --- sessions

// CreateSession opens a session, optionally played by one of the player's characters.
func (s *Service) CreateSession(ctx context.Context, playerID uuid.UUID, in SessionInput) (Session, error) {
	title, err := cleanText("title", in.Title, MaxTitleLen)
	if err != nil {
		return Session{}, err
	}
	if in.CharacterID != nil {
		if _, err := s.store.getCharacter(ctx, s.store.pool, playerID, *in.CharacterID); err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return Session{}, apperr.Invalidf("character_id", "is not one of your characters")
			}
			return Session{}, err
		}
	}
	seed, err := newOpenSeed()
	if err != nil {
		return Session{}, err
	}
	return s.store.insertSession(ctx, Session{ID: uuid.Must(uuid.NewV7()), OwnerID: playerID, Title: title, CharacterID: in.CharacterID}, seed, s.limits.MaxSessions)
}

// ListSessions returns a page of the sessions the player is in, newest
// first: those created before the session `before` (nil: from the newest).
func (s *Service) ListSessions(ctx context.Context, playerID uuid.UUID, before *uuid.UUID, limit int) (SessionPage, error) {
	if err := CheckPageLimit(limit); err != nil {
		return SessionPage{}, err
	}
	list, err := s.store.listSessions(ctx, playerID, before, limit+1)
	if err != nil {
		return SessionPage{}, err
	}
	var p SessionPage
	p.Sessions, p.NextBefore = CutPage(list, limit, func(s Session) uuid.UUID { return s.ID })
	return p, nil
}

// GetSession returns a session the player is in.
func (s *Service) GetSession(ctx context.Context, playerID, id uuid.UUID) (Session, error) {
	return s.store.getSession(ctx, s.store.pool, playerID, id)
}

// DeleteSession removes a session the player owns with everything in it
// (messages and their vectors, turns, rolls, lore, …). Its turns still in
// flight end cancelled: their final events reach open turn streams and
// their generation is told to stop (should the signal miss, it stops at
// its next delta, which the ended stream refuses, or at its heartbeat,
// which finds the turn gone). Then the session's event stream ends: every
// open stream of it, on every replica, gets session.deleted and ends, and
// its event history leaves Redis; its members' streams end too.
func (s *Service) DeleteSession(ctx context.Context, playerID, id uuid.UUID) error {
	cancelled, members, err := s.store.deleteSession(ctx, playerID, id)
	if err != nil {
		return err
	}
	for _, t := range cancelled {
		publishStatus(ctx, s.pub, t)
		publish(ctx, s.pub, t, EventTurnCancelled, map[string]any{"dice_seed": t.DiceSeed})
		if err := s.runner.Stop(ctx, t.ID); err != nil {
			logging.From(ctx).Warn("cancel signal failed; generation stops at its next delta", "turn_id", t.ID, "err", err)
		}
	}
	if s.ender != nil {
		if err := s.ender.EndSession(ctx, id); err != nil {
			// The session is gone from Postgres (streams reopen as 404);
			// the history expires with its stream's TTL.
			logging.From(ctx).Error("ending the deleted session's stream failed", "session_id", id, "err", err)
		}
	}
	if s.party == nil {
		return nil
	}
	for _, m := range members {
		if err := s.party.MemberRemoved(ctx, id, m); err != nil {
			logging.From(ctx).Error("announcing a removal failed", "session_id", id, "player_id", m, "err", err)
		}
	}
	return nil
}

// --- messages

// Page is one page of messages, oldest first.
type Page struct {
	Messages   []Message  `json:"messages"`
	NextBefore *uuid.UUID `json:"next_before"`
}

// ListMessages pages backwards through a session's messages.
func (s *Service) ListMessages(ctx context.Context, playerID, sessionID uuid.UUID, before *uuid.UUID, limit int) (Page, error) {
	if err := CheckPageLimit(limit); err != nil {
		return Page{}, err
	}
	if _, err := s.GetSession(ctx, playerID, sessionID); err != nil {
		return Page{}, err
	}
	msgs, err := s.store.listMessages(ctx, sessionID, playerID, before, limit+1)
	if err != nil {
		return Page{}, err
	}
	var page Page
	page.Messages, page.NextBefore = CutPage(msgs, limit, func(m Message) uuid.UUID { return m.ID })
	for i, j := 0, len(page.Messages)-1; i < j; i, j = i+1, j-1 {
		page.Messages[i], page.Messages[j] = page.Messages[j], page.Messages[i]
	}
	return page, nil
}

// PostMessage records the player's message and its turn in one transaction,
// then starts the pipeline. A repeated Idempotency-Key returns the first
// message and turn and creates nothing.
func (s *Service) PostMessage(ctx context.Context, playerID, sessionID uuid.UUID, content, idemKey string) (Message, Turn, error) {
	return s.postMessage(ctx, playerID, sessionID, content, idemKey, false)
}

// PostPrivateMessage is PostMessage for a whisper: the message, its turn's
// events and the DM's answer are the player's alone (docs/PARTY.md).
func (s *Service) PostPrivateMessage(ctx context.Context, playerID, sessionID uuid.UUID, content, idemKey string) (Message, Turn, error) {
	return s.postMessage(ctx, playerID, sessionID, content, idemKey, true)
}

func (s *Service) postMessage(ctx context.Context, playerID, sessionID uuid.UUID, content, idemKey string, private bool) (Message, Turn, error) {
	content, err := ValidateContent(content)
	if err != nil {
		return Message{}, Turn{}, err
	}
	if err := ValidateIdempotencyKey(idemKey); err != nil {
		return Message{}, Turn{}, err
	}
	// The session's membership is checked where the turn is inserted, in
	// the same round trip (insertTurn); a replay finds only the player's
	// own turns of the session.
	if idemKey != "" {
		if m, t, err := s.replay(ctx, sessionID, playerID, idemKey, content); err == nil || !apperr.Is(err, apperr.NotFound) {
			return m, t, err
		}
	}
	if s.limits.Rate != nil {
		if err := s.limits.Rate.AllowTurn(ctx, playerID); err != nil {
			return Message{}, Turn{}, err
		}
	}
	turnID := uuid.Must(uuid.NewV7())
	msg := Message{ID: uuid.Must(uuid.NewV7()), SessionID: sessionID, Role: RolePlayer, Content: content, TurnID: &turnID, AuthorID: &playerID, Visibility: VisibilityPublic}
	if private {
		msg.Visibility, msg.PrivateTo = VisibilityPrivate, &playerID
	}
	seed, err := dice.NewSeed()
	if err != nil {
		return Message{}, Turn{}, err
	}
	next, err := newOpenSeed()
	if err != nil {
		return Message{}, Turn{}, err
	}
	turn := Turn{ID: turnID, SessionID: sessionID, PlayerID: playerID, Seed: rand.Int64(), diceSeed: seed[:], DiceCommitment: seed.Commitment()}
	if idemKey != "" {
		turn.IdempotencyKey = &idemKey
	}
	m, t, err := s.store.insertTurn(ctx, msg, turn, next, s.limits.MaxInFlight)
	if err != nil {
		if idemKey != "" && apperr.Is(err, apperr.Conflict) {
			// A concurrent request with the same key won the race.
			return s.replay(ctx, sessionID, playerID, idemKey, content)
		}
		if idemKey != "" && apperr.Is(err, apperr.RateLimited) {
			// A concurrent request with the same key may have taken the
			// player's last in-flight slot: a retry still gets its turn.
			if m, t, rerr := s.replay(ctx, sessionID, playerID, idemKey, content); !apperr.Is(rerr, apperr.NotFound) {
				return m, t, rerr
			}
		}
		return Message{}, Turn{}, err
	}
	publishStatus(ctx, s.pub, t)
	if err := s.runner.Start(ctx, t.ID); err != nil {
		// The turn is committed; the sweeper re-enqueues it, so the
		// player's message is not lost. Say so in the log.
		logging.From(ctx).Error("enqueue failed; the sweeper will retry", "turn_id", t.ID, "err", err)
	}
	return m, t, nil
}

func (s *Service) replay(ctx context.Context, sessionID, playerID uuid.UUID, key, content string) (Message, Turn, error) {
	t, err := s.store.turnByIdempotencyKey(ctx, s.store.pool, sessionID, playerID, key)
	if err != nil {
		return Message{}, Turn{}, err
	}
	m, err := s.store.GetMessage(ctx, t.PlayerMessageID)
	if err != nil {
		return Message{}, Turn{}, err
	}
	if m.Content != content {
		return Message{}, Turn{}, apperr.New(apperr.Conflict, "Idempotency-Key was already used for a different message")
	}
	return m, t, nil
}

// --- turns

// GetTurn returns a turn of a session the player is in.
// Its rolls and changes come with it.
func (s *Service) GetTurn(ctx context.Context, playerID, id uuid.UUID) (Turn, error) {
	t, err := s.store.getTurnFor(ctx, playerID, id)
	if err != nil {
		return t, err
	}
	if t.Alternatives, err = s.store.alternatives(ctx, t); err != nil {
		return t, err
	}
	return t, s.store.turnEffects(ctx, &t)
}

// CancelTurn ends a turn `cancelled` and stops its generation. Cancelling a
// cancelled turn is a no-op; a turn that already ended otherwise is a conflict.
func (s *Service) CancelTurn(ctx context.Context, playerID, id uuid.UUID) (Turn, error) {
	t, err := s.store.getTurnFor(ctx, playerID, id)
	if err != nil {
		return t, err
	}
	if t.PlayerID != playerID {
		role, err := memberRole(ctx, s.store.pool, t.SessionID, playerID)
		if err != nil {
			return t, err
		}
		if role != RoleOwner {
			return t, apperr.New(apperr.Forbidden, "only the turn's player or the session's owner may cancel it")
		}
	}
	if t.Status == StatusCancelled {
		return t, nil
	}
	ended, ok, err := s.store.Finish(ctx, id, StatusCancelled, nil)
	if err != nil {
		return t, err
	}
	if !ok {
		return t, apperr.New(apperr.Conflict, "the turn has already ended")
	}
	publishStatus(ctx, s.pub, ended)
	publish(ctx, s.pub, ended, EventTurnCancelled, map[string]any{"dice_seed": ended.DiceSeed})
	if t.Status == StatusGenerating || t.Status == StatusRetrieving {
		if err := s.runner.Stop(ctx, id); err != nil {
			logging.From(ctx).Warn("cancel signal failed; generation stops at its next check", "turn_id", id, "err", err)
		}
	}
	return ended, nil
}

// SearchMemory returns the session's messages most similar to q.
func (s *Service) SearchMemory(ctx context.Context, playerID, sessionID uuid.UUID, q string, k int) ([]MemoryResult, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, apperr.Invalidf("q", "is required")
	}
	if err := checkText("q", q, MaxQueryRunes, true); err != nil {
		return nil, err
	}
	if k < 1 || k > MaxMemoryK {
		return nil, apperr.Invalidf("k", "must be between 1 and %d", MaxMemoryK)
	}
	if _, err := s.GetSession(ctx, playerID, sessionID); err != nil {
		return nil, err
	}
	return s.search.Recall(ctx, sessionID, Query{Text: q, Viewer: playerID}, k, nil)
}

// SessionAccess checks that the player may read a session.
// Through the hot cache when the store has one (a session's members).
func (s *Service) SessionAccess(ctx context.Context, playerID, sessionID uuid.UUID) error {
	return s.store.sessionAccess(ctx, playerID, sessionID)
}
