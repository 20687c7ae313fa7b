package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/config"
	"github.com/codeofconquest/brightdawn/internal/logging"
)

// Deps are what the auth service needs.
type Deps struct {
	DB     *pgxpool.Pool
	Redis  redis.UniversalClient
	Config config.Auth
	Log    *slog.Logger
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// Service is the auth domain: it owns the transactions on the auth schema
// and the revocation and rate-limit state in Redis.
type Service struct {
	db     *pgxpool.Pool
	rdb    redis.UniversalClient
	cfg    config.Auth
	log    *slog.Logger
	now    func() time.Time
	store  store
	tokens *signer
	pw     *passwords
	limits *limiter
}

// NewService builds the service. It computes one Argon2id hash (the dummy
// that unknown-email logins verify against), so it takes a moment.
func NewService(d Deps) (*Service, error) {
	if d.DB == nil || d.Redis == nil {
		return nil, errors.New("auth: DB and Redis are required")
	}
	if d.Config.AccessTTL <= 0 || d.Config.RefreshTTL <= 0 || d.Config.StreamTicketTTL <= 0 {
		return nil, errors.New("auth: token lifetimes must be positive")
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	tokens, err := newSigner(d.Config.Secret(), d.Config.Issuer, d.Config.Audience, d.Now)
	if err != nil {
		return nil, err
	}
	pw, err := newPasswords(d.Config)
	if err != nil {
		return nil, err
	}
	return &Service{
		db:     d.DB,
		rdb:    d.Redis,
		cfg:    d.Config,
		log:    d.Log,
		now:    d.Now,
		tokens: tokens,
		pw:     pw,
		limits: newLimiter(d.Redis, d.Config),
	}, nil
}

// errInvalidCredentials is the one answer to a failed login, whatever the
// reason, so that the body cannot tell an unknown email from a wrong password.
var errInvalidCredentials = apperr.New(apperr.InvalidCredentials, "the email or password is not correct")

// errBadRefresh is the answer to every refused refresh token.
var errBadRefresh = apperr.New(apperr.Unauthorized, "invalid or expired refresh token")

// Register creates a player and signs it in.
func (s *Service) Register(ctx context.Context, r Registration) (Session, error) {
	email, err := NormalizeEmail(r.Email)
	if err != nil {
		return Session{}, err
	}
	if err := CheckPassword(r.Password); err != nil {
		return Session{}, err
	}
	name, err := NormalizeDisplayName(r.DisplayName)
	if err != nil {
		return Session{}, err
	}
	if err := s.limits.register(ctx, r.ClientIP); err != nil {
		return Session{}, err
	}
	// Hash outside the transaction: it is the slow part, and a transaction
	// holds PGlite's single backend for everyone.
	hash, err := s.pw.hash(ctx, r.Password)
	if err != nil {
		return Session{}, err
	}
	// Every account starts as a player: emails are not verified, so no
	// address may carry a privilege at sign-up. Admins are made by an
	// operator (SetRole, `conquest admin grant`).
	now := s.now()
	p := Player{ID: uuid.New(), Email: email, DisplayName: name, Role: RolePlayer}
	var refresh string
	var family uuid.UUID
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		if p, err = s.store.insertPlayer(ctx, tx, p, hash); err != nil {
			if apperr.Is(err, apperr.Conflict) {
				return apperr.Wrap(err, apperr.Conflict, "email: is already registered")
			}
			return err
		}
		refresh, family, err = s.startFamily(ctx, tx, p.ID, now)
		return err
	})
	if err != nil {
		return Session{}, err
	}
	logging.From(ctx).Info("player registered", "player_id", p.ID, "role", p.Role)
	return s.session(p, family, refresh)
}

