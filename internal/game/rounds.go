package game

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/logging"
)

// Session modes (docs/PARTY.md "Turns with several players").
const (
	ModeFree   = "free"
	ModeRounds = "rounds"
)

// A round's time, in seconds: from its first action to its close by timeout.
const (
	MinRoundTimeout     = 10
	MaxRoundTimeout     = 3600
	DefaultRoundTimeout = 120
)

// Round statuses, and why a round closed.
const (
	RoundOpen   = "open"
	RoundClosed = "closed"

	RoundAllActed      = "all_acted"
	RoundTimedOut      = "timeout"
	RoundClosedByOwner = "owner"
	RoundModeChanged   = "mode_changed"
)

// Round events (API.md "Events (added)"), on the session stream.
const (
	// EventRoundOpened: {round_id, closes_at}.
	EventRoundOpened = "round.opened"
	// EventRoundAction: {round_id, player_id, message_id, content}.
	EventRoundAction = "round.action"
	// EventRoundClosed: {round_id, turn_id?, reason}.
	EventRoundClosed = "round.closed"
)

// SourceRound marks a round turn's context items: the round's actions,
// each with who acted (Title) and what they did (Content).
const SourceRound = "round"

// Round gathers the party's actions for one DM turn.
type Round struct {
	ID        uuid.UUID  `json:"id"`
	SessionID uuid.UUID  `json:"session_id"`
	Status    string     `json:"status"`
	OpenedAt  time.Time  `json:"opened_at"`
	ClosesAt  time.Time  `json:"closes_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	TurnID    *uuid.UUID `json:"turn_id,omitempty"`
	// Acted lists the players who acted in the round, in order.
	Acted []uuid.UUID `json:"acted"`
	// Reason is why the round closed (in the answer that closed it).
	Reason string `json:"reason,omitempty"`
}

// OpenRound is a session's open round as a page loaded mid-round needs
// it (GET /api/sessions/{id}): who acted, in order, and which members the
// round still awaits. A round past closes_at stays open until the sweeper
// or the next action closes it.
type OpenRound struct {
	RoundID  uuid.UUID   `json:"round_id"`
	OpenedAt time.Time   `json:"opened_at"`
	ClosesAt time.Time   `json:"closes_at"`
	Acted    []uuid.UUID `json:"acted"`
	Awaiting []uuid.UUID `json:"awaiting"`
}

// SessionView is a session as GET /api/sessions/{id} shows it to a
// member: the session and its open round (null when there is none).
type SessionView struct {
	Session
	OpenRound *OpenRound `json:"open_round"`
}

// ViewSession returns a session the player is a member of with its open
// round (looked up only in rounds mode: switching to free closes it).
func (s *Service) ViewSession(ctx context.Context, playerID, id uuid.UUID) (SessionView, error) {
	sess, err := s.GetSession(ctx, playerID, id)
	if err != nil {
		return SessionView{}, err
	}
	v := SessionView{Session: sess}
	if sess.Mode == ModeRounds {
		v.OpenRound, err = s.store.openRound(ctx, id)
	}
	return v, err
}

// RoundAction is what posting an action did.
type RoundAction struct {
	Message Message
	Round   Round
	Opened  bool
	// Closed holds the rounds this action closed: a round past its time
	// that the sweeper had not closed yet, and the action's own round when
	// every member has acted.
	Closed []closedRound
}

// Posted is the answer to a public message: in free mode its turn, in
// rounds mode its round (and the turn, when the message closed it).
type Posted struct {
	Message Message `json:"message"`
	Turn    *Turn   `json:"turn,omitempty"`
	Round   *Round  `json:"round,omitempty"`
}

var (
	errNotRounds   = errors.New("the session plays in free mode")
	errNoOpenRound = apperr.New(apperr.Conflict, "the session has no open round")
)

// PostPartyMessage posts a public message: a turn in free mode, an action
// of the open round in rounds mode (one per member per round: a second is
// a conflict; Idempotency-Key is not used in rounds mode, so a retried
// action is a conflict too).
func (s *Service) PostPartyMessage(ctx context.Context, playerID, sessionID uuid.UUID, content, idemKey string) (Posted, error) {
	mode, err := s.store.sessionMode(ctx, sessionID, playerID)
	if err != nil {
		return Posted{}, err
	}
	if mode == ModeRounds {
		p, err := s.act(ctx, playerID, sessionID, content)
		if !errors.Is(err, errNotRounds) {
			return p, err
		}
	}
	m, t, err := s.PostMessage(ctx, playerID, sessionID, content, idemKey)
	return Posted{Message: m, Turn: &t}, err
}

func (s *Service) act(ctx context.Context, playerID, sessionID uuid.UUID, content string) (Posted, error) {
	content, err := ValidateContent(content)
	if err != nil {
		return Posted{}, err
	}
	if s.limits.Rate != nil {
		if err := s.limits.Rate.AllowTurn(ctx, playerID); err != nil {
			return Posted{}, err
		}
	}
	msg := Message{ID: uuid.Must(uuid.NewV7()), SessionID: sessionID, Role: RolePlayer, Content: content, AuthorID: &playerID, Visibility: VisibilityPublic}
	act, err := s.store.addAction(ctx, msg, time.Now(), newRoundTurn)
	if err != nil {
		return Posted{}, err
	}
	// A stale round closed before this one opened: its events first.
	var own *closedRound
	for i := range act.Closed {
		if act.Closed[i].Round.ID == act.Round.ID {
			own = &act.Closed[i]
			continue
		}
		s.roundClosed(ctx, act.Closed[i])
	}
	if act.Opened {
		s.publishRound(ctx, sessionID, EventRoundOpened, map[string]any{"round_id": act.Round.ID, "closes_at": act.Round.ClosesAt})
	}
	s.publishRound(ctx, sessionID, EventRoundAction, map[string]any{
		"round_id": act.Round.ID, "player_id": playerID, "message_id": act.Message.ID, "content": act.Message.Content})
	out := Posted{Message: act.Message, Round: &act.Round}
	if own != nil {
		s.roundClosed(ctx, *own)
		out.Turn = own.Turn
	}
	return out, nil
}

// CloseRound closes the session's open round now (its owner only): ONE
// turn answers the actions so far.
func (s *Service) CloseRound(ctx context.Context, playerID, sessionID uuid.UUID) (Round, *Turn, error) {
	rt, err := newRoundTurn()
	if err != nil {
		return Round{}, nil, err
	}
	c, err := s.store.closeRound(ctx, playerID, sessionID, rt)
	if err != nil {
		return Round{}, nil, err
	}
	s.roundClosed(ctx, c)
	return c.Round, c.Turn, nil
}

// roundClosed announces a closed round and starts its turn.
func (s *Service) roundClosed(ctx context.Context, c closedRound) {
	publishRoundClosed(ctx, s.pub, c)
	if c.Turn == nil {
		return
	}
	if err := s.runner.Start(ctx, c.Turn.ID); err != nil {
		logging.From(ctx).Error("enqueue failed; the sweeper will retry", "turn_id", c.Turn.ID, "err", err)
	}
}

func publishRoundClosed(ctx context.Context, pub Publisher, c closedRound) {
	data := map[string]any{"round_id": c.Round.ID, "reason": c.Round.Reason}
	if c.Turn != nil {
		data["turn_id"] = c.Turn.ID
		publishStatus(ctx, pub, *c.Turn)
	}
	if _, err := pub.PublishTurn(ctx, c.Round.SessionID, uuid.Nil, EventRoundClosed, data); err != nil {
		logPublishFailure(ctx, EventRoundClosed, err)
	}
}

func (s *Service) publishRound(ctx context.Context, sessionID uuid.UUID, typ string, data map[string]any) {
	if _, err := s.pub.PublishTurn(ctx, sessionID, uuid.Nil, typ, data); err != nil {
		logPublishFailure(ctx, typ, err)
	}
}

// newRoundTurn draws the seeds of a round's turn.
func newRoundTurn() (roundTurn, error) {
	seed, err := dice.NewSeed()
	if err != nil {
		return roundTurn{}, err
	}
	next, err := newOpenSeed()
	if err != nil {
		return roundTurn{}, err
	}
	return roundTurn{
		Turn: Turn{ID: uuid.Must(uuid.NewV7()), Seed: rand.Int64(), diceSeed: seed[:], DiceCommitment: seed.Commitment()},
		Next: next,
	}, nil
}

// CloseDueRounds closes the open rounds whose time passed at now (the
// sweeper's work: no process has to be awake when a round times out) and
// returns their turns, for the caller to start.
func (p *Pipeline) CloseDueRounds(ctx context.Context, now time.Time, limit int) ([]uuid.UUID, error) {
	rounds, err := p.store.dueRounds(ctx, now, limit)
	if err != nil {
		return nil, err
	}
	var turns []uuid.UUID
	for _, r := range rounds {
		rt, err := newRoundTurn()
		if err != nil {
			return turns, err
		}
		c, ok, err := p.store.closeDueRound(ctx, r, now, rt)
		if err != nil {
			return turns, err
		}
		if !ok {
			continue
		}
		publishRoundClosed(ctx, p.pub, c)
		if c.Turn != nil {
			turns = append(turns, c.Turn.ID)
		}
	}
	return turns, nil
}

// roundPrompt is the player part of a round turn's prompt: every action of
// the round, each attributed to who acted.
func roundPrompt(items []ContextItem) string {
	var b strings.Builder
	b.WriteString("The party acts together this round:")
	for _, it := range items {
		fmt.Fprintf(&b, "\n- %s: %s", it.Title, it.Content)
	}
	return b.String()
}
