package assets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/config"
	"github.com/codeofconquest/brightdawn/internal/postgres"
	"github.com/codeofconquest/brightdawn/schema"
)

// These tests run the service against the real Postgres and S3 server of the
// test stack. Each test uses fresh player ids, so they share nothing.

type bundle struct {
	svc   *Service
	s3    *S3
	pool  *pgxpool.Pool
	clock *time.Time
}

func newBundle(t *testing.T, mutate ...func(*Options)) *bundle {
	t.Helper()
	testkit.SkipShort(t, "the test stack (Postgres, S3)")
	testkit.RequireStack(t)
	if os.Getenv("S3_ENDPOINT") == "" {
		t.Fatal("S3_ENDPOINT is not set: run the suite with `go tool task test`")
	}
	ctx := context.Background()
	cfg, err := config.Load()
	require.NoError(t, err)
	pool, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = schema.Migrate(ctx, pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	s3, err := NewS3(S3Config{Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey,
		Bucket: cfg.S3Bucket, Region: cfg.S3Region, UseSSL: cfg.S3UseSSL})
	require.NoError(t, err)
	require.NoError(t, s3.EnsureBucket(ctx, 10*time.Second))
	b := &bundle{s3: s3, pool: pool}
	opts := Options{UploadTTL: time.Minute, DownloadTTL: time.Minute, PendingTTL: time.Hour, MaxPerPlayer: 50}
	for _, m := range mutate {
		m(&opts)
	}
	b.svc = NewService(NewStore(pool), s3, opts)
	return b
}

// pngBytes is a small valid PNG.
func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.RGBA{200, 30, 30, 255})
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// post uploads body with a presigned form as a browser would: every field,
// then the file last. contentType overrides the form's Content-Type field
// when not empty.
func post(t *testing.T, f Form, contentType string, body []byte) (int, string) {
	t.Helper()
	fields := make(map[string]string, len(f.Fields))
	for k, v := range f.Fields {
		if k == "Content-Type" && contentType != "" {
			v = contentType
		}
		fields[k] = v
	}
	return testkit.Upload(t, f.Method, f.URL, fields, "upload.bin", body)
}

func (b *bundle) exists(t *testing.T, key string) bool {
	t.Helper()
	_, err := b.s3.Stat(context.Background(), key)
	if err == ErrNoObject {
		return false
	}
	require.NoError(t, err)
	return true
}

func (b *bundle) put(t *testing.T, key, contentType string, body []byte) {
	t.Helper()
	_, err := b.s3.api.PutObject(context.Background(), b.s3.bucket, key, bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{ContentType: contentType})
	require.NoError(t, err)
}

func (b *bundle) create(t *testing.T, owner uuid.UUID, kind, ct string, size int64) Upload {
	t.Helper()
	up, err := b.svc.Create(context.Background(), owner, CreateInput{Kind: kind, ContentType: ct, Size: size})
	require.NoError(t, err)
	return up
}

func requireCode(t *testing.T, code apperr.Code, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, apperr.CodeOf(err), "error: %v", err)
}

func TestUploadCompleteDownloadDelete(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	ctx := context.Background()
	owner := uuid.New()
	img := pngBytes(t)
	name := "Ærwyn.png"
	up, err := b.svc.Create(ctx, owner, CreateInput{Kind: KindPortrait, ContentType: "image/png", Size: int64(len(img)), Filename: &name})
	require.NoError(t, err)
	a := up.Asset

	t.Run("the upload form pins the key, the type and the size", func(t *testing.T) {
		require.Equal(t, StatusPending, a.Status)
		require.Equal(t, UploadKey(owner, KindPortrait, a.ID), a.Key, "forms write under uploads/ only")
		require.Equal(t, a.Key, up.Form.Fields["key"])
		require.Equal(t, "image/png", up.Form.Fields["Content-Type"])
		require.NotEmpty(t, up.Form.Fields["policy"])
		require.Equal(t, "POST", up.Form.Method)
		require.WithinDuration(t, time.Now().Add(time.Minute), up.ExpiresAt, 5*time.Second)
	})
	t.Run("completing before the upload is a conflict", func(t *testing.T) {
		_, err := b.svc.Complete(ctx, owner, a.ID)
		requireCode(t, apperr.Conflict, err)
	})
	t.Run("the form uploads the file", func(t *testing.T) {
		status, msg := post(t, up.Form, "", img)
		require.Equal(t, http.StatusNoContent, status, msg)
	})
	t.Run("complete makes it ready with its SHA-256", func(t *testing.T) {
		done, err := b.svc.Complete(ctx, owner, a.ID)
		require.NoError(t, err)
		require.Equal(t, StatusReady, done.Status)
		sum := sha256.Sum256(img)
		require.Equal(t, hex.EncodeToString(sum[:]), *done.SHA256)
		require.NotEmpty(t, *done.ETag)
		require.NotNil(t, done.CompletedAt)
		require.NotNil(t, done.DownloadURL)

		again, err := b.svc.Complete(ctx, owner, a.ID)
		require.NoError(t, err, "completing twice is idempotent")
		require.Equal(t, done.SHA256, again.SHA256)
		require.Equal(t, done.CompletedAt, again.CompletedAt)
	})
	t.Run("the download URL returns the same bytes", func(t *testing.T) {
		got, err := b.svc.Get(ctx, owner, a.ID)
		require.NoError(t, err)
		resp, err := http.Get(*got.DownloadURL)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, img, body)
		require.Equal(t, "image/png", resp.Header.Get("Content-Type"))
	})
	t.Run("the ready asset is a valid portrait", func(t *testing.T) {
		require.NoError(t, b.svc.CheckPortrait(ctx, owner, a.ID))
		requireCode(t, apperr.Invalid, b.svc.CheckPortrait(ctx, uuid.New(), a.ID))
	})
	t.Run("delete removes the object and the row", func(t *testing.T) {
		require.NoError(t, b.svc.Delete(ctx, owner, a.ID))
		require.False(t, b.exists(t, a.Key))
		_, err := b.svc.Get(ctx, owner, a.ID)
		requireCode(t, apperr.NotFound, err)
		requireCode(t, apperr.NotFound, b.svc.Delete(ctx, owner, a.ID))
	})
}

