package auth

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// dbtx is what the store needs from a pool or a transaction.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// store is the hand-written SQL of the auth schema. Every error leaving it
// has been through postgres.Translate.
type store struct{}

const playerColumns = `id, email, display_name, role, created_at`

func scanPlayer(row pgx.Row, extra ...any) (Player, error) {
	var p Player
	dest := append([]any{&p.ID, &p.Email, &p.DisplayName, &p.Role, &p.CreatedAt}, extra...)
	err := row.Scan(dest...)
	return p, err
}

func (store) insertPlayer(ctx context.Context, db dbtx, p Player, passwordHash string) (Player, error) {
	row := db.QueryRow(ctx, `
		INSERT INTO auth.players (id, email, display_name, password_hash, role)
		VALUES ($1, $2, $3, $4, $5)
		RETURNING `+playerColumns,
		p.ID, p.Email, p.DisplayName, passwordHash, p.Role)
	out, err := scanPlayer(row)
	return out, postgres.Translate(err, "player")
}

// playerByEmail returns the player and its password hash.
func (store) playerByEmail(ctx context.Context, db dbtx, email string) (Player, string, error) {
	var hash string
	p, err := scanPlayer(db.QueryRow(ctx, `
		SELECT `+playerColumns+`, password_hash
		FROM auth.players WHERE lower(email) = lower($1)`, email), &hash)
	return p, hash, postgres.Translate(err, "player")
}

func (store) playerByID(ctx context.Context, db dbtx, id uuid.UUID) (Player, error) {
	p, err := scanPlayer(db.QueryRow(ctx, `SELECT `+playerColumns+` FROM auth.players WHERE id = $1`, id))
	return p, postgres.Translate(err, "player")
}

func (store) insertFamily(ctx context.Context, db dbtx, id, playerID uuid.UUID, at time.Time) error {
	_, err := db.Exec(ctx, `INSERT INTO auth.refresh_families (id, player_id, created_at) VALUES ($1, $2, $3)`, id, playerID, at)
	return postgres.Translate(err, "refresh family")
}

// refreshRow is a stored refresh token and the state of its family.
type refreshRow struct {
	ID        uuid.UUID
	FamilyID  uuid.UUID
	PlayerID  uuid.UUID
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
	// FamilyRevokedAt is set once the whole family is revoked.
	FamilyRevokedAt *time.Time
}

func (store) insertRefreshToken(ctx context.Context, db dbtx, id, familyID, playerID uuid.UUID, hash []byte, createdAt, expiresAt time.Time) error {
	_, err := db.Exec(ctx, `
		INSERT INTO auth.refresh_tokens (id, family_id, player_id, token_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		id, familyID, playerID, hash, createdAt, expiresAt)
	return postgres.Translate(err, "refresh token")
}

// lockRefreshToken finds the token with the given hash and locks its
// family row until the transaction ends, then reads the token's state
// afresh (a statement after the lock sees what a racing rotation committed).
func (store) lockRefreshToken(ctx context.Context, db dbtx, hash []byte) (refreshRow, error) {
	var familyID uuid.UUID
	err := db.QueryRow(ctx, `
		SELECT f.id
		FROM auth.refresh_tokens t JOIN auth.refresh_families f ON f.id = t.family_id
		WHERE t.token_hash = $1
		FOR UPDATE OF f`, hash).Scan(&familyID)
	if err != nil {
		return refreshRow{}, postgres.Translate(err, "refresh token")
	}
	var r refreshRow
	err = db.QueryRow(ctx, `
		SELECT t.id, t.family_id, t.player_id, t.expires_at, t.used_at, t.revoked_at, f.revoked_at
		FROM auth.refresh_tokens t JOIN auth.refresh_families f ON f.id = t.family_id
		WHERE t.token_hash = $1`, hash).
		Scan(&r.ID, &r.FamilyID, &r.PlayerID, &r.ExpiresAt, &r.UsedAt, &r.RevokedAt, &r.FamilyRevokedAt)
	return r, postgres.Translate(err, "refresh token")
}

// familyOfToken returns the family of the refresh token with the given hash
// if it belongs to playerID.
func (store) familyOfToken(ctx context.Context, db dbtx, hash []byte, playerID uuid.UUID) (uuid.UUID, error) {
	var fam uuid.UUID
	err := db.QueryRow(ctx, `SELECT family_id FROM auth.refresh_tokens WHERE token_hash = $1 AND player_id = $2`, hash, playerID).Scan(&fam)
	return fam, postgres.Translate(err, "refresh token")
}

func (store) markRefreshUsed(ctx context.Context, db dbtx, id uuid.UUID, at time.Time) error {
	_, err := db.Exec(ctx, `UPDATE auth.refresh_tokens SET used_at = $2 WHERE id = $1`, id, at)
	return postgres.Translate(err, "refresh token")
}

// revokeFamily revokes a family of playerID and every token in it. The
// family row is locked first, like a rotation does. It reports whether the
// family existed (and belonged to playerID).
func (store) revokeFamily(ctx context.Context, db dbtx, familyID, playerID uuid.UUID, reason string, at time.Time) (bool, error) {
	var found bool
	err := db.QueryRow(ctx, `
		WITH f AS (
			UPDATE auth.refresh_families
			SET revoked_at = COALESCE(revoked_at, $4),
			    revoked_reason = COALESCE(revoked_reason, $3)
			WHERE id = $1 AND player_id = $2
			RETURNING id
		)
		SELECT EXISTS (SELECT 1 FROM f)`, familyID, playerID, reason, at).Scan(&found)
	if err != nil || !found {
		return false, postgres.Translate(err, "refresh family")
	}
	_, err = db.Exec(ctx, `
		UPDATE auth.refresh_tokens SET revoked_at = $2
		WHERE family_id = $1 AND revoked_at IS NULL`, familyID, at)
	return true, postgres.Translate(err, "refresh token")
}

func (store) setRole(ctx context.Context, db dbtx, email, role string) (Player, error) {
	p, err := scanPlayer(db.QueryRow(ctx, `
		UPDATE auth.players SET role = $2
		WHERE lower(email) = lower($1)
		RETURNING `+playerColumns, email, role))
	return p, postgres.Translate(err, "player")
}

func (store) playersWithRole(ctx context.Context, db *pgxpool.Pool, role string) ([]Player, error) {
	rows, err := db.Query(ctx, `SELECT `+playerColumns+` FROM auth.players WHERE role = $1 ORDER BY email`, role)
	if err != nil {
		return nil, postgres.Translate(err, "player")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Player, error) { return scanPlayer(r) })
	return out, postgres.Translate(err, "player")
}
