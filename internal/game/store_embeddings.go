package game

import (
	"fmt"
	"strings"

	"github.com/codeofconquest/brightdawn/internal/memory/embed"
)

// embeddingsInsertSQL is the upsert of one model's vectors for rows, which
// the embed and retrieve stages queue in their own round trip.
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
		args = append(args, r.MessageID.String(), r.SessionID.String(), embed.VectorText(r.Vector))
	}
	b.WriteString(` ON CONFLICT (model, message_id) DO UPDATE SET embedding = excluded.embedding, created_at = now()`)
	return b.String(), args
}
