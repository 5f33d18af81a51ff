package fakegithub

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"github.com/visiquate/cco/pkg/ccoproc"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// archiveEntry is one member of a release archive.
type archiveEntry struct {
	name string
	mode fs.FileMode
	data []byte
}

// readArchive returns the members of a .tar.gz or .zip release archive in
// the order they are stored.
func readArchive(t *testing.T, name string, data []byte) []archiveEntry {
	t.Helper()
	var entries []archiveEntry
	if strings.HasSuffix(name, ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatalf("%s: %s: %v", name, f.Name, err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("%s: %s: %v", name, f.Name, err)
			}
			entries = append(entries, archiveEntry{f.Name, f.Mode(), b})
		}
		return entries
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			t.Errorf("%s: %s is not a regular file (type %q)", name, hdr.Name, hdr.Typeflag)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("%s: %s: %v", name, hdr.Name, err)
		}
		entries = append(entries, archiveEntry{hdr.Name, fs.FileMode(hdr.Mode), b})
	}
	return entries
}

// wantArchiveLayout checks that an archive holds, in GoReleaser's order and
// modes, the documents and then the binary exe, and returns the binary.
func wantArchiveLayout(t *testing.T, name string, data []byte, exe string) []byte {
	t.Helper()
	want := []string{"LICENSE", "README.md", "completions/_cco", "completions/cco.bash",
		"completions/cco.fish", "completions/cco.ps1", "man/cco.1", exe}
	entries := readArchive(t, name, data)
	var got []string
	for _, e := range entries {
		got = append(got, e.name)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s holds %q, want %q", name, got, want)
	}
	for _, e := range entries {
		wantMode := fs.FileMode(0o644)
		if e.name == exe {
			wantMode = 0o755
		}
		if e.mode.Perm() != wantMode {
			t.Errorf("%s: %s has mode %v, want %v", name, e.name, e.mode.Perm(), wantMode)
		}
		if len(e.data) == 0 {
			t.Errorf("%s: %s is empty", name, e.name)
		}
	}
	return entries[len(entries)-1].data
}

