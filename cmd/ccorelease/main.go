// Command ccorelease renders the Homebrew formula and the Scoop manifest of
// a release from what GoReleaser put in dist/, so that their hashes are
// always those of the published archives. It is a development tool, not
// shipped; the release workflow and `task release:snapshot` run it.
//
//	go run ./cmd/ccorelease render [-dist dist] [-download-url URL]
//
// It writes dist/homebrew/cco.rb (from homebrew/cco.rb.tmpl) and
// dist/scoop/cco.json (from scoop/cco.json.tmpl). What it renders from a
// fixed stand-in release (testdata/dist) is kept as golden files in
// testdata, rewritten with go test ./cmd/ccorelease -update; pkg/release
// checks their properties. It imports no cco package.
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
	"path/filepath"
	"strings"
	"text/template"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "render" {
		fmt.Fprintln(os.Stderr, "usage: ccorelease render [-dist dist] [-download-url URL]")
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
	for _, out := range []struct{ tmpl, dst string }{
		{"homebrew/cco.rb.tmpl", "homebrew/cco.rb"},
		{"scoop/cco.json.tmpl", "scoop/cco.json"},
	} {
		if err := renderOne(rel, filepath.Join(repo, out.tmpl), filepath.Join(dist, out.dst)); err != nil {
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
	if strings.HasSuffix(dst, ".json") && !json.Valid(out.Bytes()) {
		return fmt.Errorf("render %s: the result is not JSON", tmplPath)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, out.Bytes(), 0o644)
}