func TestCompleteRefusesMismatchingObjects(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	ctx := context.Background()
	owner := uuid.New()
	img := pngBytes(t)
	for _, tc := range []struct {
		name string
		ct   string
		body []byte
	}{
		{"an object of another size", "image/png", append(append([]byte{}, img...), 0)},
		{"an object of another content type", "image/jpeg", img},
		{"an object whose bytes are not of the declared type", "image/png", append([]byte("<html><script>x</script>"), make([]byte, len(img)-24)...)},
	} {
		t.Run(tc.name+" is a conflict, and the object is removed", func(t *testing.T) {
			up := b.create(t, owner, KindPortrait, "image/png", int64(len(img)))
			b.put(t, up.Asset.Key, tc.ct, tc.body)
			_, err := b.svc.Complete(ctx, owner, up.Asset.ID)
			requireCode(t, apperr.Conflict, err)
			require.False(t, b.exists(t, up.Asset.Key))
			got, err := b.svc.Get(ctx, owner, up.Asset.ID)
			require.NoError(t, err)
			require.Equal(t, StatusPending, got.Status, "the asset stays pending; the form can be used again")
		})
	}
}

func TestOtherPlayersAssetsAreNotFound(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	ctx := context.Background()
	owner, other := uuid.New(), uuid.New()
	up := b.create(t, owner, KindSheet, "application/json", 2)
	b.put(t, up.Asset.Key, "application/json", []byte("{}"))

	_, err := b.svc.Get(ctx, other, up.Asset.ID)
	requireCode(t, apperr.NotFound, err)
	_, err = b.svc.Complete(ctx, other, up.Asset.ID)
	requireCode(t, apperr.NotFound, err)
	requireCode(t, apperr.NotFound, b.svc.Delete(ctx, other, up.Asset.ID))
	list, err := b.svc.List(ctx, other, "", nil, MaxPageSize)
	require.NoError(t, err)
	require.Empty(t, list.Assets)

	require.True(t, b.exists(t, up.Asset.Key), "the owner's object is untouched")
	done, err := b.svc.Complete(ctx, owner, up.Asset.ID)
	require.NoError(t, err)
	require.Equal(t, StatusReady, done.Status)
}

func TestListIsNewestFirstAndFiltersByKind(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	ctx := context.Background()
	owner := uuid.New()
	first := b.create(t, owner, KindMap, "image/png", 10)
	second := b.create(t, owner, KindSheet, "application/json", 10)
	all, err := b.svc.List(ctx, owner, "", nil, MaxPageSize)
	require.NoError(t, err)
	require.Len(t, all.Assets, 2)
	require.Equal(t, second.Asset.ID, all.Assets[0].ID)
	require.Equal(t, first.Asset.ID, all.Assets[1].ID)
	maps, err := b.svc.List(ctx, owner, KindMap, nil, MaxPageSize)
	require.NoError(t, err)
	require.Len(t, maps.Assets, 1)
	_, err = b.svc.List(ctx, owner, "avatar", nil, MaxPageSize)
	requireCode(t, apperr.Invalid, err)
}

func TestQuota(t *testing.T) {
	t.Parallel()
	b := newBundle(t, func(o *Options) { o.MaxPerPlayer = 2 })
	ctx := context.Background()
	owner := uuid.New()
	b.create(t, owner, KindMap, "image/png", 10)
	second := b.create(t, owner, KindMap, "image/png", 10)
	_, err := b.svc.Create(ctx, owner, CreateInput{Kind: KindMap, ContentType: "image/png", Size: 10})
	requireCode(t, apperr.Conflict, err)
	require.NoError(t, b.svc.Delete(ctx, owner, second.Asset.ID))
	b.create(t, owner, KindMap, "image/png", 10)
}

