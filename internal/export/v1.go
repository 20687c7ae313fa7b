package export

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/lore"
	"github.com/codeofconquest/brightdawn/internal/rules"
)

// documentV1 is format version 1, read for import and upgraded to the
// current shape. Version 1 had its own roll and sheet-change shapes: a
// roll's "expression" and bare die values, a change's JSON "before" and
// "after".
type documentV1 struct {
	Format       string          `json:"format"`
	Version      int             `json:"version"`
	ExportedAt   time.Time       `json:"exported_at"`
	Session      Session         `json:"session"`
	Messages     []Message       `json:"messages"`
	Rolls        []rollV1        `json:"rolls"`
	SheetChanges []sheetChangeV1 `json:"sheet_changes"`
	Lore         []lore.Entry    `json:"lore"`
	Summary      *Summary        `json:"summary"`
}

type rollV1 struct {
	MessageID  string `json:"message_id"`
	Expression string `json:"expression"`
	Dice       []int  `json:"dice"`
	Total      int    `json:"total"`
	Reason     string `json:"reason,omitempty"`
}

type sheetChangeV1 struct {
	MessageID string          `json:"message_id"`
	Character string          `json:"character"`
	Path      string          `json:"path"`
	Before    json.RawMessage `json:"before"`
	After     json.RawMessage `json:"after"`
}

// upgrade converts a version 1 document. A roll keeps its expression as
// its notation, and its dice get their sides from it when it parses
// (dice notation, NdM±K; 0 sides otherwise); it was the DM's (version 1
// exports had only turn rolls). A sheet change whose before and after are
// whole numbers (what the rules engine changes) is kept; any other is left
// out and said so in Skipped.
func (v documentV1) upgrade() Document {
	d := Document{Format: v.Format, Version: Version, ExportedAt: v.ExportedAt, Session: v.Session,
		Messages: v.Messages, Lore: v.Lore, Summary: v.Summary}
	for _, r := range v.Rolls {
		out := Roll{MessageID: r.MessageID, Actor: ActorDM, Roll: dice.Roll{Notation: r.Expression, Reason: r.Reason, Total: r.Total}}
		sides := 0
		if n, err := dice.Parse(r.Expression); err == nil {
			sides, out.Modifier = n.Sides, n.Modifier
		}
		out.Dice = make([]dice.Die, len(r.Dice))
		for i, v := range r.Dice {
			out.Dice[i] = dice.Die{Sides: sides, Value: v}
		}
		d.Rolls = append(d.Rolls, out)
	}
	skipped := 0
	for _, c := range v.SheetChanges {
		from, err1 := strconv.Atoi(string(c.Before))
		to, err2 := strconv.Atoi(string(c.After))
		if err1 != nil || err2 != nil {
			skipped++
			continue
		}
		d.SheetChanges = append(d.SheetChanges, SheetChange{MessageID: c.MessageID, Character: c.Character,
			Change: rules.Change{Path: c.Path, From: from, To: to}})
	}
	if skipped > 0 {
		d.Skipped = append(d.Skipped, Skip{What: "sheet_changes", Count: skipped,
			Reason: "version 1 changes whose before and after are not whole numbers have no place in version 2"})
	}
	return d
}
