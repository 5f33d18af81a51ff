package main

import (
	"github.com/visiquate/cco/pkg/golden"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// checkGolden compares got with testdata/name, or rewrites it with -update.
// pkg/release checks the same files for the properties a formula and a
// manifest must have.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

// fixtureDist copies testdata/dist (GoReleaser's metadata and stand-in
// archives of release 2025.11.2, fixed bytes) to a temporary folder and
// adds the checksums.sha256 GoReleaser would write.
func fixtureDist(t *testing.T) string {
	t.Helper()
	dist := t.TempDir()
	entries, err := os.ReadDir(filepath.Join("testdata", "dist"))
	if err != nil {
		t.Fatal(err)
	}
	var sums []string
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("testdata", "dist", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dist, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(e.Name(), "cco-v") {
			sum, err := fileSHA256(filepath.Join(dist, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			sums = append(sums, sum+"  "+e.Name()+"\n")
		}
	}
	sort.Strings(sums)
	if err := os.WriteFile(filepath.Join(dist, "checksums.sha256"), []byte(strings.Join(sums, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	return dist
}

const downloadURL = "https://github.com/visiquate/cco/releases/download"

// The formula and the manifest rendered from the fixture release are the
// golden files, byte for byte.
func TestRenderGolden(t *testing.T) {
	dist := fixtureDist(t)
	if err := render(dist, downloadURL+"/", filepath.Join("..", "..")); err != nil {
		t.Fatal(err)
	}
	type goldenFile struct{ rendered, golden string }
	files := []goldenFile{
		{"homebrew/cco.rb", "cco.rb.golden"},
		{"scoop/cco.json", "cco.json.golden"},
	}
	for _, name := range wingetTemplates {
		files = append(files, goldenFile{"winget/manifests/v/visiquate/cco/2025.11.2/" + name, name + ".golden"})
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(dist, filepath.FromSlash(f.rendered)))
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, f.golden, got)
	}
}

// A release the checksums do not describe is not rendered.
func TestRenderRefuses(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(dist string) error
		want   string
	}{
		{"archive changed after checksumming", func(dist string) error {
			return os.WriteFile(filepath.Join(dist, "cco-v2025.11.2-linux-x86_64.tar.gz"), []byte("other bytes"), 0o644)
		}, "checksums.sha256 says"},
		{"archive missing", func(dist string) error {
			sums, err := os.ReadFile(filepath.Join(dist, "checksums.sha256"))
			if err != nil {
				return err
			}
			var keep []string
			for _, l := range strings.SplitAfter(string(sums), "\n") {
				if !strings.Contains(l, "windows") {
					keep = append(keep, l)
				}
			}
			return os.WriteFile(filepath.Join(dist, "checksums.sha256"), []byte(strings.Join(keep, "")), 0o644)
		}, "no archive cco-v2025.11.2-windows-x86_64.zip in checksums.sha256"},
		{"malformed checksums", func(dist string) error {
			return os.WriteFile(filepath.Join(dist, "checksums.sha256"), []byte("nonsense\n"), 0o644)
		}, "malformed line"},
		{"no version", func(dist string) error {
			return os.WriteFile(filepath.Join(dist, "metadata.json"), []byte(`{"project_name":"cco"}`), 0o644)
		}, "no version"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dist := fixtureDist(t)
			if err := tt.change(dist); err != nil {
				t.Fatal(err)
			}
			err := render(dist, downloadURL, filepath.Join("..", ".."))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("render: %v; want an error containing %q", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(dist, "scoop", "cco.json")); err == nil {
				t.Errorf("a manifest was written for a release whose %s", tt.name)
			}
		})
	}
}

// winget-pkgs keeps a version's manifests under the identifier's first
// letter, in lower case, and one folder per part of the identifier.
func TestWingetDir(t *testing.T) {
	for _, tt := range []struct{ id, version, want string }{
		{"visiquate.cco", "2025.11.2", "manifests/v/visiquate/cco/2025.11.2"},
		{"Microsoft.VisualStudio.Code", "1.95.0", "manifests/m/Microsoft/VisualStudio/Code/1.95.0"},
	} {
		if got := wingetDir(tt.id, tt.version); got != tt.want {
			t.Errorf("wingetDir(%q, %q) = %q, want %q", tt.id, tt.version, got, tt.want)
		}
	}
}

// A template whose result does not parse as what the file's name says is
// an error, and nothing is written.
func TestRenderOneRefusesSyntax(t *testing.T) {
	for _, tt := range []struct{ name, tmpl, want string }{
		{"cco.json", `{"version": "{{ .Version }}",}`, "not JSON"},
		{"cco.yaml", "PackageVersion: {{ .Version }}\nTags: [cco\n", "not YAML"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tmpl := filepath.Join(dir, tt.name+".tmpl")
			if err := os.WriteFile(tmpl, []byte(tt.tmpl), 0o644); err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(dir, "out", tt.name)
			err := renderOne(release{Version: "2025.11.2"}, tmpl, dst)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("renderOne: %v; want an error containing %q", err, tt.want)
			}
			if _, err := os.Stat(dst); err == nil {
				t.Errorf("%s was written", dst)
			}
		})
	}
}
