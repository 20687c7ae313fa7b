package game

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// ImportMessage is a message written by a bulk import (benchmarks and the
// data generator), not by play.
type ImportMessage struct {
	Role    string
	Content string
}

// ImportSession creates a session owned by ownerID without a character.
func (s *Store) ImportSession(ctx context.Context, ownerID uuid.UUID, title string) (uuid.UUID, error) {
	seed, err := newOpenSeed()
	if err != nil {
		return uuid.Nil, err
	}
	ss, err := s.insertSession(ctx, Session{ID: uuid.Must(uuid.NewV7()), OwnerID: ownerID, Title: title}, seed, 0) // an operator's load test: no cap
	return ss.ID, err
}

// ImportMessages appends messages to a session with multi-row INSERTs
// (PGlite takes one statement at a time, so one row per statement would
// be hundreds of round trips per second at best) and returns them in order.
func (s *Store) ImportMessages(ctx context.Context, sessionID uuid.UUID, msgs []ImportMessage) ([]Message, error) {
	var out []Message
	for start := 0; start < len(msgs); start += 500 {
		batch := msgs[start:min(start+500, len(msgs))]
		var b strings.Builder
		args := []any{sessionID.String()}
		b.WriteString(`INSERT INTO game.messages (id, session_id, role, content, token_count) VALUES `)
		for i, m := range batch {
			if i > 0 {
				b.WriteByte(',')
			}
			n := len(args)
			fmt.Fprintf(&b, "($%d::uuid, $1::uuid, $%d, $%d, 0)", n+1, n+2, n+3)
			args = append(args, uuid.Must(uuid.NewV7()).String(), m.Role, m.Content)
		}
		b.WriteString(` RETURNING ` + messageCols)
		got, err := collectMessages(s.pool.Query(ctx, b.String(), args...))
		if err != nil {
			return nil, postgres.Translate(err, "messages")
		}
		out = append(out, got...)
	}
	return out, nil
}
