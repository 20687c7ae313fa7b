package assets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

// S3Config is how to reach the bucket.
type S3Config struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string
	UseSSL    bool
	// PublicURL, when set (scheme://host[:port]), is the address browsers
	// use for the store; presigned URLs are signed for it. Empty: Endpoint.
	PublicURL string
}

// S3 is the object store on an S3-compatible server (versitygw, Garage, AWS).
type S3 struct {
	api     *minio.Client // talks to the server
	presign *minio.Client // only signs, for the public address
	bucket  string
}

var _ ObjectStore = (*S3)(nil)

// NewS3 builds the clients; it does not touch the network. With the region
// set, minio-go presigns without asking the server for the bucket location.
func NewS3(cfg S3Config) (*S3, error) {
	creds := credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	api, err := minio.New(cfg.Endpoint, &minio.Options{Creds: creds, Secure: cfg.UseSSL, Region: cfg.Region})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	s := &S3{api: api, presign: api, bucket: cfg.Bucket}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("s3: public URL %q must be http(s)://host[:port]", cfg.PublicURL)
		}
		if s.presign, err = minio.New(u.Host, &minio.Options{Creds: creds, Secure: u.Scheme == "https", Region: cfg.Region}); err != nil {
			return nil, fmt.Errorf("s3: %w", err)
		}
	}
	return s, nil
}

// Bucket is the bucket's name.
func (s *S3) Bucket() string { return s.bucket }

// EnsureBucket creates the bucket if it is missing, retrying while the
// server is not up yet (it may start alongside us). New buckets are private:
// no bucket policy is set, so every access needs a signature. Several
// processes may race here; "already exists / owned by you" is success.
func (s *S3) EnsureBucket(ctx context.Context, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := s.ensureBucket(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("s3: bucket %q: %w", s.bucket, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (s *S3) ensureBucket(ctx context.Context) error {
	ok, err := s.api.BucketExists(ctx, s.bucket)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	err = s.api.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{})
	switch minio.ToErrorResponse(err).Code {
	case minio.BucketAlreadyOwnedByYou, minio.BucketAlreadyExists:
		// Another replica won the race; make sure it is ours to use.
		if ok, err := s.api.BucketExists(ctx, s.bucket); err != nil || !ok {
			return fmt.Errorf("exists but is not accessible: %v", err)
		}
		return nil
	}
	return err
}

// Ping checks that the bucket is reachable (for /readyz).
func (s *S3) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	ok, err := s.api.BucketExists(ctx, s.bucket)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("s3: bucket %q does not exist", s.bucket)
	}
	return nil
}

// PresignPost returns a POST form that can store exactly one object: this
// key, this content type, exactly size bytes, until expires.
func (s *S3) PresignPost(ctx context.Context, key, contentType string, size int64, expires time.Time) (string, map[string]string, error) {
	p := minio.NewPostPolicy()
	for _, err := range []error{
		p.SetBucket(s.bucket),
		p.SetKey(key),
		p.SetContentType(contentType),
		p.SetContentLengthRange(size, size),
		p.SetExpires(expires.UTC()),
	} {
		if err != nil {
			return "", nil, fmt.Errorf("s3: post policy: %w", err)
		}
	}
	u, fields, err := s.presign.PresignedPostPolicy(ctx, p)
	if err != nil {
		return "", nil, fmt.Errorf("s3: presign post: %w", err)
	}
	return u.String(), fields, nil
}

// PresignGet returns a GET URL of key valid for ttl; params may override
// response headers (response-content-disposition, …).
func (s *S3) PresignGet(ctx context.Context, key string, ttl time.Duration, params url.Values) (string, error) {
	u, err := s.presign.PresignedGetObject(ctx, s.bucket, key, ttl, params)
	if err != nil {
		return "", fmt.Errorf("s3: presign get: %w", err)
	}
	return u.String(), nil
}

// Stat returns an object's size, type and ETag; ErrNoObject if missing.
func (s *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	info, err := s.api.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, translate(err)
	}
	return ObjectInfo{Size: info.Size, ContentType: info.ContentType, ETag: info.ETag}, nil
}

// Open streams an object, but only the version with this ETag: if the
// object was replaced since Stat, reads fail with ErrChanged.
func (s *S3) Open(ctx context.Context, key, etag string) (io.ReadCloser, error) {
	opts := minio.GetObjectOptions{}
	if etag != "" {
		if err := opts.SetMatchETag(etag); err != nil {
			return nil, err
		}
	}
	obj, err := s.api.GetObject(ctx, s.bucket, key, opts)
	if err != nil {
		return nil, translate(err)
	}
	return translatingReader{obj}, nil
}

// Remove deletes an object; a missing object is not an error.
func (s *S3) Remove(ctx context.Context, key string) error {
	if err := s.api.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if errors.Is(translate(err), ErrNoObject) {
			return nil
		}
		return translate(err)
	}
	return nil
}

// Copy copies src to dst inside the bucket (server side), but only the
// version of src with this ETag; it returns the copy's ETag.
func (s *S3) Copy(ctx context.Context, src, dst, etag string) (string, error) {
	info, err := s.api.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: s.bucket, Object: dst},
		minio.CopySrcOptions{Bucket: s.bucket, Object: src, MatchETag: etag})
	if err != nil {
		return "", translate(err)
	}
	return info.ETag, nil
}

// List calls fn with every object under prefix (ListObjectsV2, paged by
// the client) until fn returns false.
func (s *S3) List(ctx context.Context, prefix string, fn func(StoredObject) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for o := range s.api.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return translate(o.Err)
		}
		if !fn(StoredObject{Key: o.Key, LastModified: o.LastModified}) {
			return nil
		}
	}
	return nil
}

// translate maps S3 errors onto the package's: a missing object, a
// replaced object, or storage that is unavailable.
func translate(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == minio.NoSuchKey || resp.StatusCode == http.StatusNotFound && resp.Code != minio.NoSuchBucket:
		return ErrNoObject
	case resp.Code == "PreconditionFailed" || resp.StatusCode == http.StatusPreconditionFailed:
		return ErrChanged
	}
	return apperr.Wrap(err, apperr.Unavailable, "object storage is unavailable")
}

type translatingReader struct{ obj *minio.Object }

func (r translatingReader) Read(p []byte) (int, error) {
	n, err := r.obj.Read(p)
	return n, translate(err)
}

func (r translatingReader) Close() error { return r.obj.Close() }