// Login checks a player's email and password and starts a new token family.
func (s *Service) Login(ctx context.Context, c Credentials) (Session, error) {
	email, err := NormalizeEmail(c.Email)
	if err != nil {
		return Session{}, err
	}
	if c.Password == "" {
		return Session{}, apperr.Invalidf("password", "is required")
	}
	if utf8.RuneCountInString(c.Password) > MaxPasswordLen {
		return Session{}, apperr.Invalidf("password", "must be at most %d characters", MaxPasswordLen)
	}
	if err := s.limits.login(ctx, email, c.ClientIP); err != nil {
		return Session{}, err
	}
	p, hash, err := s.store.playerByEmail(ctx, s.db, email)
	known := err == nil
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return Session{}, err
	}
	if !known {
		hash = "" // verify against the dummy: same work as a wrong password
	}
	ok, err := s.pw.verify(ctx, c.Password, hash)
	if err != nil {
		return Session{}, err
	}
	if !ok || !known {
		return Session{}, errInvalidCredentials
	}
	now := s.now()
	var refresh string
	var family uuid.UUID
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		refresh, family, err = s.startFamily(ctx, tx, p.ID, now)
		return err
	})
	if err != nil {
		return Session{}, err
	}
	return s.session(p, family, refresh)
}

// Refresh rotates a refresh token: the presented one is spent and a new
// access and refresh token of the same family are returned. A token that
// was already spent (or revoked) is evidence of theft: the whole family is
// revoked, including its live access tokens.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Session, error) {
	if refreshToken == "" {
		return Session{}, apperr.Invalidf("refresh_token", "is required")
	}
	hash, ok := hashRefreshToken(refreshToken)
	if !ok {
		return Session{}, errBadRefresh
	}
	now := s.now()
	const (
		rotated = iota
		unknown
		expired
		reused
		replayed
	)
	outcome := rotated
	var row refreshRow
	var p Player
	var next string
	var cached Session
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		row, err = s.store.lockRefreshToken(ctx, tx, hash)
		if apperr.Is(err, apperr.NotFound) {
			outcome = unknown
			return nil
		}
		if err != nil {
			return err
		}
		if row.UsedAt != nil && row.RevokedAt == nil && row.FamilyRevokedAt == nil && now.Sub(*row.UsedAt) <= s.cfg.RefreshReuseWindow {
			// Spent a moment ago (another tab refreshed at the same time):
			// the same new pair, not an alarm.
			var ok bool
			if cached, ok = s.rotatedPair(ctx, hash); ok {
				outcome = replayed
				return nil
			}
		}
		if row.UsedAt != nil || row.RevokedAt != nil || row.FamilyRevokedAt != nil {
			// Committed, not rolled back: the revocation must stick.
			outcome = reused
			_, err = s.store.revokeFamily(ctx, tx, row.FamilyID, row.PlayerID, "reuse", now)
			return err
		}
		if !now.Before(row.ExpiresAt) {
			outcome = expired
			return nil
		}
		if err = s.store.markRefreshUsed(ctx, tx, row.ID, now); err != nil {
			return err
		}
		if p, err = s.store.playerByID(ctx, tx, row.PlayerID); err != nil {
			return err
		}
		if next, err = s.addRefreshToken(ctx, tx, row.FamilyID, p.ID, now); err != nil {
			return err
		}
		// Remembered before the commit: a racing request waiting for the
		// family's lock must find the pair once it sees this token spent.
		if cached, err = s.session(p, row.FamilyID, next); err != nil {
			return err
		}
		return s.rememberPair(ctx, hash, cached)
	})
	if err != nil {
		return Session{}, err
	}
	switch outcome {
	case unknown, expired:
		return Session{}, errBadRefresh
	case replayed:
		// The role may have changed since; the tokens are the pair's.
		if cached.Player, err = s.store.playerByID(ctx, s.db, row.PlayerID); err != nil {
			return Session{}, err
		}
		return cached, nil
	case reused:
		if err := s.revoke(ctx, row.PlayerID, "", time.Time{}, row.FamilyID); err != nil {
			return Session{}, err
		}
		logging.From(ctx).Warn("spent refresh token presented again; token family revoked",
			"player_id", row.PlayerID, "family_id", row.FamilyID)
		return Session{}, errBadRefresh
	}
	return cached, nil
}

// rotatedKey holds, for RefreshReuseWindow, the pair a refresh token was
// rotated into, under the token's hash.
func rotatedKey(hash []byte) string { return "auth:rotated:" + hex.EncodeToString(hash) }

