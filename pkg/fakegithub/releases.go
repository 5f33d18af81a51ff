package fakegithub

// This file builds releases of cco as the release pipeline (.goreleaser.yaml)
// publishes them, for the fake GitHub to serve: the archives with the same
// names and layout, <archive>.sha256, checksums.sha256 and its signature,
// made by a real cosign with a throw-away key and without the transparency
// log. Every cosign command runs with proxies that point at a closed port of
// 127.0.0.1, so nothing leaves this machine.

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"github.com/visiquate/cco/pkg/ccoproc"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// cosignPassword encrypts the private keys NewCosignKey makes; they
	// are thrown away with the test.
	cosignPassword = "fakegithub-throwaway"
	// cosignTimeout bounds one cosign command.
	cosignTimeout = 2 * time.Minute
	// cosignBuildTimeout bounds building cosign (minutes with an empty
	// build cache).
	cosignBuildTimeout = 15 * time.Minute
	// closedPort is where cosign's HTTP(S) requests go: nothing listens.
	closedPort = "http://127.0.0.1:9"
)

// archiveTime is the modification time of every file in the archives, as
// GoReleaser takes the commit's date: fixed, so the same inputs give the
// same bytes.
var archiveTime = time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)

// archiveArches maps GOOS/GOARCH to the platform part of an archive's name,
// as .goreleaser.yaml's name_template writes it.
var archiveArches = map[string]string{
	"darwin/arm64":  "darwin-arm64",
	"darwin/amd64":  "darwin-x86_64",
	"linux/amd64":   "linux-x86_64",
	"linux/arm64":   "linux-aarch64",
	"windows/amd64": "windows-x86_64",
}

// ArchiveName returns the name of the release archive of cco version (no
// "v", such as 2025.11.1) for goos/goarch, such as
// cco-v2025.11.1-linux-x86_64.tar.gz, or .zip for Windows. It panics for a
// platform the pipeline does not release.
func ArchiveName(version, goos, goarch string) string {
	platform, ok := archiveArches[goos+"/"+goarch]
	if !ok {
		panic(fmt.Sprintf("fakegithub: no release archive for %s/%s", goos, goarch))
	}
	ext := ".tar.gz"
	if goos == "windows" {
		ext = ".zip"
	}
	return "cco-v" + version + "-" + platform + ext
}

// ChecksumsFile returns checksums.sha256 for the assets: one
// "<sha256 hex>  <name>\n" line (`sha256sum -c` format) for every archive
// and package (.tar.gz, .zip, .deb, .rpm), sorted by name. Use it to
// rebuild the file after changing an archive.
func ChecksumsFile(assets map[string][]byte) []byte {
	var b bytes.Buffer
	for _, name := range slices.Sorted(maps.Keys(assets)) {
		if !checksummed(name) {
			continue
		}
		b.WriteString(checksumLine(name, assets[name]))
	}
	return b.Bytes()
}

// checksummed reports whether checksums.sha256 covers the asset called name,
// as GoReleaser's checksum step covers archives and packages.
func checksummed(name string) bool {
	for _, ext := range []string{".tar.gz", ".zip", ".deb", ".rpm"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// checksumLine returns data's line of a `sha256sum` file.
func checksumLine(name string, data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]) + "  " + name + "\n"
}

// CosignBinary returns the path of a real cosign v2.6.5: $CCO_COSIGN when
// set, else the one pinned in tools/go.mod, built with go build the first
// time any test process asks for it (minutes with a cold Go build cache) and
// kept for the next ones in the user's cache folder (see [os.UserCacheDir]),
// under cco-fakegithub/cosign-HASH, where HASH covers tools/go.mod, tools/go.sum
// and the platform. It fails t if cosign cannot be built.
//
// It is kept, rather than built into a new temporary folder by every test
// process, because cosign is about 140 MB: a folder left behind by each
// `go test` run filled /tmp by gigabytes an hour, and relinking cost each
// run some 20 seconds.
func CosignBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CCO_COSIGN"); p != "" {
		return p
	}
	cosignOnce.Do(func() { cosignPath, cosignErr = buildCosign() })
	if cosignErr != nil {
		t.Fatal(cosignErr)
	}
	return cosignPath
}

// The cosign of CosignBinary, found or built once per process.
var (
	cosignOnce sync.Once
	cosignPath string
	cosignErr  error
)

// buildCosign returns the path of the cosign pinned in tools/go.mod in the
// user's cache folder, building it there first if it is not.
func buildCosign() (string, error) {
	root, err := ccoproc.ModuleRoot()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, name := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(root, "tools", name))
		if err != nil {
			return "", fmt.Errorf("build cosign: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(data))
		h.Write(data)
	}
	fmt.Fprintf(h, "%s/%s\n", runtime.GOOS, runtime.GOARCH)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "cco-fakegithub", "cosign-"+hex.EncodeToString(h.Sum(nil))[:16])
	bin := filepath.Join(dir, "cosign")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build cosign: %w", err)
	}
	// Build beside it and rename into place, so that a process that stops
	// half way, or one building at the same time, never leaves half a cosign.
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("build cosign: %w", err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), cosignBuildTimeout)
	defer cancel()
	built := filepath.Join(tmp, filepath.Base(bin))
	cmd := exec.CommandContext(ctx, "go", "build", "-modfile=tools/go.mod", "-buildvcs=false",
		"-o", built, "github.com/sigstore/cosign/v2/cmd/cosign")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build cosign (go build -modfile=tools/go.mod github.com/sigstore/cosign/v2/cmd/cosign): %v\n%s", err, out)
	}
	if err := os.Rename(built, bin); err != nil {
		if _, statErr := os.Stat(bin); statErr == nil {
			return bin, nil // another process put its build in place first
		}
		return "", fmt.Errorf("build cosign: %w", err)
	}
	return bin, nil
}

