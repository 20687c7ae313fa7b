package auth

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/config"
	"github.com/codeofconquest/brightdawn/internal/postgres"
	"github.com/codeofconquest/brightdawn/schema"
)

// These tests run the service against the real Postgres and Redis of the
// test stack (DATABASE_URL, REDIS_URL). Each creates its own players and
// uses its own client IPs, so they share nothing.

// testClock is real time plus an offset the test can advance.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

type bundle struct {
	svc   *Service
	clock *testClock
	rdb   redis.UniversalClient
}

func newBundle(t *testing.T, mutate ...func(*config.Auth)) *bundle {
	t.Helper()
	testkit.SkipShort(t, "the test stack (Postgres, Redis)")
	testkit.RequireStack(t)
	ctx := context.Background()
	cfg, err := config.Load()
	require.NoError(t, err)
	cfg.Auth.AdminEmails = nil
	// The tests' clock stands still: without this, every repeat would fall
	// inside the reuse window (tests/security_test.go covers the window).
	cfg.Auth.RefreshReuseWindow = 0
	for _, m := range mutate {
		m(&cfg.Auth)
	}
	pool, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = schema.Migrate(ctx, pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	rdb := testkit.Redis(t)

	clock := &testClock{}
	svc, err := NewService(Deps{DB: pool, Redis: rdb, Config: cfg.Auth, Now: clock.Now})
	require.NoError(t, err)
	return &bundle{svc: svc, clock: clock, rdb: rdb}
}

// randomIP is an address from 2001:db8::/32 with a random /64, so that every
// test has its own rate-limit buckets.
func randomIP() string {
	return fmt.Sprintf("2001:db8:%x:%x::1", rand.Uint32N(1<<16), rand.Uint32N(1<<16))
}

func uniqueEmail(prefix string) string {
	return fmt.Sprintf("%s-%s@example.test", prefix, strings.ReplaceAll(uuid.NewString(), "-", "")[:16])
}

const testPassword = "correct horse battery staple"

func (b *bundle) register(t *testing.T, email string) Session {
	t.Helper()
	s, err := b.svc.Register(context.Background(), Registration{Email: email, Password: testPassword, DisplayName: "Tester", ClientIP: randomIP()})
	require.NoError(t, err)
	return s
}

func (b *bundle) authenticate(s Session) error {
	_, err := b.svc.Authenticate(context.Background(), s.Tokens.AccessToken)
	return err
}

func TestRegisterAndLogin(t *testing.T) {
	t.Parallel()
	admin := uniqueEmail("admin")
	b := newBundle(t, func(a *config.Auth) { a.AdminEmails = []string{admin} })
	ctx := context.Background()
	email := uniqueEmail("player")
	s := b.register(t, "  "+strings.ToUpper(email)+" ")

	t.Run("registration normalises the email and makes a player", func(t *testing.T) {
		require.Equal(t, email, s.Player.Email)
		require.Equal(t, RolePlayer, s.Player.Role)
		require.Equal(t, TokenType, s.Tokens.TokenType)
		require.Len(t, s.Tokens.RefreshToken, refreshTokenLen)
		require.NoError(t, b.authenticate(s))
	})
	t.Run("an email named in ADMIN_EMAILS registers as a player; only SetRole makes an admin", func(t *testing.T) {
		a := b.register(t, strings.ToUpper(admin))
		require.Equal(t, RolePlayer, a.Player.Role)
		p, err := b.svc.Authenticate(ctx, a.Tokens.AccessToken)
		require.NoError(t, err)
		ok, err := b.svc.HasRole(ctx, p, RoleAdmin)
		require.NoError(t, err)
		require.False(t, ok)
		_, err = b.svc.SetRole(ctx, admin, RoleAdmin)
		require.NoError(t, err)
		ok, err = b.svc.HasRole(ctx, p, RoleAdmin)
		require.NoError(t, err)
		require.True(t, ok, "the role is read from the database, not the token")
		l, err := b.svc.Login(ctx, Credentials{Email: admin, Password: testPassword, ClientIP: randomIP()})
		require.NoError(t, err)
		require.Equal(t, RoleAdmin, l.Player.Role)
		_, err = b.svc.SetRole(ctx, admin, RolePlayer)
		require.NoError(t, err)
		r, err := b.svc.Refresh(ctx, l.Tokens.RefreshToken)
		require.NoError(t, err)
		require.Equal(t, RolePlayer, r.Player.Role, "a refresh reads the role afresh")
		_, err = b.svc.SetRole(ctx, uniqueEmail("nobody"), RoleAdmin)
		require.Equal(t, apperr.NotFound, apperr.CodeOf(err))
		_, err = b.svc.SetRole(ctx, admin, "root")
		require.Equal(t, apperr.Invalid, apperr.CodeOf(err))
	})
	t.Run("the same email in another case is a conflict", func(t *testing.T) {
		_, err := b.svc.Register(ctx, Registration{Email: strings.ToUpper(email), Password: testPassword, DisplayName: "Twin", ClientIP: randomIP()})
		require.Equal(t, apperr.Conflict, apperr.CodeOf(err))
	})
	t.Run("the right password logs in with a new family", func(t *testing.T) {
		l, err := b.svc.Login(ctx, Credentials{Email: strings.ToUpper(email), Password: testPassword, ClientIP: randomIP()})
		require.NoError(t, err)
		require.Equal(t, s.Player.ID, l.Player.ID)
		p1, err := b.svc.Authenticate(ctx, s.Tokens.AccessToken)
		require.NoError(t, err)
		p2, err := b.svc.Authenticate(ctx, l.Tokens.AccessToken)
		require.NoError(t, err)
		require.NotEqual(t, p1.FamilyID, p2.FamilyID)
	})
	t.Run("a wrong password and an unknown email fail alike", func(t *testing.T) {
		_, wrong := b.svc.Login(ctx, Credentials{Email: email, Password: "not the password", ClientIP: randomIP()})
		_, unknown := b.svc.Login(ctx, Credentials{Email: uniqueEmail("nobody"), Password: testPassword, ClientIP: randomIP()})
		require.Equal(t, apperr.InvalidCredentials, apperr.CodeOf(wrong))
		require.Equal(t, wrong, unknown)
	})
	t.Run("me returns the stored player", func(t *testing.T) {
		p, err := b.svc.Authenticate(ctx, s.Tokens.AccessToken)
		require.NoError(t, err)
		me, err := b.svc.Me(ctx, p)
		require.NoError(t, err)
		require.Equal(t, s.Player.ID, me.ID)
		require.Equal(t, "Tester", me.DisplayName)
	})
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	ctx := context.Background()

	t.Run("a refresh rotates both tokens within the family", func(t *testing.T) {
		s := b.register(t, uniqueEmail("rotate"))
		n, err := b.svc.Refresh(ctx, s.Tokens.RefreshToken)
		require.NoError(t, err)
		require.NotEqual(t, s.Tokens.RefreshToken, n.Tokens.RefreshToken)
		require.NotEqual(t, s.Tokens.AccessToken, n.Tokens.AccessToken)
		p1, err := b.svc.Authenticate(ctx, s.Tokens.AccessToken)
		require.NoError(t, err)
		p2, err := b.svc.Authenticate(ctx, n.Tokens.AccessToken)
		require.NoError(t, err)
		require.Equal(t, p1.FamilyID, p2.FamilyID)
	})
	t.Run("a spent refresh token presented again revokes the whole family", func(t *testing.T) {
		s := b.register(t, uniqueEmail("reuse"))
		other, err := b.svc.Login(ctx, Credentials{Email: s.Player.Email, Password: testPassword, ClientIP: randomIP()})
		require.NoError(t, err)
		n, err := b.svc.Refresh(ctx, s.Tokens.RefreshToken)
		require.NoError(t, err)

		_, err = b.svc.Refresh(ctx, s.Tokens.RefreshToken)
		require.Equal(t, apperr.Unauthorized, apperr.CodeOf(err))

		_, err = b.svc.Refresh(ctx, n.Tokens.RefreshToken)
		require.Equal(t, apperr.Unauthorized, apperr.CodeOf(err), "the newer refresh token dies with its family")
		require.Equal(t, apperr.Unauthorized, apperr.CodeOf(b.authenticate(n)), "the newer access token dies with its family")
		require.Equal(t, apperr.Unauthorized, apperr.CodeOf(b.authenticate(s)), "the older access token dies with its family")
		require.NoError(t, b.authenticate(other), "another login of the same player lives on")
		_, err = b.svc.Refresh(ctx, other.Tokens.RefreshToken)
		require.NoError(t, err)
	})
	t.Run("racing refreshes of one token leave at most one winner and a revoked family", func(t *testing.T) {
		s := b.register(t, uniqueEmail("race"))
		const n = 6
		var wg sync.WaitGroup
		results := make([]Session, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { results[i], errs[i] = b.svc.Refresh(ctx, s.Tokens.RefreshToken) })
		}
		wg.Wait()
		wins := 0
		for i, err := range errs {
			if err == nil {
				wins++
				_, err := b.svc.Refresh(ctx, results[i].Tokens.RefreshToken)
				require.Equal(t, apperr.Unauthorized, apperr.CodeOf(err), "the winner's token dies with the family")
				continue
			}
			require.Equal(t, apperr.Unauthorized, apperr.CodeOf(err), "%v", err)
		}
		require.LessOrEqual(t, wins, 1)
	})
	t.Run("a rotation racing the reuse of an older token leaves no live token behind", func(t *testing.T) {
		for range 5 {
			s := b.register(t, uniqueEmail("race2"))
			n, err := b.svc.Refresh(ctx, s.Tokens.RefreshToken)
			require.NoError(t, err)
			var wg sync.WaitGroup
			var rotated Session
			var rotErr error
			wg.Go(func() { rotated, rotErr = b.svc.Refresh(ctx, n.Tokens.RefreshToken) })
			wg.Go(func() { _, _ = b.svc.Refresh(ctx, s.Tokens.RefreshToken) })
			wg.Wait()
			if rotErr == nil {
				_, err := b.svc.Refresh(ctx, rotated.Tokens.RefreshToken)
				require.Equal(t, apperr.Unauthorized, apperr.CodeOf(err), "a token minted during the revocation must die with its family")
				require.Equal(t, apperr.Unauthorized, apperr.CodeOf(b.authenticate(rotated)))
			}
		}
	})
	t.Run("an expired refresh token is refused", func(t *testing.T) {
		s := b.register(t, uniqueEmail("expired"))
		b.clock.Advance(b.svc.cfg.RefreshTTL + time.Minute)
		defer b.clock.Advance(-(b.svc.cfg.RefreshTTL + time.Minute))
		_, err := b.svc.Refresh(ctx, s.Tokens.RefreshToken)
		require.Equal(t, apperr.Unauthorized, apperr.CodeOf(err))
	})
	for _, tc := range []struct{ name, token string }{
		{"an unknown refresh token is refused", strings.Repeat("A", refreshTokenLen)},
		{"a malformed refresh token is refused", "not-a-refresh-token"},
		{"an access token is refused as refresh token", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.svc.Refresh(ctx, tc.token)
			require.Equal(t, apperr.Unauthorized, apperr.CodeOf(err))
		})
	}
}

