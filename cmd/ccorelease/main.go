// Command ccorelease renders the Homebrew formula, the Scoop manifest and
// the winget manifests of a release from what GoReleaser put in dist/, so
// that their hashes are always those of the published archives, and, before
// GoReleaser builds, the licence notices the archives and packages ship. It
// is a development tool, not shipped; the release workflow and `task
// release:snapshot` run it.
//
//	go run ./cmd/ccorelease render [-dist dist] [-download-url URL]
//	go run ./cmd/ccorelease notices [-out packaging/generated] [-go-licenses PATH]
//
// notices (notices.go) writes THIRD_PARTY_LICENSES and the .deb's copyright
// file from go-licenses' report on the five release targets.
//
// It writes dist/homebrew/cco.rb (from homebrew/cco.rb.tmpl),
// dist/scoop/cco.json (from scoop/cco.json.tmpl) and the three files of the
// winget manifest (from packaging/winget/*.yaml.tmpl) to
// dist/winget/manifests/v/visiquate/cco/VERSION/, the folder winget-pkgs
// keeps them in. A .json or .yaml file whose render does not parse as JSON
// or YAML is an error and is not written; that the winget files also
// satisfy winget's schemas is checked by pkg/release against the copies in
// packaging/winget/schemas. What it renders from a fixed stand-in release
// (testdata/dist) is kept as golden files in testdata, rewritten with
// go test ./cmd/ccorelease -update; pkg/release checks their properties.
// It imports no cco package.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"
)

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "notices" {
		fs := flag.NewFlagSet("notices", flag.ExitOnError)
		out := fs.String("out", "packaging/generated", "where THIRD_PARTY_LICENSES and copyright are written")
		tool := fs.String("go-licenses", "go-licenses", "the go-licenses binary (pinned in tools/go.mod)")
		fs.Parse(os.Args[2:])
		if err := notices(*out, *tool); err != nil {
			fmt.Fprintln(os.Stderr, "ccorelease:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) < 2 || os.Args[1] != "render" {
		fmt.Fprintln(os.Stderr, "usage: ccorelease render [-dist dist] [-download-url URL]\n       ccorelease notices [-out packaging/generated] [-go-licenses PATH]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("render", flag.ExitOnError)
	dist := fs.String("dist", "dist", "GoReleaser's output folder")
	download := fs.String("download-url", "https://github.com/visiquate/cco/releases/download", "where release assets are downloaded from")
	fs.Parse(os.Args[2:])
	if err := render(*dist, *download, "."); err != nil {
		fmt.Fprintln(os.Stderr, "ccorelease:", err)
		os.Exit(1)
	}
}

// release is what the templates see.
type release struct {
	Version  string // 2025.11.2, without the v
	download string
	hashes   map[string]string // archive name -> sha256
}

// Archive is the file name of the archive for a platform suffix such as
// "darwin-arm64" or "windows-x86_64".
func (r release) Archive(platform string) string {
	ext := ".tar.gz"
	if strings.HasPrefix(platform, "windows-") {
		ext = ".zip"
	}
	return "cco-v" + r.Version + "-" + platform + ext
}

// URL is where the platform's archive is downloaded from.
func (r release) URL(platform string) string {
	return r.download + "/v" + r.Version + "/" + r.Archive(platform)
}

// SHA256 is the platform archive's hash; it panics (failing the render)
// when the archive is not in the release.
func (r release) SHA256(platform string) string {
	h, ok := r.hashes[r.Archive(platform)]
	if !ok {
		panic(fmt.Sprintf("no archive %s in checksums.sha256", r.Archive(platform)))
	}
	return h
}

// SHA256Upper is SHA256 in upper-case hex, the form winget manifests use.
func (r release) SHA256Upper(platform string) string {
	return strings.ToUpper(r.SHA256(platform))
}

// wingetID is the winget package identifier, Publisher.Package.
const wingetID = "visiquate.cco"

// wingetTemplates are the files of the winget manifest, in packaging/winget
// with .tmpl after their names.
var wingetTemplates = []string{"visiquate.cco.yaml", "visiquate.cco.installer.yaml", "visiquate.cco.locale.en-US.yaml"}

// wingetDir is where winget-pkgs keeps a package version's manifests:
// manifests/, the identifier's first letter in lower case, then one folder
// per part of the identifier, then the version. Slash-separated.
func wingetDir(id, version string) string {
	return path.Join("manifests", strings.ToLower(id[:1]), strings.ReplaceAll(id, ".", "/"), version)
}

// output is one rendered file: its template, relative to the repository,
// and where it goes, relative to dist. Both slash-separated.
type output struct{ tmpl, dst string }

func render(dist, download, repo string) error {
	var meta struct {
		Version string `json:"version"`
	}
	data, err := os.ReadFile(filepath.Join(dist, "metadata.json"))
	if err != nil {
		return fmt.Errorf("read GoReleaser metadata: %w", err)
	}
	if err := json.Unmarshal(data, &meta); err != nil || meta.Version == "" {
		return fmt.Errorf("read GoReleaser metadata: no version (%v)", err)
	}
	hashes, err := readChecksums(dist)
	if err != nil {
		return err
	}
	rel := release{Version: meta.Version, download: strings.TrimSuffix(download, "/"), hashes: hashes}
	outs := []output{
		{"homebrew/cco.rb.tmpl", "homebrew/cco.rb"},
		{"scoop/cco.json.tmpl", "scoop/cco.json"},
	}
	for _, name := range wingetTemplates {
		outs = append(outs, output{"packaging/winget/" + name + ".tmpl", path.Join("winget", wingetDir(wingetID, rel.Version), name)})
	}
	for _, out := range outs {
		if err := renderOne(rel, filepath.Join(repo, filepath.FromSlash(out.tmpl)), filepath.Join(dist, filepath.FromSlash(out.dst))); err != nil {
			return err
		}
	}
	return nil
}

// readChecksums reads checksums.sha256 and checks every line against the
// file it names, so a formula can only carry the hash of what is in dist/.
func readChecksums(dist string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(dist, "checksums.sha256"))
	if err != nil {
		return nil, fmt.Errorf("read checksums: %w", err)
	}
	defer f.Close()
	hashes := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		hash, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			return nil, fmt.Errorf("checksums.sha256: malformed line %q", sc.Text())
		}
		sum, err := fileSHA256(filepath.Join(dist, name))
		if err != nil {
			return nil, err
		}
		if sum != hash {
			return nil, fmt.Errorf("checksums.sha256 says %s for %s, the file has %s", hash, name, sum)
		}
		hashes[name] = hash
	}
	return hashes, sc.Err()
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func renderOne(rel release, tmplPath, dst string) (err error) {
	t, err := template.ParseFiles(tmplPath)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("render %s: %v", tmplPath, r)
		}
	}()
	if err := t.Execute(&out, rel); err != nil {
		var execErr template.ExecError
		if errors.As(err, &execErr) {
			return fmt.Errorf("render %s: %v", tmplPath, execErr.Err)
		}
		return fmt.Errorf("render %s: %w", tmplPath, err)
	}
	if err := checkSyntax(dst, out.Bytes()); err != nil {
		return fmt.Errorf("render %s: %w", tmplPath, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, out.Bytes(), 0o644)
}

// checkSyntax fails when a .json or .yaml file's content does not parse as
// what its name says.
func checkSyntax(name string, data []byte) error {
	switch filepath.Ext(name) {
	case ".json":
		if !json.Valid(data) {
			return errors.New("the result is not JSON")
		}
	case ".yaml":
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return fmt.Errorf("the result is not YAML: %w", err)
		}
	}
	return nil
}
