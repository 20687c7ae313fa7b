package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"runtime"

	"github.com/alexedwards/argon2id"

	"github.com/codeofconquest/brightdawn/internal/config"
)

// passwords hashes and verifies Argon2id password hashes.
type passwords struct {
	params *argon2id.Params
	// dummy is a hash of a random password with the current parameters.
	// Logins for unknown emails verify against it, so that they cost the
	// same as a wrong password and timing does not reveal which emails exist.
	dummy string
	// slots bounds concurrent hashes: each one holds ArgonMemoryKiB of
	// memory, so a burst of logins must queue rather than exhaust the process.
	slots chan struct{}
}

func newPasswords(cfg config.Auth) (*passwords, error) {
	p := &passwords{
		params: &argon2id.Params{
			Memory:      cfg.ArgonMemoryKiB,
			Iterations:  cfg.ArgonTime,
			Parallelism: cfg.ArgonThreads,
			SaltLength:  16,
			KeyLength:   32,
		},
		slots: make(chan struct{}, 2*runtime.GOMAXPROCS(0)),
	}
	random := make([]byte, 24)
	if _, err := rand.Read(random); err != nil {
		return nil, fmt.Errorf("auth: dummy password: %w", err)
	}
	dummy, err := argon2id.CreateHash(base64.RawURLEncoding.EncodeToString(random), p.params)
	if err != nil {
		return nil, fmt.Errorf("auth: dummy hash: %w", err)
	}
	p.dummy = dummy
	return p, nil
}

func (p *passwords) acquire(ctx context.Context) error {
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *passwords) release() { <-p.slots }

// hash returns the encoded Argon2id hash of pw with a fresh random salt.
func (p *passwords) hash(ctx context.Context, pw string) (string, error) {
	if err := p.acquire(ctx); err != nil {
		return "", err
	}
	defer p.release()
	h, err := argon2id.CreateHash(pw, p.params)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return h, nil
}

// verify reports whether pw matches encoded. An empty encoded hash (unknown
// account) is checked against the dummy hash and never matches.
func (p *passwords) verify(ctx context.Context, pw, encoded string) (bool, error) {
	if err := p.acquire(ctx); err != nil {
		return false, err
	}
	defer p.release()
	if encoded == "" {
		_, _ = argon2id.ComparePasswordAndHash(pw, p.dummy)
		return false, nil
	}
	ok, err := argon2id.ComparePasswordAndHash(pw, encoded)
	if err != nil {
		return false, fmt.Errorf("auth: stored password hash: %w", err)
	}
	return ok, nil
}
