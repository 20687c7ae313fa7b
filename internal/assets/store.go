package assets

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// Store is the hand-written SQL of game.assets. Methods taking an ownerID
// answer not_found for rows of other players.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const assetCols = `id, owner_id, kind, status, content_type, size, filename, checksum, etag,
	created_at, updated_at, completed_at, bucket, object_key, upload_expires_at`

// collectAssets reads the rows of a query of assetCols (never nil).
func collectAssets(rows pgx.Rows, err error) ([]Asset, error) {
	if err != nil {
		return nil, postgres.Translate(err, "assets")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Asset, error) { return scanAsset(r) })
	if out == nil {
		out = []Asset{}
	}
	return out, postgres.Translate(err, "assets")
}

func scanAsset(row pgx.Row) (Asset, error) {
	var a Asset
	err := row.Scan(&a.ID, &a.OwnerID, &a.Kind, &a.Status, &a.ContentType, &a.Size, &a.Filename, &a.SHA256, &a.ETag,
		&a.CreatedAt, &a.UpdatedAt, &a.CompletedAt, &a.Bucket, &a.Key, &a.UploadExpiresAt)
	return a, err
}

func (s *Store) insert(ctx context.Context, a Asset) (Asset, error) {
	out, err := scanAsset(s.pool.QueryRow(ctx, `
		INSERT INTO game.assets (id, owner_id, kind, bucket, object_key, content_type, size, filename, status, upload_expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9)
		RETURNING `+assetCols,
		a.ID, a.OwnerID, a.Kind, a.Bucket, a.Key, a.ContentType, a.Size, a.Filename, a.UploadExpiresAt))
	return out, postgres.Translate(err, "asset")
}

// countLive counts the player's pending and ready assets (the quota).
func (s *Store) countLive(ctx context.Context, ownerID uuid.UUID) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM game.assets
		WHERE owner_id = $1 AND status IN ('pending', 'ready')`, ownerID).Scan(&n)
	return n, postgres.Translate(err, "assets")
}

// get returns a live (pending or ready) asset of the player.
func (s *Store) get(ctx context.Context, ownerID, id uuid.UUID) (Asset, error) {
	a, err := scanAsset(s.pool.QueryRow(ctx, `SELECT `+assetCols+` FROM game.assets
		WHERE id = $1 AND owner_id = $2 AND status IN ('pending', 'ready')`, id, ownerID))
	return a, postgres.Translate(err, "asset")
}

// list returns up to limit of the player's live assets, newest first,
// optionally of one kind, created before the asset `before` (nil: from the
// newest). A `before` that is not a live asset of the player is invalid.
func (s *Store) list(ctx context.Context, ownerID uuid.UUID, kind string, before *uuid.UUID, limit int) ([]Asset, error) {
	var at *time.Time
	if before != nil {
		var t time.Time
		err := s.pool.QueryRow(ctx, `SELECT created_at FROM game.assets
			WHERE id = $1 AND owner_id = $2 AND status IN ('pending', 'ready')`, *before, ownerID).Scan(&t)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, apperr.Invalidf("before", "is not one of your assets")
		}
		if err != nil {
			return nil, postgres.Translate(err, "assets")
		}
		at = &t
	}
	rows, err := s.pool.Query(ctx, `SELECT `+assetCols+` FROM game.assets
		WHERE owner_id = $1 AND status IN ('pending', 'ready') AND ($2 = '' OR kind = $2)
			AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
		ORDER BY created_at DESC, id DESC LIMIT $5`, ownerID, kind, at, before, limit)
	return collectAssets(rows, err)
}

// markReady records a verified upload. ok is false when the asset is no
// longer pending (completed or deleted meanwhile).
func (s *Store) markReady(ctx context.Context, ownerID, id uuid.UUID, sha256, etag, key string) (a Asset, ok bool, err error) {
	a, err = scanAsset(s.pool.QueryRow(ctx, `
		UPDATE game.assets SET status = 'ready', checksum = $3, etag = $4, object_key = $5, completed_at = now(), updated_at = now()
		WHERE id = $1 AND owner_id = $2 AND status = 'pending'
		RETURNING `+assetCols, id, ownerID, sha256, etag, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, postgres.Translate(err, "asset")
	}
	return a, true, nil
}

// markDeleted hides an asset of the player from every read before its
// object is removed. An asset already marked deleted (an earlier attempt
// that could not remove the object) is returned again so the caller can
// finish the job.
func (s *Store) markDeleted(ctx context.Context, ownerID, id uuid.UUID) (Asset, error) {
	a, err := scanAsset(s.pool.QueryRow(ctx, `
		UPDATE game.assets SET status = 'deleted', updated_at = now()
		WHERE id = $1 AND owner_id = $2
		RETURNING `+assetCols, id, ownerID))
	return a, postgres.Translate(err, "asset")
}

// deleteRow removes an asset row whose object is gone.
func (s *Store) deleteRow(ctx context.Context, id uuid.UUID) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM game.assets WHERE id = $1 AND status = 'deleted'`, id)
	return postgres.Translate(err, "asset")
}

// claimStale marks deleted, and returns, up to limit assets that are
// pending since before pendingBefore, or were marked deleted before
// deletedBefore and never finished (a crash or a storage outage between the
// mark and the removal). SKIP LOCKED lets concurrent cleaners share work.
func (s *Store) claimStale(ctx context.Context, pendingBefore, deletedBefore time.Time, limit int) ([]Asset, error) {
	rows, err := s.pool.Query(ctx, `
		UPDATE game.assets SET status = 'deleted', updated_at = now()
		WHERE id IN (
			SELECT id FROM game.assets
			WHERE (status = 'pending' AND created_at < $1) OR (status = 'deleted' AND updated_at < $2)
			ORDER BY created_at
			LIMIT $3
			FOR UPDATE SKIP LOCKED)
		RETURNING `+assetCols, pendingBefore, deletedBefore, limit)
	return collectAssets(rows, err)
}

// liveKeys reports which of keys belong to an asset in one of statuses.
func (s *Store) liveKeys(ctx context.Context, keys, statuses []string) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT object_key FROM game.assets
		WHERE object_key = ANY($1) AND status = ANY($2)`, keys, statuses)
	if err != nil {
		return nil, postgres.Translate(err, "assets")
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, postgres.Translate(err, "assets")
	}
	live := make(map[string]bool, len(found))
	for _, k := range found {
		live[k] = true
	}
	return live, nil
}