func TestAccessTokensExpire(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	s := b.register(t, uniqueEmail("expiry"))
	require.NoError(t, b.authenticate(s))
	b.clock.Advance(b.svc.cfg.AccessTTL + 2*clockLeeway)
	require.Equal(t, apperr.Unauthorized, apperr.CodeOf(b.authenticate(s)))
}

func TestLogout(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	ctx := context.Background()

	t.Run("logout kills the access token and the family at once", func(t *testing.T) {
		s := b.register(t, uniqueEmail("logout"))
		other, err := b.svc.Login(ctx, Credentials{Email: s.Player.Email, Password: testPassword, ClientIP: randomIP()})
		require.NoError(t, err)
		p, err := b.svc.Authenticate(ctx, s.Tokens.AccessToken)
		require.NoError(t, err)
		require.NoError(t, b.svc.Logout(ctx, p, s.Tokens.RefreshToken))

		require.Equal(t, apperr.Unauthorized, apperr.CodeOf(b.authenticate(s)))
		_, err = b.svc.Refresh(ctx, s.Tokens.RefreshToken)
		require.Equal(t, apperr.Unauthorized, apperr.CodeOf(err))
		require.NoError(t, b.authenticate(other), "another login lives on")

		ttl, err := b.rdb.TTL(ctx, revokedTokenKey(p.PlayerID, p.TokenID)).Result()
		require.NoError(t, err)
		require.Greater(t, ttl, time.Duration(0))
		require.LessOrEqual(t, ttl, b.svc.cfg.AccessTTL+clockLeeway, "the revocation lives no longer than the token")
	})
	t.Run("logout with a refresh token of another family of the player revokes both", func(t *testing.T) {
		s := b.register(t, uniqueEmail("logout2"))
		other, err := b.svc.Login(ctx, Credentials{Email: s.Player.Email, Password: testPassword, ClientIP: randomIP()})
		require.NoError(t, err)
		p, err := b.svc.Authenticate(ctx, s.Tokens.AccessToken)
		require.NoError(t, err)
		require.NoError(t, b.svc.Logout(ctx, p, other.Tokens.RefreshToken))
		require.Equal(t, apperr.Unauthorized, apperr.CodeOf(b.authenticate(other)))
	})
	t.Run("logout never touches another player's family", func(t *testing.T) {
		me := b.register(t, uniqueEmail("me"))
		victim := b.register(t, uniqueEmail("victim"))
		p, err := b.svc.Authenticate(ctx, me.Tokens.AccessToken)
		require.NoError(t, err)
		require.NoError(t, b.svc.Logout(ctx, p, victim.Tokens.RefreshToken))
		require.NoError(t, b.authenticate(victim))
		_, err = b.svc.Refresh(ctx, victim.Tokens.RefreshToken)
		require.NoError(t, err)
	})
}

