package game

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/export"
	"github.com/codeofconquest/brightdawn/internal/logging"
)

// Export formats and statuses.
const (
	ExportJSON     = "json"
	ExportMarkdown = "markdown"

	ExportPending = "pending"
	ExportReady   = "ready"
	ExportFailed  = "failed"
)

// ExportDownloadTTL is how long an export's download link works.
const ExportDownloadTTL = 15 * time.Minute

// Export is a session export written by a task into the exports bucket.
type Export struct {
	ID          uuid.UUID `json:"id"`
	SessionID   uuid.UUID `json:"session_id"`
	PlayerID    uuid.UUID `json:"-"`
	Format      string    `json:"format"`
	Status      string    `json:"status"`
	DownloadURL *string   `json:"download_url,omitempty"`
	Error       *string   `json:"error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	objectKey   *string
}

// ExportObjects is the exports bucket (implemented by *assets.S3).
type ExportObjects interface {
	Put(ctx context.Context, key, contentType string, body []byte) error
	PresignGet(ctx context.Context, key string, ttl time.Duration, params url.Values) (string, error)
}

// ExportQueue starts an export's task (implemented by *workers.Client).
type ExportQueue interface {
	EnqueueExport(ctx context.Context, id uuid.UUID) error
}

// ExportTasks starts export and import tasks (implemented by *workers.Client).
type ExportTasks interface {
	ExportQueue
	EmbedQueue
	SummaryQueue
}

// WithExports lets players export sessions and import exports.
func WithExports(objects ExportObjects, queue ExportTasks) ServiceOption {
	return func(s *Service) {
		s.exports = &Exporter{store: s.store, objects: objects}
		s.exportQueue, s.embedQueue, s.summaryQueue = queue, queue, queue
	}
}

// CreateExport records a pending export of a session the player owns and
// starts its task.
func (s *Service) CreateExport(ctx context.Context, playerID, sessionID uuid.UUID, format string) (Export, error) {
	if s.exports == nil {
		return Export{}, apperr.New(apperr.Unavailable, "exports are not configured")
	}
	if format != ExportJSON && format != ExportMarkdown {
		return Export{}, apperr.Invalidf("format", "must be json or markdown")
	}
	e, err := s.store.insertExport(ctx, playerID, sessionID, format)
	if err != nil {
		return e, err
	}
	if err := s.exportQueue.EnqueueExport(ctx, e.ID); err != nil {
		return e, err
	}
	return e, nil
}

// GetExport returns one of the player's exports, with a download link once
// it is ready.
func (s *Service) GetExport(ctx context.Context, playerID, id uuid.UUID) (Export, error) {
	if s.exports == nil {
		return Export{}, apperr.New(apperr.Unavailable, "exports are not configured")
	}
	e, err := s.store.getExport(ctx, playerID, id)
	if err != nil || e.Status != ExportReady || e.objectKey == nil {
		return e, err
	}
	name := fmt.Sprintf("session-%s.%s", e.SessionID, map[string]string{ExportJSON: "json", ExportMarkdown: "md"}[e.Format])
	u, err := s.exports.objects.PresignGet(ctx, *e.objectKey, ExportDownloadTTL, url.Values{
		"response-content-disposition": {`attachment; filename="` + name + `"`},
	})
	if err != nil {
		return e, err
	}
	e.DownloadURL = &u
	return e, nil
}

// Exporter writes exports (the worker's side).
type Exporter struct {
	store   *Store
	objects ExportObjects
}

// NewExporter wires the export task's work.
func NewExporter(store *Store, objects ExportObjects) *Exporter {
	return &Exporter{store: store, objects: objects}
}

// Run writes one export: the document into the exports bucket, then the
// export ready. A document that cannot be written (it breaks the format's
// limits) ends the export failed; other errors are returned for a retry.
func (x *Exporter) Run(ctx context.Context, id uuid.UUID) error {
	e, err := x.store.exportByID(ctx, id)
	if apperr.Is(err, apperr.NotFound) || (err == nil && e.Status != ExportPending) {
		return nil // deleted with its session, or done by an earlier run
	}
	if err != nil {
		return err
	}
	d, err := x.store.exportDocument(ctx, e.SessionID, e.PlayerID)
	if err != nil {
		return err
	}
	d.Format, d.Version, d.ExportedAt = export.Format, export.Version, time.Now().UTC()
	var body []byte
	ct, ext := "application/json", "json"
	if e.Format == ExportMarkdown {
		ct, ext = "text/markdown; charset=utf-8", "md"
		if err = export.Validate(&d); err == nil {
			body = export.Markdown(d)
		}
	} else {
		body, err = export.Encode(d)
	}
	if err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) {
			logging.From(ctx).Warn("export failed", "export_id", id, "err", err)
			reason := ae.Message
			return x.store.finishExport(ctx, id, ExportFailed, nil, &reason)
		}
		return err
	}
	key := fmt.Sprintf("players/%s/sessions/%s/%s.%s", e.PlayerID, e.SessionID, e.ID, ext)
	if err := x.objects.Put(ctx, key, ct, body); err != nil {
		return err
	}
	return x.store.finishExport(ctx, id, ExportReady, &key, nil)
}