func TestCheckPortrait(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	ctx := context.Background()
	owner := uuid.New()
	pending := b.create(t, owner, KindPortrait, "image/png", 10)
	requireCode(t, apperr.Invalid, b.svc.CheckPortrait(ctx, owner, pending.Asset.ID))

	img := pngBytes(t)
	m := b.create(t, owner, KindMap, "image/png", int64(len(img)))
	b.put(t, m.Asset.Key, "image/png", img)
	_, err := b.svc.Complete(ctx, owner, m.Asset.ID)
	require.NoError(t, err)
	requireCode(t, apperr.Invalid, b.svc.CheckPortrait(ctx, owner, m.Asset.ID))
	requireCode(t, apperr.Invalid, b.svc.CheckPortrait(ctx, owner, uuid.New()))
}

func TestCleanup(t *testing.T) {
	b := newBundle(t)
	ctx := context.Background()
	owner := uuid.New()
	img := pngBytes(t)
	backdate := func(id uuid.UUID, col string, age time.Duration) {
		_, err := b.pool.Exec(ctx, `UPDATE game.assets SET `+col+` = now() - make_interval(secs => $2) WHERE id = $1`, id, age.Seconds())
		require.NoError(t, err)
	}

	stale := b.create(t, owner, KindPortrait, "image/png", int64(len(img)))
	b.put(t, stale.Asset.Key, "image/png", img) // uploaded, never completed
	backdate(stale.Asset.ID, "created_at", 2*time.Hour)
	staleEmpty := b.create(t, owner, KindPortrait, "image/png", 10) // never uploaded
	backdate(staleEmpty.Asset.ID, "created_at", 2*time.Hour)
	fresh := b.create(t, owner, KindPortrait, "image/png", int64(len(img)))
	b.put(t, fresh.Asset.Key, "image/png", img)
	oldReady := b.create(t, owner, KindPortrait, "image/png", int64(len(img)))
	b.put(t, oldReady.Asset.Key, "image/png", img)
	_, err := b.svc.Complete(ctx, owner, oldReady.Asset.ID)
	require.NoError(t, err)
	backdate(oldReady.Asset.ID, "created_at", 2*time.Hour)
	// A deletion interrupted between hiding the row and removing the object.
	interrupted := b.create(t, owner, KindMap, "image/png", int64(len(img)))
	b.put(t, interrupted.Asset.Key, "image/png", img)
	_, err = b.svc.store.markDeleted(ctx, owner, interrupted.Asset.ID)
	require.NoError(t, err)
	backdate(interrupted.Asset.ID, "updated_at", 2*time.Minute)

	n, err := b.svc.Cleanup(ctx, b.svc.PendingCutoff())
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 3)

	t.Run("stale pending uploads lose their object and row", func(t *testing.T) {
		require.False(t, b.exists(t, stale.Asset.Key))
		for _, id := range []uuid.UUID{stale.Asset.ID, staleEmpty.Asset.ID} {
			_, err := b.svc.Get(ctx, owner, id)
			requireCode(t, apperr.NotFound, err)
		}
	})
	t.Run("interrupted deletions are finished", func(t *testing.T) {
		require.False(t, b.exists(t, interrupted.Asset.Key))
		var n int
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM game.assets WHERE id = $1`, interrupted.Asset.ID).Scan(&n))
		require.Zero(t, n)
	})
	t.Run("fresh pending and ready assets stay", func(t *testing.T) {
		for _, a := range []Asset{fresh.Asset, oldReady.Asset} {
			got, err := b.svc.Get(ctx, owner, a.ID)
			require.NoError(t, err)
			require.True(t, b.exists(t, got.Key))
		}
	})
}

func TestEnsureBucketRacesAreHarmlessAndTheBucketIsPrivate(t *testing.T) {
	b := newBundle(t)
	ctx := context.Background()
	cfg, err := config.Load()
	require.NoError(t, err)
	name := "race-" + uuid.NewString()[:8]
	// Replicas starting together all create the missing bucket; every one
	// must succeed ("already owned by you" is fine).
	errs := make(chan error, 6)
	for range 6 {
		go func() {
			s3, err := NewS3(S3Config{Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey,
				Bucket: name, Region: cfg.S3Region, UseSSL: cfg.S3UseSSL})
			if err == nil {
				err = s3.EnsureBucket(ctx, 10*time.Second)
			}
			errs <- err
		}()
	}
	for range 6 {
		require.NoError(t, <-errs)
	}
	t.Cleanup(func() { _ = b.s3.api.RemoveBucket(context.Background(), name) })
	policy, err := b.s3.api.GetBucketPolicy(ctx, name)
	require.NoError(t, err)
	require.Empty(t, policy, "no bucket policy: every access needs a signature")
	other, err := NewS3(S3Config{Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey,
		Bucket: name, Region: cfg.S3Region, UseSSL: cfg.S3UseSSL})
	require.NoError(t, err)
	require.NoError(t, other.Ping(ctx))
}
