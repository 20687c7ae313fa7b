package game

import (
	"bytes"
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/export"
	"github.com/codeofconquest/brightdawn/internal/logging"
	"github.com/codeofconquest/brightdawn/internal/lore"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// assetKindExport is the asset kind of an uploaded export.
const assetKindExport = "export"

// EmbedQueue starts the task that embeds an imported session's messages
// (implemented by *workers.Client).
type EmbedQueue interface {
	EnqueueSessionEmbed(ctx context.Context, sessionID uuid.UUID) error
}

// Imported is an import's result: the new session, and what of the export
// it does not carry over, with why.
type Imported struct {
	Session Session
	Skipped []export.Skip
}

// ImportSession creates a new session of the player's from a JSON export
// they uploaded as a ready asset of kind export: its messages in order with
// their roles, its lore and summary. The messages get new ids; player
// messages are the importing player's. Their vectors are computed by a
// task afterwards, in batches (memory search finds them by keyword
// meanwhile). Rolls and sheet changes are not restored: they belong to
// turns and a character, and an imported session has neither (its
// messages were not played here, and its dice cannot be verified); the
// result says how many were left out.
func (s *Service) ImportSession(ctx context.Context, playerID, assetID uuid.UUID) (Imported, error) {
	if s.assets == nil || s.exports == nil {
		return Imported{}, apperr.New(apperr.Unavailable, "imports are not configured")
	}
	b, ct, err := s.assets.ReadReady(ctx, playerID, assetID, assetKindExport, "asset_id")
	if err != nil {
		return Imported{}, err
	}
	if ct != "application/json" {
		return Imported{}, apperr.Invalidf("asset_id", "must be a JSON export, not %s", ct)
	}
	d, err := export.Decode(bytes.NewReader(b))
	if err != nil {
		return Imported{}, err
	}
	res := Imported{Skipped: append([]export.Skip{}, d.Skipped...)}
	if n := len(d.Rolls); n > 0 {
		res.Skipped = append(res.Skipped, export.Skip{What: "rolls", Count: n,
			Reason: "rolls belong to turns played on a server, with dice that can be verified; an imported session has none (the transcript keeps them)"})
	}
	if n := len(d.SheetChanges); n > 0 {
		res.Skipped = append(res.Skipped, export.Skip{What: "sheet_changes", Count: n,
			Reason: "sheet changes belong to a character, and an imported session has none"})
	}
	title := cutRunes(d.Session.Title, MaxTitleLen)
	if title, err = cleanText("title", title, MaxTitleLen); err != nil {
		title = "Imported session"
	}
	for i, m := range d.Messages {
		if err := checkText("messages", m.Content, MaxContentRunes, true); err != nil {
			return Imported{}, apperr.New(apperr.Unprocessable, "messages[%d] is longer than a message may be here (%d characters)", i, MaxContentRunes)
		}
	}
	var book []lore.Entry
	for _, e := range d.Lore {
		if v, _, err := lore.Validate(e); err == nil && len(book) < lore.MaxEntriesPerSession {
			book = append(book, v)
		}
	}
	sess := Session{ID: uuid.Must(uuid.NewV7()), OwnerID: playerID, Title: title}
	out, err := s.store.importSession(ctx, sess, d, book)
	res.Session = out
	if err != nil {
		return res, err
	}
	if s.embedQueue != nil {
		if err := s.embedQueue.EnqueueSessionEmbed(ctx, out.ID); err != nil {
			return res, err
		}
	}
	if s.summaryQueue != nil {
		// A long imported history needs its summary before its next turn
		// rather than after it (the task does nothing for a short one).
		if err := s.summaryQueue.EnqueueSummary(ctx, out.ID); err != nil {
			logging.From(ctx).Warn("could not start the imported session's summary", "session_id", out.ID, "err", err)
		}
	}
	return res, nil
}

// importSession writes an imported session, all or nothing.
func (s *Store) importSession(ctx context.Context, in Session, d *export.Document, book []lore.Entry) (Session, error) {
	var out Session
	err := s.Tx(ctx, func(q querier) error {
		var err error
		out, err = scanSession(q.QueryRow(ctx, `
			INSERT INTO game.sessions AS s (id, owner_id, title) VALUES ($1, $2, $3) RETURNING `+sessionCols, in.ID, in.OwnerID, in.Title))
		if err != nil {
			return err
		}
		if _, err = q.Exec(ctx, `INSERT INTO game.session_members (session_id, player_id, role) VALUES ($1, $2, 'owner')`, in.ID, in.OwnerID); err != nil {
			return err
		}
		n := len(d.Messages)
		// Arrays of text: PGlite's simple protocol has no encode plan for uuid[].
		ids, roles, contents := make([]string, n), make([]string, n), make([]string, n)
		authors, times, private := make([]*string, n), make([]time.Time, n), make([]*string, n)
		owner := in.OwnerID.String()
		newID := map[string]uuid.UUID{}
		for i, m := range d.Messages {
			id := uuid.Must(uuid.NewV7())
			ids[i], roles[i], contents[i], times[i] = id.String(), m.Role, m.Content, m.CreatedAt
			if m.Role == RolePlayer {
				authors[i] = &owner
			}
			if m.Visibility == VisibilityPrivate {
				private[i] = &owner // the exporter's whispers stay the importer's
			}
			newID[m.ID] = id
		}
		// seq follows the export's order: rows are inserted in ordinality order.
		if _, err = q.Exec(ctx, `INSERT INTO game.messages (id, session_id, role, author_id, content, created_at, visibility, private_to)
			SELECT u.id, $1, u.role, u.author, u.content, u.created_at, CASE WHEN u.private_to IS NULL THEN 'public' ELSE 'private' END, u.private_to
			FROM unnest($2::text[]::uuid[], $3::text[], $4::text[]::uuid[], $5::text[], $6::timestamptz[], $7::text[]::uuid[])
				WITH ORDINALITY AS u(id, role, author, content, created_at, private_to, o)
			ORDER BY u.o`, in.ID, ids, roles, authors, contents, times, private); err != nil {
			return err
		}
		if err = insertLoreRows(ctx, q, in.ID, book, nil); err != nil {
			return err
		}
		if d.Summary != nil {
			through, ok := newID[d.Summary.ThroughMessageID]
			if ok {
				_, err = q.Exec(ctx, `INSERT INTO game.session_summaries (session_id, content, through_message_id, edited, updated_at)
					VALUES ($1, $2, $3, false, $4)`, in.ID, d.Summary.Content, through, d.Summary.UpdatedAt)
			}
		}
		return err
	})
	return out, postgres.Translate(err, "session")
}

// ImportEmbedBatch is how many messages of an imported session one
// embedding call takes.
const ImportEmbedBatch = 64

// EmbedSession computes the missing vectors of a session's messages (an
// imported one; a fork's are copied from its origin), a batch at a time, for every model in use. progress is
// called after each batch with how many messages got vectors so far.
func (p *Pipeline) EmbedSession(ctx context.Context, sessionID uuid.UUID, progress func(done int)) error {
	served, err := p.models.Serving(ctx)
	if err != nil {
		return err
	}
	embedders, err := p.models.Writing(ctx)
	if err != nil {
		return err
	}
	done := 0
	// A fork's messages take their origin's vectors first (fork_store.go).
	for {
		n, err := p.store.CopyForkVectors(ctx, sessionID, ImportEmbedBatch)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		done += n
		if progress != nil {
			progress(done)
		}
	}
	for {
		msgs, err := p.store.unembedded(ctx, sessionID, served.Model(), ImportEmbedBatch)
		if err != nil || len(msgs) == 0 {
			return err
		}
		texts := make([]string, len(msgs))
		for i, m := range msgs {
			texts[i] = m.Content
		}
		vectors := make([]map[string][]float32, len(msgs))
		for i := range vectors {
			vectors[i] = map[string][]float32{}
		}
		for _, e := range embedders {
			vecs, err := e.Embed(ctx, texts)
			if err != nil {
				return err
			}
			for i := range msgs {
				vectors[i][e.Model()] = vecs[i]
			}
		}
		for i, m := range msgs {
			if err := p.store.StoreVectors(ctx, m, vectors[i], embed.CountTokens(m.Content), nil); err != nil {
				return err
			}
		}
		done += len(msgs)
		if progress != nil {
			progress(done)
		}
	}
}

// unembedded returns up to limit of a session's messages, oldest first,
// without a vector of model.
func (s *Store) unembedded(ctx context.Context, sessionID uuid.UUID, model string, limit int) ([]Message, error) {
	out, err := collectMessages(s.pool.Query(ctx, `SELECT `+messageCols+` FROM game.messages m
		WHERE m.session_id = $1 AND NOT EXISTS (SELECT 1 FROM game.message_embeddings e WHERE e.message_id = m.id AND e.model = $2)
		ORDER BY m.seq LIMIT $3`, sessionID, model, limit))
	return out, postgres.Translate(err, "message")
}

// Import progress statuses.
const (
	ImportEmbedding = "embedding"
	ImportReady     = "ready"
)

// ImportProgress is how far the embedding of a session's messages has got
// (an imported session's, by the embed:session task): Embedded of Total
// messages have a vector of Model.
type ImportProgress struct {
	Status   string `json:"status"` // "embedding" until every message has a vector, then "ready"
	Embedded int    `json:"embedded"`
	Total    int    `json:"total"`
	Model    string `json:"model"`
}

// ImportProgress reports the embedding progress of a session the player
// is a member of, read from the messages themselves, so it is right
// whichever worker runs the task, and after a restart.
func (s *Service) ImportProgress(ctx context.Context, playerID, sessionID uuid.UUID) (ImportProgress, error) {
	p, err := s.store.importProgress(ctx, playerID, sessionID, s.embedder.Model())
	if err != nil {
		return p, err
	}
	p.Status = ImportEmbedding
	if p.Embedded >= p.Total {
		p.Status = ImportReady
	}
	return p, nil
}

// importProgress counts a member's session's messages and those with a
// vector of model.
func (s *Store) importProgress(ctx context.Context, playerID, sessionID uuid.UUID, model string) (ImportProgress, error) {
	p := ImportProgress{Model: model}
	err := s.pool.QueryRow(ctx, `SELECT count(m.id), count(e.message_id) FROM game.sessions s
		JOIN game.session_members mem ON mem.session_id = s.id AND mem.player_id = $2
		LEFT JOIN game.messages m ON m.session_id = s.id
		LEFT JOIN game.message_embeddings e ON e.message_id = m.id AND e.model = $3
		WHERE s.id = $1 GROUP BY s.id`, sessionID, playerID, model).Scan(&p.Total, &p.Embedded)
	return p, postgres.Translate(err, "session")
}
