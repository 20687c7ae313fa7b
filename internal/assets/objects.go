package assets

import (
	"bytes"
	"context"

	"github.com/minio/minio-go/v7"
)

// WithBucket is the same object store on another bucket (the exports
// bucket shares the assets' server and credentials).
func (s *S3) WithBucket(bucket string) *S3 {
	c := *s
	c.bucket = bucket
	return &c
}

// Put writes an object the server made itself (an export), not a
// player's upload.
func (s *S3) Put(ctx context.Context, key, contentType string, body []byte) error {
	_, err := s.api.PutObject(ctx, s.bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: contentType})
	return translate(err)
}