type rotatedPairJSON struct {
	Access    string    `json:"a"`
	Refresh   string    `json:"r"`
	AccessExp time.Time `json:"e"`
}

func (s *Service) rememberPair(ctx context.Context, hash []byte, sess Session) error {
	if s.cfg.RefreshReuseWindow <= 0 {
		return nil
	}
	b, err := json.Marshal(rotatedPairJSON{Access: sess.Tokens.AccessToken, Refresh: sess.Tokens.RefreshToken, AccessExp: sess.Tokens.AccessExpiresAt})
	if err != nil {
		return err
	}
	if err := s.rdb.Set(ctx, rotatedKey(hash), b, s.cfg.RefreshReuseWindow+clockLeeway).Err(); err != nil {
		return apperr.Wrap(err, apperr.Unavailable, "authentication is unavailable")
	}
	return nil
}

// rotatedPair returns the pair remembered for a token spent a moment ago.
func (s *Service) rotatedPair(ctx context.Context, hash []byte) (Session, bool) {
	b, err := s.rdb.Get(ctx, rotatedKey(hash)).Bytes()
	if err != nil {
		return Session{}, false
	}
	var r rotatedPairJSON
	if json.Unmarshal(b, &r) != nil || r.Refresh == "" {
		return Session{}, false
	}
	return Session{Tokens: Tokens{
		AccessToken: r.Access, RefreshToken: r.Refresh, TokenType: TokenType,
		ExpiresIn: s.cfg.AccessTTL, AccessExpiresAt: r.AccessExp,
	}}, true
}

