package config

import (
	"net/url"
	"time"
)

// Assets holds settings of players' uploads (internal/assets).
type Assets struct {
	// S3PublicURL is the store's address as browsers reach it
	// (scheme://host[:port]) when it differs from S3_ENDPOINT, e.g. behind
	// Docker networking or a proxy; presigned URLs are signed for it.
	S3PublicURL string `env:"S3_PUBLIC_URL"`

	UploadTTL       time.Duration `env:"ASSET_UPLOAD_TTL" envDefault:"5m"`
	DownloadTTL     time.Duration `env:"ASSET_DOWNLOAD_TTL" envDefault:"5m"`
	PendingTTL      time.Duration `env:"ASSET_PENDING_TTL" envDefault:"1h"`
	CleanupInterval time.Duration `env:"ASSET_CLEANUP_INTERVAL" envDefault:"1m"`
	MaxPerPlayer    int           `env:"ASSET_MAX_PER_PLAYER" envDefault:"200"`
}

// S3Origin is the object store's origin as browsers reach it, the origin
// of every presigned URL: S3_PUBLIC_URL when set, else S3_ENDPOINT with
// the scheme S3_USE_SSL implies.
func (c *Config) S3Origin() string {
	if c.Assets.S3PublicURL != "" {
		u, err := url.Parse(c.Assets.S3PublicURL)
		if err == nil {
			return u.Scheme + "://" + u.Host
		}
	}
	if c.S3UseSSL {
		return "https://" + c.S3Endpoint
	}
	return "http://" + c.S3Endpoint
}

// maxPresign is the longest lifetime of an S3 SigV4 presigned URL.
const maxPresign = 7 * 24 * time.Hour

func (a *Assets) validate(bad func(name, format string, args ...any)) {
	if a.S3PublicURL != "" {
		if u, err := url.Parse(a.S3PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("S3_PUBLIC_URL", "must be http(s)://host[:port] without a path")
		}
	}
	if a.UploadTTL < time.Second || a.UploadTTL > maxPresign {
		bad("ASSET_UPLOAD_TTL", "must be between 1s and 168h")
	}
	if a.DownloadTTL < time.Second || a.DownloadTTL > maxPresign {
		bad("ASSET_DOWNLOAD_TTL", "must be between 1s and 168h")
	}
	// A pending upload is only removed once its form can no longer be
	// used, or an upload could land after its row was cleaned up.
	if a.PendingTTL <= a.UploadTTL {
		bad("ASSET_PENDING_TTL", "must be longer than ASSET_UPLOAD_TTL")
	}
	if a.CleanupInterval < time.Second {
		bad("ASSET_CLEANUP_INTERVAL", "must be at least 1s")
	}
	if a.MaxPerPlayer < 1 {
		bad("ASSET_MAX_PER_PLAYER", "must be at least 1")
	}
}