// writeAssets writes the assets into a new folder and returns it.
func writeAssets(t *testing.T, assets map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range assets {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runIn runs a program in dir and returns its combined output.
func runIn(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// BuildRelease makes what the pipeline publishes, and it holds up the way
// users, install.sh and `cco update` check it: sha256sum -c, cosign
// verify-blob, the ECDSA signature in Go, and the cco inside runs and says
// its version.
func TestBuildRelease(t *testing.T) {
	const version = "2025.11.1"
	key := NewCosignKey(t)
	bin, err := ccoproc.BuildCCOWith(t.TempDir(), ccoproc.BuildOptions{Version: version, UpdateKey: key.PublicBase64()})
	if err != nil {
		t.Fatal(err)
	}
	rel := BuildRelease(t, ReleaseOptions{Version: version, Key: key, Binary: bin})
	archive := ArchiveName(version, runtime.GOOS, runtime.GOARCH)
	dir := writeAssets(t, rel.Assets)

	t.Run("names", func(t *testing.T) {
		if rel.Tag != "v"+version || rel.Prerelease {
			t.Errorf("tag %q prerelease %v, want v%s and false", rel.Tag, rel.Prerelease, version)
		}
		want := []string{archive, archive + ".sha256", "checksums.sha256", "checksums.sha256.sig", "cosign.pub"}
		slices.Sort(want)
		if got := slices.Sorted(maps.Keys(rel.Assets)); !slices.Equal(got, want) {
			t.Errorf("assets %q, want %q", got, want)
		}
		if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" && archive != "cco-v2025.11.1-linux-x86_64.tar.gz" {
			t.Errorf("archive %s, want cco-v2025.11.1-linux-x86_64.tar.gz", archive)
		}
	})

	t.Run("served", func(t *testing.T) {
		gh := NewGitHub(t, rel)
		resp, err := http.Get(gh.DownloadURL() + "/" + rel.Tag + "/" + archive)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, rel.Assets[archive]) {
			t.Fatalf("download %s from the fake GitHub: %v, %s, %d of %d bytes", archive, err, resp.Status, len(got), len(rel.Assets[archive]))
		}
	})

	t.Run("sha256sum", func(t *testing.T) {
		sha256sum, err := exec.LookPath("sha256sum")
		if err != nil {
			t.Skip("no sha256sum on PATH")
		}
		for _, file := range []string{"checksums.sha256", archive + ".sha256"} {
			out, err := runIn(t, dir, os.Environ(), sha256sum, "--check", "--strict", file)
			if err != nil || out != archive+": OK\n" {
				t.Errorf("sha256sum -c %s: %v\n%s", file, err, out)
			}
		}
		if !bytes.Equal(rel.Assets["checksums.sha256"], rel.Assets[archive+".sha256"]) {
			t.Errorf("checksums.sha256 %q and %s.sha256 %q differ for one archive",
				rel.Assets["checksums.sha256"], archive, rel.Assets[archive+".sha256"])
		}
	})

	t.Run("cosign", func(t *testing.T) {
		verify := func(file string) (string, error) {
			return runCosign(t, dir, "", "verify-blob", "--key", key.Public,
				"--signature", "checksums.sha256.sig", "--insecure-ignore-tlog=true", file)
		}
		if out, err := verify("checksums.sha256"); err != nil || !strings.Contains(out, "Verified OK") {
			t.Fatalf("cosign verify-blob checksums.sha256: %v\n%s", err, out)
		}
		changed := bytes.Clone(rel.Assets["checksums.sha256"])
		changed[0] ^= 1
		if err := os.WriteFile(filepath.Join(dir, "changed"), changed, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := verify("changed"); err == nil {
			t.Fatalf("cosign verify-blob accepted a changed checksums.sha256:\n%s", out)
		}
	})

	t.Run("go", func(t *testing.T) {
		block, _ := pem.Decode(rel.Assets["cosign.pub"])
		if block == nil || block.Type != "PUBLIC KEY" {
			t.Fatal("cosign.pub is not a PUBLIC KEY PEM")
		}
		if got := base64.StdEncoding.EncodeToString(block.Bytes); got != key.PublicBase64() {
			t.Errorf("PublicBase64 %s, cosign.pub holds %s", key.PublicBase64(), got)
		}
		parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		pub, ok := parsed.(*ecdsa.PublicKey)
		if !ok {
			t.Fatalf("cosign.pub holds a %T, want ECDSA", parsed)
		}
		sig, err := base64.StdEncoding.DecodeString(string(rel.Assets["checksums.sha256.sig"]))
		if err != nil {
			t.Fatalf("checksums.sha256.sig is not base64: %v", err)
		}
		digest := sha256.Sum256(rel.Assets["checksums.sha256"])
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			t.Fatal("the signature does not verify checksums.sha256")
		}
		changed := bytes.Clone(rel.Assets["checksums.sha256"])
		changed[0] ^= 1
		digest = sha256.Sum256(changed)
		if ecdsa.VerifyASN1(pub, digest[:], sig) {
			t.Fatal("the signature verifies a changed checksums.sha256")
		}
	})

	t.Run("archive", func(t *testing.T) {
		exe := "cco"
		if runtime.GOOS == "windows" {
			exe = "cco.exe"
		}
		data := wantArchiveLayout(t, archive, rel.Assets[archive], exe)
		path := filepath.Join(t.TempDir(), exe)
		if err := os.WriteFile(path, data, 0o755); err != nil {
			t.Fatal(err)
		}
		home := t.TempDir()
		env := append(os.Environ(), "HOME="+home, "USERPROFILE="+home)
		out, err := runIn(t, home, env, path, "version", "--json")
		if err != nil || !strings.Contains(out, `"version": "`+version+`"`) {
			t.Fatalf("cco version --json from %s: %v\n%s", archive, err, out)
		}
	})
}

// A release without a key has no signature and no cosign.pub, and the
// Binary given is what its archive holds.
func TestBuildReleaseUnsigned(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cco")
	if err := os.WriteFile(bin, []byte("stand-in for cco"), 0o755); err != nil {
		t.Fatal(err)
	}
	const version = "2025.12.1-beta.1"
	rel := BuildRelease(t, ReleaseOptions{Version: version, Prerelease: true, Binary: bin})
	archive := ArchiveName(version, runtime.GOOS, runtime.GOARCH)
	want := []string{archive, archive + ".sha256", "checksums.sha256"}
	slices.Sort(want)
	if got := slices.Sorted(maps.Keys(rel.Assets)); !slices.Equal(got, want) {
		t.Errorf("assets %q, want %q", got, want)
	}
	if rel.Tag != "v"+version || !rel.Prerelease {
		t.Errorf("tag %q prerelease %v, want v%s and true", rel.Tag, rel.Prerelease, version)
	}
	exe := "cco"
	if runtime.GOOS == "windows" {
		exe = "cco.exe"
	}
	if got := wantArchiveLayout(t, archive, rel.Assets[archive], exe); string(got) != "stand-in for cco" {
		t.Errorf("%s holds %q, want the stand-in", exe, got)
	}
	if got, want := string(rel.Assets["checksums.sha256"]), string(ChecksumsFile(rel.Assets)); got != want {
		t.Errorf("checksums.sha256 %q, ChecksumsFile gives %q", got, want)
	}
}

func TestReleaseArchiveName(t *testing.T) {
	for _, tt := range []struct{ goos, goarch, want string }{
		{"darwin", "arm64", "cco-v2025.11.2-darwin-arm64.tar.gz"},
		{"darwin", "amd64", "cco-v2025.11.2-darwin-x86_64.tar.gz"},
		{"linux", "amd64", "cco-v2025.11.2-linux-x86_64.tar.gz"},
		{"linux", "arm64", "cco-v2025.11.2-linux-aarch64.tar.gz"},
		{"windows", "amd64", "cco-v2025.11.2-windows-x86_64.zip"},
	} {
		if got := ArchiveName("2025.11.2", tt.goos, tt.goarch); got != tt.want {
			t.Errorf("ArchiveName(2025.11.2, %s, %s) = %s, want %s", tt.goos, tt.goarch, got, tt.want)
		}
	}
	for _, p := range [][2]string{{"windows", "arm64"}, {"linux", "386"}, {"freebsd", "amd64"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("ArchiveName for %s/%s did not panic", p[0], p[1])
				}
			}()
			ArchiveName("2025.11.2", p[0], p[1])
		}()
	}
}