// runCosign runs the cosign of CosignBinary with args in dir, offline and
// with password as COSIGN_PASSWORD, and returns its combined output.
func runCosign(t testing.TB, dir, password string, args ...string) (string, error) {
	t.Helper()
	bin := CosignBinary(t) // first, as building it may take longer than cosignTimeout
	ctx, cancel := context.WithTimeout(context.Background(), cosignTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = cosignEnv(t.TempDir(), password)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// cosignEnv returns the environment cosign runs in: this process's, with
// every HTTP(S) request sent to a closed port of 127.0.0.1, no proxy
// exceptions, HOME (where cosign caches Sigstore's TUF root) in home, and no
// COSIGN_ settings but COSIGN_PASSWORD=password.
func cosignEnv(home, password string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k = strings.ToUpper(k); {
		case k == "HTTP_PROXY", k == "HTTPS_PROXY", k == "ALL_PROXY", k == "NO_PROXY",
			k == "HOME", k == "TUF_ROOT", k == "SIGSTORE_ROOT_FILE", strings.HasPrefix(k, "COSIGN_"):
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HTTPS_PROXY="+closedPort, "HTTP_PROXY="+closedPort,
		"https_proxy="+closedPort, "http_proxy="+closedPort,
		"HOME="+home, "COSIGN_PASSWORD="+password)
}

// CosignKey is a cosign key pair in files, as `cosign generate-key-pair`
// writes it.
type CosignKey struct {
	// Private is the path of the encrypted private key (cosign.key).
	Private string
	// Public is the path of the public key, a PUBLIC KEY PEM (cosign.pub).
	Public string
	// Password decrypts Private.
	Password string
}

// NewCosignKey makes a throw-away key pair with `cosign generate-key-pair`
// in a temporary folder of t.
func NewCosignKey(t testing.TB) *CosignKey {
	t.Helper()
	dir := t.TempDir()
	if out, err := runCosign(t, dir, cosignPassword, "generate-key-pair"); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	return &CosignKey{
		Private:  filepath.Join(dir, "cosign.key"),
		Public:   filepath.Join(dir, "cosign.pub"),
		Password: cosignPassword,
	}
}

// PublicPEM returns the public key's PEM file. It panics if the file cannot
// be read.
func (k *CosignKey) PublicPEM() []byte {
	data, err := os.ReadFile(k.Public)
	if err != nil {
		panic(fmt.Sprintf("fakegithub: read cosign public key: %v", err))
	}
	return data
}

// PublicBase64 returns the standard base64 of the DER in the public key's
// PEM: what a test build of cco takes as -X main.updateKey. It panics if the
// file cannot be read or holds no PUBLIC KEY block.
func (k *CosignKey) PublicBase64() string {
	block, _ := pem.Decode(k.PublicPEM())
	if block == nil || block.Type != "PUBLIC KEY" {
		panic(fmt.Sprintf("fakegithub: %s holds no PUBLIC KEY PEM block", k.Public))
	}
	return base64.StdEncoding.EncodeToString(block.Bytes)
}

// SignBlob signs data with `cosign sign-blob --tlog-upload=false`, as the
// pipeline signs checksums.sha256, and returns the signature as cosign
// writes it: base64 of an ASN.1 DER ECDSA signature, without a newline.
func (k *CosignKey) SignBlob(t testing.TB, data []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "blob")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCosign(t, dir, k.Password, "sign-blob", "--key", k.Private,
		"--tlog-upload=false", "--output-signature", file+".sig", "--yes", file)
	if err != nil {
		t.Fatalf("cosign sign-blob: %v\n%s", err, out)
	}
	sig, err := os.ReadFile(file + ".sig")
	if err != nil {
		t.Fatalf("cosign sign-blob: %v", err)
	}
	return sig
}

// ReleaseOptions describe a release for BuildRelease.
type ReleaseOptions struct {
	// Version is the release's version without "v", such as 2025.11.1;
	// the tag is "v" + Version.
	Version string
	// Prerelease is GitHub's prerelease flag.
	Prerelease bool
	// Key signs checksums.sha256 and is published as cosign.pub, and the
	// builds for other platforms trust it (-X main.updateKey). With nil,
	// the release has neither checksums.sha256.sig nor cosign.pub.
	Key *CosignKey
	// Binary is the cco for this machine's platform, built by the caller
	// (say with ccoproc.BuildCCOWith and Key.PublicBase64()). Empty builds one with
	// Version and Key.
	Binary string
	// Platforms are the archives to make, as "GOOS/GOARCH" such as
	// "linux/arm64"; empty means this machine's only. cco is built for each
	// platform other than this machine's.
	Platforms []string
}

// BuildRelease returns the release tagged "v"+o.Version with the assets the
// release pipeline publishes. For each platform:
//
//	cco-v{Version}-{os}-{arch}.tar.gz  cco (mode 0755), LICENSE, README.md, man/cco.1, completions/*
//	                                   (a .zip holding cco.exe for Windows; see ArchiveName)
//	<archive>.sha256                   the archive's `sha256sum` line
//
// and once: checksums.sha256 (see ChecksumsFile), checksums.sha256.sig
// (cosign sign-blob, no transparency log) and cosign.pub (the public key,
// which the pipeline attaches too). LICENSE and README.md are the module's;
// the man page and completions are placeholders. The .deb and .rpm packages
// are left out. It fails t on any error.
func BuildRelease(t testing.TB, o ReleaseOptions) Release {
	t.Helper()
	if o.Version == "" {
		t.Fatal("fakegithub.BuildRelease: no Version")
	}
	host := runtime.GOOS + "/" + runtime.GOARCH
	platforms := o.Platforms
	if len(platforms) == 0 {
		platforms = []string{host}
	}
	updateKey := ""
	if o.Key != nil {
		updateKey = o.Key.PublicBase64()
	}
	docs, err := archiveDocs()
	if err != nil {
		t.Fatal(err)
	}
	assets := make(map[string][]byte)
	for _, p := range platforms {
		goos, goarch, ok := strings.Cut(p, "/")
		if _, known := archiveArches[p]; !ok || !known {
			t.Fatalf("fakegithub.BuildRelease: platform %q: want one of %v", p, slices.Sorted(maps.Keys(archiveArches)))
		}
		bin := o.Binary
		if p != host || bin == "" {
			bin, err = ccoproc.BuildCCOWith(t.TempDir(), ccoproc.BuildOptions{
				Version: o.Version, UpdateKey: updateKey, GOOS: goos, GOARCH: goarch,
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		exe, err := os.ReadFile(bin)
		if err != nil {
			t.Fatalf("fakegithub.BuildRelease: read cco: %v", err)
		}
		name := ArchiveName(o.Version, goos, goarch)
		archive, err := makeArchive(goos, exe, docs)
		if err != nil {
			t.Fatalf("fakegithub.BuildRelease: %s: %v", name, err)
		}
		assets[name] = archive
		assets[name+".sha256"] = []byte(checksumLine(name, archive))
	}
	assets["checksums.sha256"] = ChecksumsFile(assets)
	if o.Key != nil {
		assets["checksums.sha256.sig"] = o.Key.SignBlob(t, assets["checksums.sha256"])
		assets["cosign.pub"] = o.Key.PublicPEM()
	}
	return Release{Tag: "v" + o.Version, Prerelease: o.Prerelease, Assets: assets}
}

// archiveFile is a file in a release archive besides cco.
type archiveFile struct {
	name string // the path in the archive, with slashes
	data []byte
}

// archiveDocs returns the files every archive holds besides cco, in the
// order GoReleaser writes them: the module's README.md and LICENSE, and
// placeholders for the man page and completions.
func archiveDocs() ([]archiveFile, error) {
	root, err := ccoproc.ModuleRoot()
	if err != nil {
		return nil, err
	}
	var files []archiveFile
	for _, name := range []string{"LICENSE", "README.md"} {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			return nil, fmt.Errorf("release archive: %w", err)
		}
		files = append(files, archiveFile{name, data})
	}
	for _, name := range []string{"completions/_cco", "completions/cco.bash", "completions/cco.fish", "completions/cco.ps1", "man/cco.1"} {
		files = append(files, archiveFile{name, []byte("placeholder for " + name + " (fakegithub)\n")})
	}
	return files, nil
}

// makeArchive returns the archive for goos holding docs (mode 0644) and then
// exe as cco, or cco.exe in a .zip for Windows (mode 0755), at the top level
// as GoReleaser writes them (no folder entries, owner root).
func makeArchive(goos string, exe []byte, docs []archiveFile) ([]byte, error) {
	const docMode, exeMode fs.FileMode = 0o644, 0o755
	if goos == "windows" {
		return makeZip(append(docs, archiveFile{"cco.exe", exe}), docMode, exeMode)
	}
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for _, f := range append(docs, archiveFile{"cco", exe}) {
		mode := docMode
		if f.name == "cco" {
			mode = exeMode
		}
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     f.name,
			Mode:     int64(mode),
			Size:     int64(len(f.data)),
			ModTime:  archiveTime,
			Uname:    "root",
			Gname:    "root",
			Format:   tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// makeZip returns a zip of files, deflated, the last one with mode exeMode
// and the others with docMode.
func makeZip(files []archiveFile, docMode, exeMode fs.FileMode) ([]byte, error) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i, f := range files {
		hdr := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: archiveTime}
		hdr.SetMode(docMode)
		if i == len(files)-1 {
			hdr.SetMode(exeMode)
		}
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
