package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAssetSettings(t *testing.T) {
	t.Run("defaults are valid", func(t *testing.T) {
		c, err := Load()
		require.NoError(t, err)
		require.Greater(t, c.Assets.PendingTTL, c.Assets.UploadTTL)
		require.Equal(t, 200, c.Assets.MaxPerPlayer)
	})
	for _, tc := range []struct {
		name, key, value, variable string
	}{
		{"a pending TTL not longer than the upload TTL", "ASSET_PENDING_TTL", "5m", "ASSET_PENDING_TTL"},
		{"an upload TTL under a second", "ASSET_UPLOAD_TTL", "500ms", "ASSET_UPLOAD_TTL"},
		{"a download TTL over seven days", "ASSET_DOWNLOAD_TTL", "200h", "ASSET_DOWNLOAD_TTL"},
		{"a zero quota", "ASSET_MAX_PER_PLAYER", "0", "ASSET_MAX_PER_PLAYER"},
		{"a cleanup interval under a second", "ASSET_CLEANUP_INTERVAL", "10ms", "ASSET_CLEANUP_INTERVAL"},
		{"a public URL with a path", "S3_PUBLIC_URL", "http://cdn.example/assets", "S3_PUBLIC_URL"},
		{"a public URL without a scheme", "S3_PUBLIC_URL", "cdn.example:9000", "S3_PUBLIC_URL"},
	} {
		t.Run(tc.name+" stops start-up naming "+tc.variable, func(t *testing.T) {
			t.Setenv(tc.key, tc.value)
			_, err := Load()
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), tc.variable), err.Error())
		})
	}
}