// ChecksumsFile covers archives and packages, sorted, in `sha256sum` form,
// and nothing else.
func TestReleaseChecksumsFile(t *testing.T) {
	assets := map[string][]byte{
		"cco-v1.2.3-windows-x86_64.zip":            []byte("zip"),
		"cco-v1.2.3-linux-x86_64.tar.gz":           []byte("tar"),
		"cco_1.2.3_amd64.deb":                      []byte("deb"),
		"cco-v1.2.3-linux-x86_64.tar.gz.sha256":    []byte("x"),
		"checksums.sha256":                         []byte("y"),
		"checksums.sha256.sig":                     []byte("z"),
		"cosign.pub":                               []byte("k"),
		"cco-v1.2.3-windows-x86_64.zip.sha256.sig": []byte("s"),
	}
	var want strings.Builder
	for _, name := range []string{"cco-v1.2.3-linux-x86_64.tar.gz", "cco-v1.2.3-windows-x86_64.zip", "cco_1.2.3_amd64.deb"} {
		sum := sha256.Sum256(assets[name])
		want.WriteString(fmtHex(sum[:]) + "  " + name + "\n")
	}
	if got := string(ChecksumsFile(assets)); got != want.String() {
		t.Errorf("ChecksumsFile:\n%s\nwant:\n%s", got, want.String())
	}
}

// fmtHex returns b in lower-case hex, written out by hand so the test does
// not share the code under test.
func fmtHex(b []byte) string {
	const digits = "0123456789abcdef"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(digits[c>>4])
		s.WriteByte(digits[c&15])
	}
	return s.String()
}

// The Windows archive is a zip with cco.exe, the others a tar.gz with cco,
// laid out as GoReleaser lays them out; checked with a stand-in binary, so
// nothing is cross-compiled.
func TestReleaseArchiveLayout(t *testing.T) {
	docs, err := archiveDocs()
	if err != nil {
		t.Fatal(err)
	}
	exe := []byte("not really cco")
	for _, goos := range []string{"windows", "linux", "darwin"} {
		data, err := makeArchive(goos, exe, docs)
		if err != nil {
			t.Fatal(err)
		}
		name := ArchiveName("1.2.3", goos, "amd64")
		bin := "cco"
		if goos == "windows" {
			bin = "cco.exe"
		}
		if got := wantArchiveLayout(t, name, data, bin); !bytes.Equal(got, exe) {
			t.Errorf("%s: %s holds %q, want %q", name, bin, got, exe)
		}
		again, err := makeArchive(goos, exe, docs)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, again) {
			t.Errorf("%s: two builds from the same files differ", name)
		}
	}
}