func TestStreamTickets(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	ctx := context.Background()
	login := func(t *testing.T) (Session, Principal) {
		s := b.register(t, uniqueEmail("ticket"))
		p, err := b.svc.Authenticate(ctx, s.Tokens.AccessToken)
		require.NoError(t, err)
		return s, p
	}
	scope := "session:" + uuid.NewString()

	t.Run("a ticket opens its scope for its player", func(t *testing.T) {
		_, p := login(t)
		tk, exp, err := b.svc.IssueStreamTicket(ctx, p, scope)
		require.NoError(t, err)
		require.WithinDuration(t, b.clock.Now().Add(b.svc.cfg.StreamTicketTTL), exp, 2*time.Second)
		got, err := b.svc.VerifyStreamTicket(ctx, tk, scope)
		require.NoError(t, err)
		require.Equal(t, p.PlayerID, got.PlayerID)
		require.Equal(t, p.FamilyID, got.FamilyID)
		require.Equal(t, p.TokenID, got.TokenID)
	})
	t.Run("a ticket never outlives its access token", func(t *testing.T) {
		_, p := login(t)
		p.ExpiresAt = b.clock.Now().Add(10 * time.Second)
		_, exp, err := b.svc.IssueStreamTicket(ctx, p, scope)
		require.NoError(t, err)
		require.False(t, exp.After(p.ExpiresAt))
	})

	refused := []struct {
		name string
		run  func(t *testing.T) error
	}{
		{"a ticket for another scope is refused", func(t *testing.T) error {
			_, p := login(t)
			tk, _, err := b.svc.IssueStreamTicket(ctx, p, scope)
			require.NoError(t, err)
			_, err = b.svc.VerifyStreamTicket(ctx, tk, "session:"+uuid.NewString())
			return err
		}},
		{"a ticket is refused as an access token", func(t *testing.T) error {
			_, p := login(t)
			tk, _, err := b.svc.IssueStreamTicket(ctx, p, scope)
			require.NoError(t, err)
			_, err = b.svc.Authenticate(ctx, tk)
			return err
		}},
		{"an access token is refused as a ticket", func(t *testing.T) error {
			s, _ := login(t)
			_, err := b.svc.VerifyStreamTicket(ctx, s.Tokens.AccessToken, scope)
			return err
		}},
		{"a refresh token is refused as a ticket", func(t *testing.T) error {
			s, _ := login(t)
			_, err := b.svc.VerifyStreamTicket(ctx, s.Tokens.RefreshToken, scope)
			return err
		}},
		{"an expired ticket is refused", func(t *testing.T) error {
			_, p := login(t)
			tk, _, err := b.svc.IssueStreamTicket(ctx, p, scope)
			require.NoError(t, err)
			b.clock.Advance(b.svc.cfg.StreamTicketTTL + 2*clockLeeway)
			defer b.clock.Advance(-(b.svc.cfg.StreamTicketTTL + 2*clockLeeway))
			_, err = b.svc.VerifyStreamTicket(ctx, tk, scope)
			return err
		}},
		{"a ticket dies when its access token logs out", func(t *testing.T) error {
			s, p := login(t)
			tk, _, err := b.svc.IssueStreamTicket(ctx, p, scope)
			require.NoError(t, err)
			require.NoError(t, b.svc.Logout(ctx, p, s.Tokens.RefreshToken))
			_, err = b.svc.VerifyStreamTicket(ctx, tk, scope)
			return err
		}},
		{"a ticket dies when its family is revoked for reuse", func(t *testing.T) error {
			s, p := login(t)
			tk, _, err := b.svc.IssueStreamTicket(ctx, p, scope)
			require.NoError(t, err)
			_, err = b.svc.Refresh(ctx, s.Tokens.RefreshToken)
			require.NoError(t, err)
			_, err = b.svc.Refresh(ctx, s.Tokens.RefreshToken)
			require.Error(t, err)
			_, err = b.svc.VerifyStreamTicket(ctx, tk, scope)
			return err
		}},
		{"no ticket is issued for a logged-out principal", func(t *testing.T) error {
			s, p := login(t)
			require.NoError(t, b.svc.Logout(ctx, p, s.Tokens.RefreshToken))
			_, _, err := b.svc.IssueStreamTicket(ctx, p, scope)
			return err
		}},
		{"no ticket is issued for an empty principal", func(t *testing.T) error {
			_, _, err := b.svc.IssueStreamTicket(ctx, Principal{}, scope)
			return err
		}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, apperr.Unauthorized, apperr.CodeOf(tc.run(t)))
		})
	}
	t.Run("a scope with spaces is invalid", func(t *testing.T) {
		_, p := login(t)
		_, _, err := b.svc.IssueStreamTicket(ctx, p, "session: x")
		require.Equal(t, apperr.Invalid, apperr.CodeOf(err))
	})
}

func TestLoginRateLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("the account limit stops guesses from many addresses", func(t *testing.T) {
		b := newBundle(t, func(a *config.Auth) { a.LoginPerAccount = 3; a.LoginPerIP = 1000 })
		s := b.register(t, uniqueEmail("limited"))
		for range 3 {
			_, err := b.svc.Login(ctx, Credentials{Email: s.Player.Email, Password: "wrong password", ClientIP: randomIP()})
			require.Equal(t, apperr.InvalidCredentials, apperr.CodeOf(err))
		}
		_, err := b.svc.Login(ctx, Credentials{Email: s.Player.Email, Password: testPassword, ClientIP: randomIP()})
		e, ok := apperr.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, apperr.RateLimited, e.Code)
		require.Greater(t, e.RetryAfter, time.Duration(0))
	})
	t.Run("the address limit stops guesses at many accounts", func(t *testing.T) {
		b := newBundle(t, func(a *config.Auth) { a.LoginPerAccount = 1000; a.LoginPerIP = 2 })
		ip := randomIP()
		for range 2 {
			_, err := b.svc.Login(ctx, Credentials{Email: uniqueEmail("nobody"), Password: testPassword, ClientIP: ip})
			require.Equal(t, apperr.InvalidCredentials, apperr.CodeOf(err))
		}
		_, err := b.svc.Login(ctx, Credentials{Email: uniqueEmail("nobody"), Password: testPassword, ClientIP: ip})
		require.Equal(t, apperr.RateLimited, apperr.CodeOf(err))
	})
	t.Run("the register limit counts per address", func(t *testing.T) {
		b := newBundle(t, func(a *config.Auth) { a.RegisterPerIP = 1 })
		ip := randomIP()
		_, err := b.svc.Register(ctx, Registration{Email: uniqueEmail("r1"), Password: testPassword, DisplayName: "R", ClientIP: ip})
		require.NoError(t, err)
		_, err = b.svc.Register(ctx, Registration{Email: uniqueEmail("r2"), Password: testPassword, DisplayName: "R", ClientIP: ip})
		require.Equal(t, apperr.RateLimited, apperr.CodeOf(err))
		_, err = b.svc.Register(ctx, Registration{Email: uniqueEmail("r3"), Password: testPassword, DisplayName: "R", ClientIP: randomIP()})
		require.NoError(t, err, "another address has its own budget")
	})
}
