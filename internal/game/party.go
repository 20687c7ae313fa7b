package game

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/logging"
)

// Party events (API.md "Events (added)").
const (
	// EventMemberJoined / EventMemberLeft: {player_id, display_name, character_id?}.
	EventMemberJoined = "member.joined"
	EventMemberLeft   = "member.left"
	// EventPresence: {player_id, online}.
	EventPresence = "presence"
	// EventTyping: {player_id}; never stored, never sent to the typist.
	EventTyping = "typing"
)

// Caps of a party (issue #15): members per session, open invites per session.
const (
	MaxMembers     = 8
	MaxOpenInvites = 10
)

// Member is one player of a session.
type Member struct {
	PlayerID    uuid.UUID  `json:"player_id"`
	DisplayName string     `json:"display_name"`
	CharacterID *uuid.UUID `json:"character_id"`
	Role        string     `json:"role"`
	JoinedAt    time.Time  `json:"joined_at"`
	Online      bool       `json:"online"`
	// Character is the member's character as the rules engine keeps it:
	// the party sees every player's sheet.
	Character *Character `json:"character,omitempty"`
}

// Invite is a code that lets players join a session. Code is set only in
// the answer that created it (the store keeps a hash).
type Invite struct {
	ID        uuid.UUID `json:"-"`
	SessionID uuid.UUID `json:"-"`
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
	MaxUses   *int      `json:"max_uses"`
	Uses      int       `json:"uses"`
	CreatedAt time.Time `json:"-"`
}

// InviteInput creates an invite: max_uses (1..100, none: bounded by the
// member cap) and expires_in seconds (60 s .. 30 days, default 7 days).
type InviteInput struct {
	MaxUses   *int `json:"max_uses"`
	ExpiresIn *int `json:"expires_in"`
}

// JoinInput joins a session with one of the player's characters.
type JoinInput struct {
	CharacterID *uuid.UUID `json:"character_id"`
}

// Party is what the party needs beyond Postgres (implemented by
// *events.Party on Redis, shared by every API replica).
type Party interface {
	// MemberRemoved tells every API replica to end the player's open
	// streams of the session at once.
	MemberRemoved(ctx context.Context, sessionID, playerID uuid.UUID) error
	// Online returns which players have a stream of the session open.
	Online(ctx context.Context, sessionID uuid.UUID) (map[uuid.UUID]bool, error)
	// AllowTyping spends the player's typing signal of the session for
	// TypingInterval (false: one was sent within it).
	AllowTyping(ctx context.Context, sessionID, playerID uuid.UUID, interval time.Duration) (bool, error)
}

// TypingInterval is how often a player's typing is announced at most.
const TypingInterval = 2 * time.Second

// WithParty sets the party's Redis side (nil: removed members' streams end
// only with their credential; nobody is shown online).
func WithParty(p Party) ServiceOption { return func(s *Service) { s.party = p } }

// inviteCode is 128 random bits, URL-safe; only its hash is stored.
func inviteCode() (string, []byte, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	code := base64.RawURLEncoding.EncodeToString(b[:])
	return code, codeHash(code), nil
}

func codeHash(code string) []byte {
	h := sha256.Sum256([]byte(code))
	return h[:]
}

// validCode refuses anything that cannot be a code before it reaches SQL.
func validCode(code string) bool {
	if len(code) != 22 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(code)
	return err == nil
}

// CreateInvite makes an invite to a session the player owns.
func (s *Service) CreateInvite(ctx context.Context, playerID, sessionID uuid.UUID, in InviteInput) (Invite, error) {
	ttl := DefaultInviteTTL
	if in.ExpiresIn != nil {
		ttl = time.Duration(*in.ExpiresIn) * time.Second
		if ttl < MinInviteTTL || ttl > MaxInviteTTL {
			return Invite{}, apperr.Invalidf("expires_in", "must be between %d and %d seconds", int(MinInviteTTL.Seconds()), int(MaxInviteTTL.Seconds()))
		}
	}
	if in.MaxUses != nil && (*in.MaxUses < 1 || *in.MaxUses > MaxInviteUses) {
		return Invite{}, apperr.Invalidf("max_uses", "must be between 1 and %d", MaxInviteUses)
	}
	code, hash, err := inviteCode()
	if err != nil {
		return Invite{}, err
	}
	inv, err := s.store.insertInvite(ctx, playerID, Invite{
		ID: uuid.Must(uuid.NewV7()), SessionID: sessionID, MaxUses: in.MaxUses, ExpiresAt: time.Now().Add(ttl),
	}, hash, MaxOpenInvites)
	inv.Code = code
	return inv, err
}

// RevokeInvite ends an invite of a session the player owns.
func (s *Service) RevokeInvite(ctx context.Context, playerID, sessionID uuid.UUID, code string) error {
	if !validCode(code) {
		// Still check the session first: a stranger learns nothing.
		if _, err := memberRole(ctx, s.store.pool, sessionID, playerID); err != nil {
			return err
		}
		return apperr.NotFoundf("invite")
	}
	return s.store.revokeInvite(ctx, playerID, sessionID, codeHash(code))
}

