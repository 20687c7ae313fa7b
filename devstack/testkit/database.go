package testkit

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/codeofconquest/brightdawn/devstack"
)

// PrivateDatabase starts a PGlite of the test's own, stopped when the test
// ends, and returns its DATABASE_URL: for tests that change what is
// database-wide (the migrations, the embedding model registry) without
// disturbing the others sharing the stack's database. Redis and S3 stay
// the stack's.
func PrivateDatabase(t *testing.T) string {
	t.Helper()
	RequireStack(t)
	root, err := devstack.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", "") // the stack then starts a Postgres, nothing else
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := devstack.Start(ctx, devstack.Options{Mode: devstack.Test, Root: root, Dir: t.TempDir(), Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Stop() })
	for _, kv := range st.Env() {
		if v, ok := strings.CutPrefix(kv, "DATABASE_URL="); ok {
			return v
		}
	}
	t.Fatal("the private stack started no database")
	return ""
}
