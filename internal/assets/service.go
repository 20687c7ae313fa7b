package assets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/logging"
)

// ObjectStore is the storage the service needs (implemented by *S3).
type ObjectStore interface {
	Bucket() string
	PresignPost(ctx context.Context, key, contentType string, size int64, expires time.Time) (url string, fields map[string]string, err error)
	PresignGet(ctx context.Context, key string, ttl time.Duration, params url.Values) (string, error)
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	Open(ctx context.Context, key, etag string) (io.ReadCloser, error)
	Remove(ctx context.Context, key string) error
	Copy(ctx context.Context, src, dst, etag string) (newETag string, err error)
	List(ctx context.Context, prefix string, fn func(StoredObject) bool) error
}

// StoredObject is one entry of a bucket listing.
type StoredObject struct {
	Key          string
	LastModified time.Time
}

// ObjectInfo is what storage knows about an object.
type ObjectInfo struct {
	Size        int64
	ContentType string
	ETag        string
}

// Errors of an ObjectStore.
var (
	ErrNoObject = errors.New("assets: no such object")
	ErrChanged  = errors.New("assets: object changed while being read")
)

// Options tune the service.
type Options struct {
	UploadTTL    time.Duration // lifetime of an upload form
	DownloadTTL  time.Duration // lifetime of a download URL
	PendingTTL   time.Duration // age after which an uncompleted upload is removed
	MaxPerPlayer int           // pending + ready assets a player may hold
	Now          func() time.Time
}

// Service is the assets' behaviour: every method is scoped to the player.
type Service struct {
	store   *Store
	objects ObjectStore
	opts    Options
}

// NewService wires the service.
func NewService(store *Store, objects ObjectStore, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{store: store, objects: objects, opts: opts}
}

// Create records a pending asset and returns the presigned form that
// uploads its bytes. The key is the server's; the filename is metadata.
func (s *Service) Create(ctx context.Context, playerID uuid.UUID, in CreateInput) (Upload, error) {
	in, _, err := ValidateCreate(in)
	if err != nil {
		return Upload{}, err
	}
	// The quota is checked outside a lock: concurrent creates may overshoot
	// it by a few, which is harmless; it exists to bound abuse.
	n, err := s.store.countLive(ctx, playerID)
	if err != nil {
		return Upload{}, err
	}
	if n >= s.opts.MaxPerPlayer {
		return Upload{}, apperr.New(apperr.Conflict, "you have reached the limit of %d assets; delete some first", s.opts.MaxPerPlayer)
	}
	id := uuid.Must(uuid.NewV7())
	expires := s.opts.Now().Add(s.opts.UploadTTL).UTC().Truncate(time.Millisecond)
	a, err := s.store.insert(ctx, Asset{
		ID: id, OwnerID: playerID, Kind: in.Kind, ContentType: in.ContentType, Size: in.Size, Filename: in.Filename,
		Bucket: s.objects.Bucket(), Key: UploadKey(playerID, in.Kind, id), UploadExpiresAt: &expires,
	})
	if err != nil {
		return Upload{}, err
	}
	u, fields, err := s.objects.PresignPost(ctx, a.Key, a.ContentType, a.Size, expires)
	if err != nil {
		// Nothing can have been uploaded without the form; the row goes.
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		if _, derr := s.store.markDeleted(cctx, playerID, id); derr == nil {
			_ = s.store.deleteRow(cctx, id)
		}
		return Upload{}, err
	}
	return Upload{Asset: a, Form: Form{Method: "POST", URL: u, Fields: fields}, ExpiresAt: expires}, nil
}

