package devstack

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMissingTools(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	if got := missingTools(); len(got) != len(testTools) {
		t.Fatalf("with an empty PATH every tool is missing, got %v", got)
	}
	for _, exe := range []string{"caddy", "chromium-browser", "promtool"} {
		if err := os.WriteFile(filepath.Join(dir, exe), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got := missingTools(); len(got) != 0 {
		t.Fatalf("caddy, chromium-browser and promtool on PATH: nothing missing, got %v", got)
	}
}
