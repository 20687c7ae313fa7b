package game

import (
	"context"
	"math/rand/v2"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/logging"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
)

// Story control (docs/STORY.md): undo the latest exchange, regenerate the
// latest reply as an alternative, select an alternative, fork a session at
// any message. Only a session's owner may change its story; anyone else
// gets not_found. While a turn of the session is in flight, every one of
// them answers conflict (it does not cancel the turn: the player sees the
// reply arrive and then decides).

// Events of story control.
const (
	// EventMessageDeleted: {turn_id, message_id} a message left the
	// session's history (undo).
	EventMessageDeleted = "message.deleted"
	// EventMessageSelected: {turn_id, message_id} the story now continues
	// from this reply of its exchange (select).
	EventMessageSelected = "message.selected"
)

// Undo removes the session's latest exchange and returns the removed
// messages' ids (the player message first).
func (s *Service) Undo(ctx context.Context, playerID, sessionID uuid.UUID) ([]uuid.UUID, error) {
	out, err := s.undoLatest(ctx, playerID, sessionID)
	return removedIDs(out), err
}

// undoLatest undoes the latest exchange and announces it: the sheet's
// restored values and a message.deleted per removed message (a whisper's
// removal is news to its player alone).
func (s *Service) undoLatest(ctx context.Context, playerID, sessionID uuid.UUID) (Undone, error) {
	out, err := s.store.undo(ctx, playerID, sessionID)
	if err != nil {
		return out, err
	}
	s.publishEdits(ctx, sessionID, out.Edits)
	for _, m := range out.Removed {
		publish(ctx, s.pub, Turn{ID: turnOf(m), SessionID: sessionID, PrivateTo: m.PrivateTo}, EventMessageDeleted, map[string]any{"message_id": m.ID})
	}
	return out, nil
}

func removedIDs(out Undone) []uuid.UUID {
	ids := make([]uuid.UUID, 0, len(out.Removed))
	for _, m := range out.Removed {
		ids = append(ids, m.ID)
	}
	return ids
}

// EditLatest replaces the session's latest player message: the exchange
// is undone (its reply, rolls, sheet changes and memory go, as with Undo)
// and the new content is posted in its place, with the same visibility,
// as a new turn. The content is checked before anything is undone; should
// the post itself then be refused (the turn rate limit, say), the undo
// stands and the error says why.
func (s *Service) EditLatest(ctx context.Context, playerID, sessionID uuid.UUID, content string) (Edited, error) {
	content, err := ValidateContent(content)
	if err != nil {
		return Edited{}, err
	}
	out, err := s.undoLatest(ctx, playerID, sessionID)
	if err != nil {
		return Edited{}, err
	}
	ed := Edited{Removed: removedIDs(out)}
	private := len(out.Removed) > 0 && out.Removed[0].Visibility == VisibilityPrivate // the player message comes first
	ed.Message, ed.Turn, err = s.postMessage(ctx, playerID, sessionID, content, "", private)
	return ed, err
}

// Edited is what an edit of the latest player message did: the messages
// it removed and the message and turn that replace them.
type Edited struct {
	Removed []uuid.UUID `json:"removed"`
	Message Message     `json:"message"`
	Turn    Turn        `json:"turn"`
}

// Regenerate starts a new turn answering the player message of turnID,
// which must belong to the session's latest exchange, once no turn of the
// session is in flight. The reply selected until now is kept as an
// alternative; the new turn resolves its mechanics from the sheet as it
// was before the exchange, with a new committed dice seed.
func (s *Service) Regenerate(ctx context.Context, playerID, turnID uuid.UUID) (Turn, error) {
	seed, err := dice.NewSeed()
	if err != nil {
		return Turn{}, err
	}
	nt := Turn{ID: uuid.Must(uuid.NewV7()), Seed: rand.Int64(), diceSeed: seed[:], DiceCommitment: seed.Commitment()}
	t, edits, err := s.store.regenerate(ctx, playerID, turnID, nt)
	if err != nil {
		return Turn{}, err
	}
	s.publishEdits(ctx, t.SessionID, edits)
	publishStatus(ctx, s.pub, t)
	if err := s.runner.Start(ctx, t.ID); err != nil {
		logging.From(ctx).Error("enqueue failed; the sweeper will retry", "turn_id", t.ID, "err", err)
	}
	return t, nil
}

// SelectReply makes one alternative reply of the latest exchange the one
// the story continues from; the sheet follows it.
func (s *Service) SelectReply(ctx context.Context, playerID, messageID uuid.UUID) (Message, error) {
	sel, err := s.store.selectReply(ctx, playerID, messageID)
	if err != nil {
		return Message{}, err
	}
	if !sel.Changed {
		// Already selected: nothing changed, nothing to announce.
		return sel.Message, nil
	}
	if sel.Unembedded {
		s.embedLate(ctx, sel.Message)
	}
	s.publishEdits(ctx, sel.Message.SessionID, sel.Edits)
	publish(ctx, s.pub, Turn{ID: turnOf(sel.Message), SessionID: sel.Message.SessionID, PrivateTo: sel.Message.PrivateTo}, EventMessageSelected,
		map[string]any{"message_id": sel.Message.ID, "message": sel.Message})
	return sel.Message, nil
}

// Fork copies a session the player owns, up to and including a message,
// into a new session of theirs.
func (s *Service) Fork(ctx context.Context, playerID, sessionID uuid.UUID, in ForkInput) (Session, error) {
	if in.AtMessageID == nil {
		return Session{}, apperr.Invalidf("at_message_id", "is required")
	}
	var title *string
	if in.Title != nil {
		t, err := cleanText("title", *in.Title, MaxTitleLen)
		if err != nil {
			return Session{}, err
		}
		title = &t
	}
	seed, err := newOpenSeed()
	if err != nil {
		return Session{}, err
	}
	out, err := s.store.fork(ctx, playerID, sessionID, *in.AtMessageID, title, Session{ID: uuid.Must(uuid.NewV7())}, seed, s.limits.MaxSessions)
	if err == nil && s.embedQueue != nil {
		// A reply not embedded yet when it was copied gets its vectors here.
		if qerr := s.embedQueue.EnqueueSessionEmbed(ctx, out.ID); qerr != nil {
			logging.From(ctx).Warn("fork: embedding task not enqueued", "session_id", out.ID, "err", qerr)
		}
	}
	return out, err
}

// embedLate writes the vectors of a reply that was shelved before its
// embedding task ran (that task skips a reply that is not in the history).
// A failure leaves the reply to keyword search; it is logged.
func (s *Service) embedLate(ctx context.Context, m Message) {
	vecs, err := s.embedder.Embed(ctx, []string{m.Content})
	if err == nil {
		err = s.store.StoreVectors(ctx, m, map[string][]float32{s.embedder.Model(): vecs[0]}, embed.CountTokens(m.Content), nil)
	}
	if err != nil {
		logging.From(ctx).Warn("select: reply not embedded", "message_id", m.ID, "err", err)
	}
}

// publishEdits announces sheet changes made by story control, as a turn's
// engine announces its own.
func (s *Service) publishEdits(ctx context.Context, sessionID uuid.UUID, edits []SheetEdit) {
	for _, e := range edits {
		publish(ctx, s.pub, Turn{ID: e.TurnID, SessionID: sessionID}, EventSheetChanged,
			map[string]any{"character_id": e.CharacterID, "changes": e.Changes, "sheet": e.Sheet})
	}
}

func turnOf(m Message) uuid.UUID {
	if m.TurnID != nil {
		return *m.TurnID
	}
	return uuid.Nil
}