// Complete checks the uploaded object and makes the asset ready: it must
// exist, have the declared size and content type, and begin like a file of
// that type. The SHA-256 of the object (streamed, never more than the
// declared size) and its ETag are recorded. A mismatching object is deleted
// (the form stays usable until it expires). Completing a ready asset again
// returns it unchanged.
func (s *Service) Complete(ctx context.Context, playerID, id uuid.UUID) (Asset, error) {
	a, err := s.store.get(ctx, playerID, id)
	if err != nil {
		return a, err
	}
	if a.Status == StatusReady {
		return s.withDownload(ctx, a)
	}
	info, err := s.objects.Stat(ctx, a.Key)
	if errors.Is(err, ErrNoObject) {
		return a, apperr.New(apperr.Conflict, "the file has not been uploaded yet")
	}
	if err != nil {
		return a, err
	}
	ct, _ := CanonicalContentType(info.ContentType)
	switch {
	case info.Size != a.Size:
		return a, s.reject(ctx, a, "the uploaded file is %d bytes, %d were declared", info.Size, a.Size)
	case ct != a.ContentType:
		return a, s.reject(ctx, a, "the uploaded file's content type does not match %s", a.ContentType)
	}
	sum, err := s.digest(ctx, a, info.ETag)
	if err != nil {
		return a, err
	}
	// The verified bytes are copied (only that version: If-Match) to a key
	// no upload form can write, and served from there: re-posting the form
	// later cannot change a ready asset.
	readyKey, etag := a.Key, info.ETag
	if a.Key != ObjectKey(playerID, a.Kind, id) {
		readyKey = ObjectKey(playerID, a.Kind, id)
		if etag, err = s.objects.Copy(ctx, a.Key, readyKey, info.ETag); err != nil {
			return a, readError(err)
		}
	}
	done, ok, err := s.store.markReady(ctx, playerID, id, sum, etag, readyKey)
	if err != nil {
		return a, err
	}
	if !ok {
		// Completed (or deleted) concurrently: answer what is there now.
		if done, err = s.store.get(ctx, playerID, id); err != nil {
			return done, err
		}
	}
	if readyKey != a.Key {
		// The upload object has served its purpose; should this fail, the
		// cleanup's reconciliation removes it.
		if err := s.objects.Remove(ctx, a.Key); err != nil {
			logging.From(ctx).Warn("could not remove a completed upload", "asset_id", a.ID, "err", err)
		}
	}
	return s.withDownload(ctx, done)
}

