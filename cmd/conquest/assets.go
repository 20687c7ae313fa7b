package main

import (
	"context"
	"time"

	"github.com/codeofconquest/brightdawn/api"
	"github.com/codeofconquest/brightdawn/internal/assets"
)

// openAssets builds the object store's client and the assets service shared
// by the api and the worker of this process. It does not wait for the store:
// the game starts without it, and watchStorage marks it ready once the
// bucket is confirmed.
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
	a.s3 = s3
	a.exportsS3 = s3.WithBucket(a.cfg.S3ExportsBucket)
	a.assetSvc = assets.NewService(assets.NewStore(a.pool), s3, assets.Options{
		UploadTTL:    a.cfg.Assets.UploadTTL,
		DownloadTTL:  a.cfg.Assets.DownloadTTL,
		PendingTTL:   a.cfg.Assets.PendingTTL,
		MaxPerPlayer: a.cfg.Assets.MaxPerPlayer,
	})
	go a.watchStorage(ctx)
	return nil
}

// watchStorage creates the bucket if missing (api and worker processes may
// race to do so; both succeed), retrying until the store answers or ctx
// ends, then marks storage ready. Until then the asset routes answer 503
// storage_starting and /readyz names s3 as starting.
func (a *app) watchStorage(ctx context.Context) {
	for {
		err := a.s3.EnsureBucket(ctx, 30*time.Second)
		if err == nil {
			err = a.exportsS3.EnsureBucket(ctx, 30*time.Second) // session exports (docs/EXPORT.md)
		}
		if err == nil {
			a.storageReady.Store(true)
			a.log.Info("object storage ready", "bucket", a.s3.Bucket())
			return
		}
		if ctx.Err() != nil {
			return
		}
		a.log.Warn("object storage not ready yet; asset routes answer 503 storage_starting until it is", "err", err)
	}
}

// storageCheck is the readiness check of the object store.
func (a *app) storageCheck(ctx context.Context) error {
	if !a.storageReady.Load() {
		return api.ErrStarting
	}
	return a.s3.Ping(ctx)
}
