package main

import (
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/visiquate/cco/"

// layers says which cco packages each package may import: imports point
// down the stack, never up. A new package must be added here.
var layers = map[string][]string{
	"cmd/cco":        {"pkg/cli", "pkg/version"},
	"cmd/ccobench":   {"pkg/fakeapi", "pkg/realdb"},
	"cmd/ccorelease": {},
	"pkg/release":    {},
	"pkg/cli":        {"pkg/analytics", "pkg/claudelog", "pkg/config", "pkg/control", "pkg/credentials", "pkg/daemon", "pkg/limits", "pkg/logging", "pkg/pricing", "pkg/runstate", "pkg/secret", "pkg/service", "pkg/store", "pkg/update", "pkg/version"},
	"pkg/daemon":     {"pkg/analytics", "pkg/apierror", "pkg/cache", "pkg/config", "pkg/control", "pkg/limits", "pkg/live", "pkg/logging", "pkg/metrics", "pkg/pricing", "pkg/proxy", "pkg/runstate", "pkg/secret", "pkg/server", "pkg/store", "pkg/update", "pkg/version"},
	"pkg/server":     {"pkg/apierror", "pkg/control", "pkg/dashboard", "pkg/live", "pkg/proxy", "pkg/secret", "pkg/version"},
	"pkg/analytics":  {"pkg/cache", "pkg/claudelog", "pkg/control", "pkg/pricing", "pkg/proxy", "pkg/store"},
	"pkg/proxy":      {"pkg/apierror", "pkg/cache", "pkg/logging", "pkg/secret", "pkg/usage"},
	"pkg/limits":     {"pkg/apierror", "pkg/control", "pkg/pricing"},
	"pkg/cache":      {},
	"pkg/usage":      {"pkg/pricing"},
	"pkg/pricing":    {},
	"pkg/claudelog":  {},
	"pkg/store":      {},
	"pkg/metrics":    {"pkg/store"},
	"pkg/live":       {"pkg/control"},
	"pkg/apierror":   {},
	"pkg/secret":     {},
	"pkg/fakeapi":    {},
	"pkg/fakegithub": {"pkg/ccoproc"},
	"pkg/ccoproc":    {},
	"pkg/golden":     {},
	"pkg/realdb":     {},
	"pkg/e2e":        {},
	"pkg/control":    {},
	"pkg/dashboard":  {},
	"pkg/logging":    {},
	"pkg/runstate":   {},
	"pkg/service":    {},
	"pkg/config":     {},
	"pkg/version":    {},
	"pkg/update":     {"pkg/version"},

	// The credential store, and the real Secret Service its tests start.
	"pkg/credentials":          {"pkg/secret"},
	"pkg/credentials/credtest": {},
}

// frameworks each live in exactly one package.
var frameworks = map[string]string{
	"github.com/urfave/cli/v2":                  "pkg/cli",
	"github.com/labstack/echo/v4":               "pkg/server",
	"github.com/prometheus/client_golang":       "pkg/metrics",
	"github.com/pelletier/go-toml/v2":           "pkg/config",
	"gopkg.in/natefinch/lumberjack.v2":          "pkg/logging",
	"github.com/maypok86/otter/v2":              "pkg/cache",
	"modernc.org/sqlite":                        "pkg/store",
	"github.com/mattn/go-sqlite3":               "pkg/store",
	"github.com/creativeprojects/go-selfupdate": "pkg/update",
	"github.com/schollz/progressbar/v3":         "pkg/cli",
	"github.com/zalando/go-keyring":             "pkg/credentials",
}

func TestImportsPointDown(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "dist" || name == "tools") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files here
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, root+string(filepath.Separator)))
		allowed, ok := layers[rel]
		if !ok {
			t.Errorf("package %s is not in the layers table of %s", rel, "cmd/cco/layers_test.go")
			return nil
		}
		seen[rel] = true
		for _, imp := range pkg.Imports {
			if dep, ok := strings.CutPrefix(imp, module); ok && !slices.Contains(allowed, dep) && !slices.Contains(allowed, "*") {
				t.Errorf("%s imports %s, which it may not (allowed: %v)", rel, dep, allowed)
			}
			for fw, home := range frameworks {
				if (imp == fw || strings.HasPrefix(imp, fw+"/")) && rel != home {
					t.Errorf("%s imports %s, which lives only in %s", rel, imp, home)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range layers {
		if !seen[p] {
			t.Errorf("layers table names %s, which has no Go files", p)
		}
	}
}