// JoinSession makes the player a member of the invite's session, playing
// one of their own characters.
func (s *Service) JoinSession(ctx context.Context, playerID uuid.UUID, code string, in JoinInput) (Session, Member, error) {
	if in.CharacterID == nil {
		return Session{}, Member{}, apperr.Invalidf("character_id", "is required")
	}
	if !validCode(code) {
		return Session{}, Member{}, apperr.NotFoundf("invite")
	}
	sess, m, joined, err := s.store.joinByInvite(ctx, playerID, codeHash(code), *in.CharacterID, MaxMembers)
	if err != nil {
		return sess, m, err
	}
	if joined {
		s.publishMember(ctx, sess.ID, EventMemberJoined, m)
	}
	return sess, m, nil
}

// ListMembers returns a session's members with their online state.
func (s *Service) ListMembers(ctx context.Context, playerID, sessionID uuid.UUID) ([]Member, error) {
	ms, err := s.store.listMembers(ctx, playerID, sessionID)
	if err != nil {
		return ms, err
	}
	if err := s.store.memberCharacters(ctx, ms); err != nil {
		return nil, err
	}
	if s.party == nil {
		return ms, nil
	}
	online, err := s.party.Online(ctx, sessionID)
	if err != nil {
		// Presence is a nicety: the members list stands without it.
		logging.From(ctx).Warn("presence unavailable", "session_id", sessionID, "err", err)
		return ms, nil
	}
	for i := range ms {
		ms[i].Online = online[ms[i].PlayerID]
	}
	return ms, nil
}

// RemoveMember removes a member (the owner) or leaves (the member). The
// removed player's streams end on every replica; every later request of
// theirs to the session is not_found (membership is checked on each).
func (s *Service) RemoveMember(ctx context.Context, playerID, sessionID, targetID uuid.UUID) error {
	m, err := s.store.removeMember(ctx, playerID, sessionID, targetID)
	if err != nil {
		return err
	}
	if s.party != nil {
		if err := s.party.MemberRemoved(ctx, sessionID, targetID); err != nil {
			// The membership is gone (every request is refused); an open
			// stream still ends with its access token.
			logging.From(ctx).Error("announcing a removal failed", "session_id", sessionID, "player_id", targetID, "err", err)
		}
	}
	s.publishMember(ctx, sessionID, EventMemberLeft, m)
	return nil
}

func (s *Service) publishMember(ctx context.Context, sessionID uuid.UUID, typ string, m Member) {
	data := map[string]any{"player_id": m.PlayerID, "display_name": m.DisplayName}
	if m.CharacterID != nil {
		data["character_id"] = m.CharacterID
	}
	if _, err := s.pub.PublishTurn(ctx, sessionID, uuid.Nil, typ, data); err != nil {
		logPublishFailure(ctx, typ, err)
	}
}

// Typing tells the session's other members that the player is typing: an
// ephemeral event (never stored in the stream's history) that is not sent
// back to the typist. At most one per TypingInterval (rate_limited).
func (s *Service) Typing(ctx context.Context, playerID, sessionID uuid.UUID) error {
	if _, err := memberRole(ctx, s.store.pool, sessionID, playerID); err != nil {
		return err
	}
	ap, ok := s.pub.(AudiencePublisher)
	if s.party == nil || !ok {
		return nil // nobody to tell how
	}
	allowed, err := s.party.AllowTyping(ctx, sessionID, playerID, TypingInterval)
	if err != nil {
		return apperr.Wrap(err, apperr.Unavailable, "typing unavailable")
	}
	if !allowed {
		return apperr.Limited(TypingInterval, "typing is announced at most every "+TypingInterval.String())
	}
	_, err = ap.PublishAudience(ctx, sessionID, uuid.Nil, Audience{Except: playerID, Ephemeral: true}, EventTyping,
		map[string]any{"player_id": playerID})
	return err
}

// SessionPatch changes a session (its owner only): its title, its mode
// and its round timeout (seconds; docs/PARTY.md).
type SessionPatch struct {
	Title        *string `json:"title"`
	Mode         *string `json:"mode"`
	RoundTimeout *int    `json:"round_timeout"`
}

// UpdateSession applies a patch to a session the player owns. Switching to
// free mode closes the open round: one turn answers its actions.
func (s *Service) UpdateSession(ctx context.Context, playerID, id uuid.UUID, p SessionPatch) (Session, error) {
	if p.Mode != nil && *p.Mode != ModeFree && *p.Mode != ModeRounds {
		return Session{}, apperr.Invalidf("mode", "must be free or rounds")
	}
	if p.RoundTimeout != nil && (*p.RoundTimeout < MinRoundTimeout || *p.RoundTimeout > MaxRoundTimeout) {
		return Session{}, apperr.Invalidf("round_timeout", "must be between %d and %d seconds", MinRoundTimeout, MaxRoundTimeout)
	}
	var title *string
	if p.Title != nil {
		t, err := cleanText("title", *p.Title, MaxTitleLen)
		if err != nil {
			return Session{}, err
		}
		title = &t
	}
	out, closed, err := s.store.updateSession(ctx, playerID, id, title, p.Mode, p.RoundTimeout, newRoundTurn)
	if err != nil {
		return out, err
	}
	if closed != nil {
		s.roundClosed(ctx, *closed)
	}
	return out, nil
}
