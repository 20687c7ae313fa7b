package campaign

import (
	"context"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
)

// Load writes msgs as a new session titled title, owned by owner, together
// with emb's vector of every message, and returns the session's id and the
// stored messages in the order of msgs; the vectors go through the memory
// store. It uses the game store's bulk import (multi-row INSERTs) rather than the turn pipeline, because benchmarks
// load thousands of messages; vectors go batch rows per statement.
func Load(ctx context.Context, store *game.Store, vectors *memory.Store, emb embed.Embedder, owner uuid.UUID, title string, msgs []Message, batch int) (uuid.UUID, []game.Message, error) {
	id, err := store.ImportSession(ctx, owner, title)
	if err != nil {
		return uuid.Nil, nil, err
	}
	in := make([]game.ImportMessage, len(msgs))
	for i, m := range msgs {
		in[i] = game.ImportMessage{Role: m.Role, Content: m.Content}
	}
	stored, err := store.ImportMessages(ctx, id, in)
	if err != nil {
		return uuid.Nil, nil, err
	}
	if err := Embed(ctx, vectors, emb, id, stored, batch); err != nil {
		return uuid.Nil, nil, err
	}
	return id, stored, nil
}

// Embed stores emb's vector of every stored message of a session, batch
// rows per statement: a second model's vectors beside Load's.
func Embed(ctx context.Context, vectors *memory.Store, emb embed.Embedder, sessionID uuid.UUID, stored []game.Message, batch int) error {
	texts := make([]string, len(stored))
	for i, m := range stored {
		texts[i] = m.Content
	}
	vecs, err := emb.Embed(ctx, texts)
	if err != nil {
		return err
	}
	rows := make([]game.VectorRow, len(stored))
	for i, m := range stored {
		rows[i] = game.VectorRow{MessageID: m.ID, SessionID: sessionID, Vector: vecs[i]}
	}
	for i := 0; i < len(rows); i += batch {
		if err := vectors.SetEmbeddings(ctx, emb.Model(), rows[i:min(i+batch, len(rows))]); err != nil {
			return err
		}
	}
	return nil
}