// digest streams the object, checks that it begins like its content type
// and returns its SHA-256.
func (s *Service) digest(ctx context.Context, a Asset, etag string) (string, error) {
	r, err := s.objects.Open(ctx, a.Key, etag)
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", readError(err)
	}
	head = head[:n]
	h.Write(head)
	if !ContentMatches(a.ContentType, head) {
		return "", s.reject(ctx, a, "the uploaded file is not a valid %s file", a.ContentType)
	}
	// One byte more than declared shows an object that grew meanwhile.
	m, err := io.Copy(h, io.LimitReader(r, a.Size-int64(n)+1))
	if err != nil {
		return "", readError(err)
	}
	if int64(n)+m != a.Size {
		return "", apperr.New(apperr.Conflict, "the uploaded file changed while it was checked; complete again")
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func readError(err error) error {
	switch {
	case errors.Is(err, ErrNoObject):
		return apperr.New(apperr.Conflict, "the file has not been uploaded yet")
	case errors.Is(err, ErrChanged):
		return apperr.New(apperr.Conflict, "the uploaded file changed while it was checked; complete again")
	}
	return err
}

// cleanupContext is for the clean-up after a failed request: it must run
// even when the request was cancelled, but not forever against a store
// that stopped answering (the periodic Cleanup catches what it leaves).
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// reject deletes a mismatching upload and returns the conflict to report.
func (s *Service) reject(ctx context.Context, a Asset, format string, args ...any) error {
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	if err := s.objects.Remove(cctx, a.Key); err != nil {
		logging.From(ctx).Warn("could not remove a rejected upload", "asset_id", a.ID, "err", err)
	}
	return apperr.New(apperr.Conflict, format, args...)
}

// Get returns one of the player's assets, with a download URL when ready.
func (s *Service) Get(ctx context.Context, playerID, id uuid.UUID) (Asset, error) {
	a, err := s.store.get(ctx, playerID, id)
	if err != nil {
		return a, err
	}
	return s.withDownload(ctx, a)
}

// Page is one page of the player's assets, newest first. NextBefore is
// the `before` of the next (older) page, nil on the last.
type Page struct {
	Assets     []Asset    `json:"assets"`
	NextBefore *uuid.UUID `json:"next_before"`
}

// List returns a page of the player's assets, newest first, optionally of
// one kind: those created before the asset `before` (nil: from the newest).
func (s *Service) List(ctx context.Context, playerID uuid.UUID, kind string, before *uuid.UUID, limit int) (Page, error) {
	if _, ok := Kinds[kind]; kind != "" && !ok {
		return Page{}, apperr.Invalidf("kind", "must be one of %s", strings.Join(KindNames(), ", "))
	}
	if limit < 1 || limit > MaxPageSize {
		return Page{}, apperr.Invalidf("limit", "must be between 1 and %d", MaxPageSize)
	}
	list, err := s.store.list(ctx, playerID, kind, before, limit+1)
	if err != nil {
		return Page{}, err
	}
	var p Page
	if len(list) > limit {
		list = list[:limit]
		next := list[limit-1].ID
		p.NextBefore = &next
	}
	for i := range list {
		if list[i], err = s.withDownload(ctx, list[i]); err != nil {
			return Page{}, err
		}
	}
	p.Assets = list
	return p, nil
}

// MaxPageSize bounds one page of the asset list (as the game's lists).
const MaxPageSize = 100

// Delete removes the object, then the row. The row is hidden first, so a
// failure in between leaves no visible asset, and a retry (or the cleanup
// task) finishes the removal.
func (s *Service) Delete(ctx context.Context, playerID, id uuid.UUID) error {
	a, err := s.store.markDeleted(ctx, playerID, id)
	if err != nil {
		return err
	}
	if err := s.objects.Remove(ctx, a.Key); err != nil {
		return err
	}
	return s.store.deleteRow(ctx, a.ID)
}

// CheckPortrait confirms that an asset is the player's own ready portrait.
// It answers invalid_request for anything else, including other players'
// assets (whose existence it does not reveal).
func (s *Service) CheckPortrait(ctx context.Context, playerID, id uuid.UUID) error {
	a, err := s.store.get(ctx, playerID, id)
	if apperr.Is(err, apperr.NotFound) {
		return apperr.Invalidf("portrait_asset_id", "is not one of your assets")
	}
	if err != nil {
		return err
	}
	switch {
	case a.Kind != KindPortrait:
		return apperr.Invalidf("portrait_asset_id", "must be an asset of kind portrait, not %s", a.Kind)
	case a.Status != StatusReady:
		return apperr.Invalidf("portrait_asset_id", "the upload is not complete")
	}
	return nil
}

// CleanupBatch is how many stale assets one cleanup round claims.
const CleanupBatch = 100

// deletedGrace is how long a row may stay marked deleted before cleanup
// retries its removal (a Delete call normally finishes within milliseconds).
const deletedGrace = time.Minute

// Cleanup removes uploads still pending since before pendingBefore (their
// forms have expired: PendingTTL > UploadTTL), finishes deletions that
// were interrupted, then reconciles the bucket with the rows (Reconcile).
// It returns how many assets and stray objects it removed.
func (s *Service) Cleanup(ctx context.Context, pendingBefore time.Time) (int, error) {
	removed, err := s.cleanupRows(ctx, pendingBefore)
	if err != nil {
		return removed, err
	}
	n, err := s.Reconcile(ctx)
	return removed + n, err
}

func (s *Service) cleanupRows(ctx context.Context, pendingBefore time.Time) (int, error) {
	removed := 0
	for {
		batch, err := s.store.claimStale(ctx, pendingBefore, s.opts.Now().Add(-deletedGrace), CleanupBatch)
		if err != nil {
			return removed, err
		}
		var failed error
		for _, a := range batch {
			// Claimed rows are marked deleted: a failure here is retried
			// after deletedGrace.
			if err := s.objects.Remove(ctx, a.Key); err != nil {
				failed = errors.Join(failed, fmt.Errorf("asset %s: %w", a.ID, err))
				continue
			}
			if err := s.store.deleteRow(ctx, a.ID); err != nil {
				failed = errors.Join(failed, fmt.Errorf("asset %s: %w", a.ID, err))
				continue
			}
			removed++
		}
		if failed != nil || len(batch) < CleanupBatch {
			return removed, failed
		}
	}
}

// orphanGrace is how old an object under a ready key must be before the
// reconciliation may remove it for want of a row: Complete copies the
// object a moment before it marks the row ready.
const orphanGrace = 5 * time.Minute

// Reconcile removes the objects that no asset row accounts for: an object
// under uploads/ whose asset is no longer pending (a form re-posted after
// complete or delete) and an object under players/ older than orphanGrace
// with no live row. Without it, an old form could store bytes the API
// neither lists nor counts in the quota. It returns how many it removed.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	removed := 0
	for _, scan := range []struct {
		prefix string
		before time.Time
		status []string
	}{
		{UploadPrefix, s.opts.Now(), []string{StatusPending}},
		{ReadyPrefix, s.opts.Now().Add(-orphanGrace), []string{StatusPending, StatusReady}},
	} {
		var batch []string
		flush := func() error {
			live, err := s.store.liveKeys(ctx, batch, scan.status)
			if err != nil {
				return err
			}
			for _, k := range batch {
				if live[k] {
					continue
				}
				if err := s.objects.Remove(ctx, k); err != nil {
					return err
				}
				removed++
			}
			batch = batch[:0]
			return nil
		}
		var ferr error
		err := s.objects.List(ctx, scan.prefix, func(o StoredObject) bool {
			if !o.LastModified.Before(scan.before) {
				return true
			}
			if batch = append(batch, o.Key); len(batch) >= CleanupBatch {
				ferr = flush()
			}
			return ferr == nil
		})
		if err == nil && ferr == nil && len(batch) > 0 {
			ferr = flush()
		}
		if err = errors.Join(err, ferr); err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// PendingCutoff is the creation time before which a pending asset is stale.
func (s *Service) PendingCutoff() time.Time { return s.opts.Now().Add(-s.opts.PendingTTL) }

// withDownload adds a short-lived download URL to a ready asset. Images
// open inline; everything else downloads as an attachment under the
// client's filename (or the asset id), so a browser never renders it.
func (s *Service) withDownload(ctx context.Context, a Asset) (Asset, error) {
	if a.Status != StatusReady {
		return a, nil
	}
	params := url.Values{}
	if !Kinds[a.Kind].Image() {
		fallback := mime.FormatMediaType("attachment", map[string]string{"filename": a.ID.String() + extension(a.ContentType)})
		disposition := fallback
		if a.Filename != nil {
			disposition = mime.FormatMediaType("attachment", map[string]string{"filename": *a.Filename})
		}
		if disposition == "" {
			disposition = fallback
		}
		params.Set("response-content-disposition", disposition)
	}
	u, err := s.objects.PresignGet(ctx, a.Key, s.opts.DownloadTTL, params)
	if err != nil {
		return a, err
	}
	exp := s.opts.Now().Add(s.opts.DownloadTTL).UTC().Truncate(time.Second)
	a.DownloadURL, a.DownloadExpiresAt = &u, &exp
	return a, nil
}

func extension(contentType string) string {
	switch contentType {
	case "application/json":
		return ".json"
	case "application/pdf":
		return ".pdf"
	case "image/png":
		return ".png"
	case "image/jpeg":
		return ".jpg"
	case "image/webp":
		return ".webp"
	}
	return ""
}
