package main

import (
	"context"
	"time"

	"github.com/codeofconquest/brightdawn/internal/assets"
)

// openAssets connects the object store, creates the bucket if missing (api
// and worker processes may race to do so; both succeed) and builds the
// assets service shared by the api and the worker of this process.
func (a *app) openAssets(ctx context.Context) error {
	s3, err := assets.NewS3(assets.S3Config{
		Endpoint:  a.cfg.S3Endpoint,
		AccessKey: a.cfg.S3AccessKey,
		SecretKey: a.cfg.S3SecretKey,
		Bucket:    a.cfg.S3Bucket,
		Region:    a.cfg.S3Region,
		UseSSL:    a.cfg.S3UseSSL,
		PublicURL: a.cfg.Assets.S3PublicURL,
	})
	if err != nil {
		return err
	}
	if err := s3.EnsureBucket(ctx, 30*time.Second); err != nil {
		return err
	}
	a.s3 = s3
	a.exportsS3 = s3.WithBucket(a.cfg.S3ExportsBucket)
	if err := a.exportsS3.EnsureBucket(ctx, 30*time.Second); err != nil {
		return err
	}
	a.assetSvc = assets.NewService(assets.NewStore(a.pool), s3, assets.Options{
		UploadTTL:    a.cfg.Assets.UploadTTL,
		DownloadTTL:  a.cfg.Assets.DownloadTTL,
		PendingTTL:   a.cfg.Assets.PendingTTL,
		MaxPerPlayer: a.cfg.Assets.MaxPerPlayer,
	})
	return nil
}