// Logout ends the session of p: its access token and its refresh family
// stop working at once, on every replica. A refresh token of the same
// player from another family is revoked too; one of another player is
// ignored, so a logout can never touch someone else's session. The
// refresh token is optional: the access token names its own family (a
// browser, whose refresh token is in a cookie it cannot read, sends none).
func (s *Service) Logout(ctx context.Context, p Principal, refreshToken string) error {
	if p.PlayerID == uuid.Nil || p.FamilyID == uuid.Nil || p.TokenID == "" {
		return apperr.New(apperr.Unauthorized, "authentication required")
	}
	families := []uuid.UUID{p.FamilyID}
	now := s.now()
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if hash, ok := hashRefreshToken(refreshToken); ok {
			fam, err := s.store.familyOfToken(ctx, tx, hash, p.PlayerID)
			switch {
			case err == nil && fam != p.FamilyID:
				families = append(families, fam)
			case err != nil && !apperr.Is(err, apperr.NotFound):
				return err
			}
		}
		for _, f := range families {
			if _, err := s.store.revokeFamily(ctx, tx, f, p.PlayerID, "logout", now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.revoke(ctx, p.PlayerID, p.TokenID, p.ExpiresAt, families...)
}

// Me returns the player p acts for.
func (s *Service) Me(ctx context.Context, p Principal) (Player, error) {
	pl, err := s.store.playerByID(ctx, s.db, p.PlayerID)
	if apperr.Is(err, apperr.NotFound) {
		return Player{}, apperr.Wrap(err, apperr.Unauthorized, "the player no longer exists")
	}
	return pl, err
}

// Authenticate verifies an access token and that neither it nor its family
// was revoked (one Redis round trip).
func (s *Service) Authenticate(ctx context.Context, accessToken string) (Principal, error) {
	_, p, err := s.tokens.parse(accessToken, typeAccess)
	if err != nil {
		return Principal{}, err
	}
	if err := s.checkRevoked(ctx, p); err != nil {
		return Principal{}, err
	}
	return p, nil
}

// IssueStreamTicket hands out a short-lived ticket that opens one stream
// (scope, e.g. "session:<uuid>") for p. Browsers' EventSource cannot send
// headers, so the ticket goes into the URL instead of the long-lived
// access token. It never outlives the access token p came from, and dies
// with it on logout.
func (s *Service) IssueStreamTicket(ctx context.Context, p Principal, scope string) (string, time.Time, error) {
	if err := checkScope(scope); err != nil {
		return "", time.Time{}, err
	}
	if p.PlayerID == uuid.Nil || p.FamilyID == uuid.Nil || p.TokenID == "" || (p.Role != RolePlayer && p.Role != RoleAdmin) {
		return "", time.Time{}, apperr.New(apperr.Unauthorized, "authentication required")
	}
	if err := s.checkRevoked(ctx, p); err != nil {
		return "", time.Time{}, err
	}
	now := s.now()
	exp := now.Add(s.cfg.StreamTicketTTL)
	if !p.ExpiresAt.IsZero() && p.ExpiresAt.Before(exp) {
		exp = p.ExpiresAt
	}
	if !exp.After(now) {
		return "", time.Time{}, errBadToken
	}
	tok, tp, err := s.tokens.issue(typeStream, p, exp, scope)
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, tp.ExpiresAt, nil
}

// VerifyStreamTicket checks a ticket for scope and returns the principal it
// acts for (TokenID is the jti of the access token it was issued under).
func (s *Service) VerifyStreamTicket(ctx context.Context, ticket, scope string) (Principal, error) {
	c, p, err := s.tokens.parse(ticket, typeStream)
	if err != nil {
		return Principal{}, err
	}
	if scope == "" || c.Scope != scope {
		return Principal{}, apperr.Wrap(fmt.Errorf("ticket scope %q, want %q", c.Scope, scope), apperr.Unauthorized, "invalid or expired token")
	}
	if err := s.checkRevoked(ctx, p); err != nil {
		return Principal{}, err
	}
	return p, nil
}

func checkScope(scope string) error {
	if scope == "" {
		return apperr.Invalidf("scope", "is required")
	}
	if len(scope) > maxScopeLen {
		return apperr.Invalidf("scope", "must be at most %d characters", maxScopeLen)
	}
	for i := 0; i < len(scope); i++ {
		if scope[i] <= ' ' || scope[i] >= 0x7f {
			return apperr.Invalidf("scope", "must be printable ASCII without spaces")
		}
	}
	return nil
}

// Revocation keys in Redis. They live as long as a token they can refuse.
// The revocation keys of a player share the hash tag {player id}: a check
// reads a token's and its family's in one EXISTS, and a revocation writes
// them in one MULTI, which Redis Cluster allows only within one slot.
func revokedTokenKey(player uuid.UUID, jti string) string {
	return "auth:revoked:{" + player.String() + "}:jti:" + jti
}

func revokedFamilyKey(player, family uuid.UUID) string {
	return "auth:revoked:{" + player.String() + "}:fam:" + family.String()
}

func (s *Service) checkRevoked(ctx context.Context, p Principal) error {
	n, err := s.rdb.Exists(ctx, revokedTokenKey(p.PlayerID, p.TokenID), revokedFamilyKey(p.PlayerID, p.FamilyID)).Result()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return apperr.Wrap(err, apperr.Unavailable, "authentication is unavailable")
	}
	if n > 0 {
		return apperr.Wrap(errors.New("revoked"), apperr.Unauthorized, "invalid or expired token")
	}
	return nil
}

// RevocationsChannel is the Redis pub/sub channel on which every
// revocation is announced to the API replicas (WatchRevocations).
const RevocationsChannel = "auth:revocations"

// revoke marks an access token (jti, valid until) and families as revoked
// for every replica. A family key outlives any access token or stream
// ticket of the family (both end within AccessTTL). The revocation is then
// announced on RevocationsChannel so that open streams of the login end on
// every replica. The announcement is not in the keys' MULTI: on Redis
// Cluster a channel has a slot of its own, and a transaction may not span
// slots. A failed announcement fails the call (the caller retries; both
// steps are idempotent), and streams are bounded by their token's expiry
// anyway.
func (s *Service) revoke(ctx context.Context, playerID uuid.UUID, jti string, until time.Time, families ...uuid.UUID) error {
	msg, err := json.Marshal(Revocation{PlayerID: playerID, TokenID: jti, Families: families})
	if err != nil {
		return err
	}
	pipe := s.rdb.TxPipeline()
	if jti != "" {
		ttl := until.Sub(s.now()) + clockLeeway
		if ttl < clockLeeway {
			ttl = clockLeeway
		}
		pipe.Set(ctx, revokedTokenKey(playerID, jti), "1", ttl)
	}
	for _, f := range families {
		pipe.Set(ctx, revokedFamilyKey(playerID, f), "1", s.cfg.AccessTTL+clockLeeway)
	}
	_, err = pipe.Exec(ctx)
	if err == nil {
		err = s.rdb.Publish(ctx, RevocationsChannel, msg).Err()
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return apperr.Wrap(err, apperr.Unavailable, "could not revoke the session")
	}
	return nil
}

// startFamily opens a token family (one per login) with its first refresh token.
func (s *Service) startFamily(ctx context.Context, tx pgx.Tx, playerID uuid.UUID, now time.Time) (string, uuid.UUID, error) {
	family := uuid.New()
	if err := s.store.insertFamily(ctx, tx, family, playerID, now); err != nil {
		return "", uuid.Nil, err
	}
	tok, err := s.addRefreshToken(ctx, tx, family, playerID, now)
	return tok, family, err
}

func (s *Service) addRefreshToken(ctx context.Context, tx pgx.Tx, family, playerID uuid.UUID, now time.Time) (string, error) {
	tok, hash, err := newRefreshToken()
	if err != nil {
		return "", err
	}
	if err := s.store.insertRefreshToken(ctx, tx, uuid.New(), family, playerID, hash, now, now.Add(s.cfg.RefreshTTL)); err != nil {
		return "", err
	}
	return tok, nil
}

// session issues the access token that goes with a refresh token.
func (s *Service) session(p Player, family uuid.UUID, refresh string) (Session, error) {
	tok, pr, err := s.tokens.issue(typeAccess, Principal{PlayerID: p.ID, Role: p.Role, FamilyID: family}, s.now().Add(s.cfg.AccessTTL), "")
	if err != nil {
		return Session{}, err
	}
	return Session{Player: p, Tokens: Tokens{
		AccessToken:     tok,
		RefreshToken:    refresh,
		TokenType:       TokenType,
		ExpiresIn:       s.cfg.AccessTTL,
		AccessExpiresAt: pr.ExpiresAt,
	}}, nil
}

// Refresh tokens are 32 random bytes, base64url without padding. Only their
// SHA-256 is stored: a database leak does not hand out sessions.
const refreshTokenBytes = 32

var refreshTokenLen = base64.RawURLEncoding.EncodedLen(refreshTokenBytes)

func newRefreshToken() (string, []byte, error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("auth: refresh token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	return tok, sum[:], nil
}

// hashRefreshToken returns the stored form of a well-formed refresh token.
func hashRefreshToken(tok string) ([]byte, bool) {
	if len(tok) != refreshTokenLen {
		return nil, false
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(tok); err != nil {
		return nil, false
	}
	sum := sha256.Sum256([]byte(tok))
	return sum[:], true
}

// SetRole gives the player with email the role (RolePlayer or RoleAdmin).
// It is an operator action (`conquest admin grant|revoke`), never reachable
// over HTTP. The role takes effect at once where it matters: every admin
// check reads it from the database (HasRole), and the next login or
// refresh puts it into the access token.
func (s *Service) SetRole(ctx context.Context, email, role string) (Player, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return Player{}, err
	}
	if role != RolePlayer && role != RoleAdmin {
		return Player{}, apperr.Invalidf("role", "must be %q or %q", RolePlayer, RoleAdmin)
	}
	p, err := s.store.setRole(ctx, s.db, email, role)
	if apperr.Is(err, apperr.NotFound) {
		return Player{}, apperr.Wrap(err, apperr.NotFound, "no player has the email %s", email)
	}
	return p, err
}

// Admins lists the players with the admin role, by email.
func (s *Service) Admins(ctx context.Context) ([]Player, error) {
	return s.store.playersWithRole(ctx, s.db, RoleAdmin)
}

// HasRole reports whether the player p acts for has role now, as the
// database says: an access token's role claim may be up to AccessTTL old,
// so privileged routes ask here instead of trusting it.
func (s *Service) HasRole(ctx context.Context, p Principal, role string) (bool, error) {
	pl, err := s.store.playerByID(ctx, s.db, p.PlayerID)
	if apperr.Is(err, apperr.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return pl.Role == role, nil
}
