package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// testTool is a program the test suite runs itself (not a server of the
// stack): Caddy for the gateway and scale-out tests, Chromium for the
// browser tests, promtool (Debian's prometheus package) for the alert
// rules' checks and unit tests. All come from Debian packages.
type testTool struct {
	pkg  string   // the Debian package
	exes []string // any of these on PATH will do
	why  string
}

var testTools = []testTool{
	{pkg: "caddy", exes: []string{"caddy"}, why: "gateway and scale-out tests (tests/deploy_test.go, tests/scaleout_test.go)"},
	{pkg: "chromium", exes: []string{"chromium", "chromium-browser"}, why: "browser tests"},
	{pkg: "prometheus", exes: []string{"promtool"}, why: "alert rule checks and unit tests (tests/alerts_test.go)"},
}

// ensureTestTools installs the missing test tools with apt-get when we are
// root (the only prerequisites of a fresh machine are Go, Node and apt),
// and otherwise fails naming the packages to install. Debian's caddy
// package also enables a caddy.service on systems with systemd; the tests
// never use it (they run their own caddy on free loopback ports); the
// same holds for the prometheus package's service: only promtool is used.
func ensureTestTools(ctx context.Context, root string, out io.Writer) error {
	missing := missingTools()
	if len(missing) == 0 {
		return nil
	}
	var pkgs, whys []string
	for _, m := range missing {
		pkgs = append(pkgs, m.pkg)
		whys = append(whys, m.pkg+" ("+m.why+")")
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("missing test tools: %s; install them (Debian/Ubuntu: sudo apt-get install -y %s) or run as root to let the stack install them",
			strings.Join(whys, ", "), strings.Join(pkgs, " "))
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("missing test tools: %s, and apt-get is not available to install them", strings.Join(whys, ", "))
	}
	err := withInstallLock(ctx, root, "apt", func() error {
		missing := missingTools()
		if len(missing) == 0 {
			return nil // another stack installed them while we waited
		}
		var todo []string
		for _, m := range missing {
			todo = append(todo, m.pkg)
		}
		fmt.Fprintf(out, "stack: %s missing, running apt-get install -y %s…\n", strings.Join(todo, " and "), strings.Join(todo, " "))
		env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if err := runVisible(ctx, out, root, env, "apt-get", "update"); err != nil {
			return err
		}
		return runVisible(ctx, out, root, env, "apt-get", append([]string{"install", "-y", "--no-install-recommends"}, todo...)...)
	})
	if err != nil {
		return fmt.Errorf("install test tools: %w", err)
	}
	if still := missingTools(); len(still) > 0 {
		return errors.New("apt-get install finished but " + still[0].pkg + " is still not on PATH")
	}
	return nil
}

func missingTools() []testTool {
	var out []testTool
	for _, t := range testTools {
		found := false
		for _, exe := range t.exes {
			if _, err := exec.LookPath(exe); err == nil {
				found = true
				break
			}
		}
		if !found {
			out = append(out, t)
		}
	}
	return out
}
