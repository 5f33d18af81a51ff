package release

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests read what `goreleaser release` left in the folder named by
// CCO_DIST and check it the way a user, an installer or `cco update` would:
// names, checksums, the cosign signature, what each archive holds and which
// machine each binary is for.

// distPlatform is one archive: its name suffix and what its binary must be.
type distPlatform struct {
	suffix string // cco-v<version>-<suffix>
	goos   string
	goarch string
}

// distPlatforms are the five archives of a release, in the order of their names.
var distPlatforms = []distPlatform{
	{"darwin-arm64.tar.gz", "darwin", "arm64"},
	{"darwin-x86_64.tar.gz", "darwin", "amd64"},
	{"linux-aarch64.tar.gz", "linux", "arm64"},
	{"linux-x86_64.tar.gz", "linux", "amd64"},
	{"windows-x86_64.zip", "windows", "amd64"},
}

// distPackageArches maps a package's architecture in its name to GOARCH.
var distPackageArches = map[string]string{"amd64": "amd64", "arm64": "arm64"}

// archiveMembers is what every archive holds, besides the binary.
var archiveMembers = []string{
	"README.md",
	"LICENSE",
	"THIRD_PARTY_LICENSES",
	"man/cco.1",
	"completions/cco.bash",
	"completions/_cco",
	"completions/cco.fish",
	"completions/cco.ps1",
}

// distIgnored are GoReleaser's own records in dist/, not release files.
var distIgnored = []string{"artifacts.json", "metadata.json", "config.yaml", "CHANGELOG.md"}

// releaseLike matches top-level names that look like something a release
// ships; every one of them must be expected.
var releaseLike = regexp.MustCompile(`(?i)^(cco|checksums)|\.(tar\.gz|tgz|zip|deb|rpm|apk|ipk|zst|exe|msi|dmg|sha256|sig|pem|sbom|cdx\.json|spdx\.json|json\.sig)$`)

// checksumLine is one line of `sha256sum` output in text mode.
var checksumLine = regexp.MustCompile(`^([0-9a-f]{64})  ([^/\\ ]+)$`)

// releaseUnderTest is the release in CCO_DIST: its version (from the archive
// names) and the names every file must then have.
type releaseUnderTest struct {
	dir      string
	repo     string // the repository's root, for packaging/ and bin/tools/
	version  string // 2025.11.2, 2026.11.0-snapshot.gabc1234: no "v"
	archives map[string]distPlatform
	packages map[string]string // name -> GOARCH
}

// archive returns the name of the archive for goos/goarch.
func (r *releaseUnderTest) archive(goos, goarch string) string {
	for name, p := range r.archives {
		if p.goos == goos && p.goarch == goarch {
			return name
		}
	}
	return ""
}

// pkg returns the name of the package of the given format (deb, rpm) and
// architecture (amd64, arm64). The .deb is cco_VERSION_ARCH.deb with Debian's arch names; the .rpm
// cco-VERSION-1.ARCH.rpm with rpm's, its version rpm's (2025.12.1~beta.1)
// with . for the ~, as GitHub renames it.
func (r *releaseUnderTest) pkg(format, arch string) string {
	if format == "rpm" {
		rpmArch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[arch]
		return fmt.Sprintf("cco-%s-1.%s.rpm", strings.Replace(debVersion(r.version), "~", ".", 1), rpmArch)
	}
	return fmt.Sprintf("cco_%s_%s.%s", r.version, arch, format)
}

// path returns the file name's path in dist/.
func (r *releaseUnderTest) path(name string) string { return filepath.Join(r.dir, name) }

// loadRelease returns the release in CCO_DIST, or skips when it is not set.
func loadRelease(t *testing.T) *releaseUnderTest {
	t.Helper()
	dir := os.Getenv("CCO_DIST")
	if dir == "" {
		t.Skip("CCO_DIST not set: run task release:verify")
	}
	return loadReleaseFrom(t, dir)
}

// loadReleaseFrom returns the release in the dist folder dir.
func loadReleaseFrom(t *testing.T, dir string) *releaseUnderTest {
	t.Helper()
	if !filepath.IsAbs(dir) {
		t.Fatalf("%s: want an absolute path", dir)
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read CCO_DIST: %v", err)
	}
	// The version is whatever the one linux-x86_64 archive says it is; every
	// other name must then agree with it.
	anchor := regexp.MustCompile(`^cco-v(.+)-linux-x86_64\.tar\.gz$`)
	var versions []string
	for _, e := range entries {
		if m := anchor.FindStringSubmatch(e.Name()); m != nil {
			versions = append(versions, m[1])
		}
	}
	if len(versions) != 1 {
		t.Fatalf("want exactly one cco-v<version>-linux-x86_64.tar.gz in %s, found versions %q", dir, versions)
	}
	v := versions[0]
	if !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$`).MatchString(v) {
		t.Fatalf("version %q from the archive names is not MAJOR.MINOR.PATCH[-PRERELEASE]", v)
	}
	r := &releaseUnderTest{dir: dir, repo: repo, version: v, archives: map[string]distPlatform{}, packages: map[string]string{}}
	for _, p := range distPlatforms {
		r.archives["cco-v"+v+"-"+p.suffix] = p
	}
	for _, format := range []string{"deb", "rpm"} {
		for arch, goarch := range distPackageArches {
			r.packages[r.pkg(format, arch)] = goarch
		}
	}
	return r
}

// expectedFiles lists every file name a release must have in dist/.
func (r *releaseUnderTest) expectedFiles() []string {
	names := []string{"checksums.sha256", "checksums.sha256.sig"}
	for name := range r.archives {
		names = append(names, name, name+".sha256", sbomName(name))
	}
	for name := range r.packages {
		names = append(names, name, sbomName(name))
	}
	slices.Sort(names)
	return names
}

// fileSHA256 returns the hex sha256 of file.
func fileSHA256(t *testing.T, file string) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatalf("hash %s: %v", file, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// readChecksumFile parses a file in `sha256sum` format into name -> hash,
// failing on any line that is not "HASH  NAME" or on a name given twice.
func readChecksumFile(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Errorf("%s: empty or not ending in a newline", filepath.Base(file))
	}
	sums := map[string]string{}
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		m := checksumLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("%s:%d: %q is not \"<sha256>  <name>\"", filepath.Base(file), i+1, line)
			continue
		}
		if _, dup := sums[m[2]]; dup {
			t.Errorf("%s:%d: %s listed twice", filepath.Base(file), i+1, m[2])
		}
		sums[m[2]] = m[1]
	}
	return sums
}

// runToolIn runs a program in dir with extra environment and returns its
// combined output.
func runToolIn(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Every file a release promises is in dist/ under its exact name, and no
// other archive, package, checksum or signature is.
func TestDistFileNames(t *testing.T) {
	r := loadRelease(t)
	t.Logf("release %s in %s", r.version, r.dir)
	want := r.expectedFiles()
	for _, name := range want {
		fi, err := os.Stat(r.path(name))
		switch {
		case err != nil:
			t.Errorf("missing %s: %v", name, err)
		case !fi.Mode().IsRegular():
			t.Errorf("%s is not a regular file", name)
		case fi.Size() == 0:
			t.Errorf("%s is empty", name)
		}
	}
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || slices.Contains(distIgnored, name) || slices.Contains(want, name) {
			continue
		}
		if releaseLike.MatchString(name) {
			t.Errorf("unexpected %s in dist/: a release ships only %v", name, want)
		}
	}
}

// checksums.sha256 covers every archive and package and its SBOM, every
// line holds, and sha256sum -c (what users run) agrees.
func TestDistChecksums(t *testing.T) {
	r := loadRelease(t)
	sums := readChecksumFile(t, r.path("checksums.sha256"))
	var covered []string
	for name := range r.archives {
		covered = append(covered, name, sbomName(name))
	}
	for name := range r.packages {
		covered = append(covered, name, sbomName(name))
	}
	for _, name := range covered {
		if _, ok := sums[name]; !ok {
			t.Errorf("checksums.sha256 does not cover %s", name)
		}
	}
	for name, sum := range sums {
		if _, err := os.Stat(r.path(name)); err != nil {
			t.Errorf("checksums.sha256 lists %s, which is not in dist/", name)
			continue
		}
		if got := fileSHA256(t, r.path(name)); got != sum {
			t.Errorf("%s: sha256 %s, checksums.sha256 says %s", name, got, sum)
		}
	}

	sha256sum, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Skip("no sha256sum on PATH for the `sha256sum -c` check")
	}
	out, err := runToolIn(t, r.dir, nil, sha256sum, "--check", "--strict", "checksums.sha256")
	if err != nil {
		t.Fatalf("sha256sum -c checksums.sha256: %v\n%s", err, out)
	}
	if n := strings.Count(out, ": OK\n"); n != len(sums) {
		t.Errorf("sha256sum -c checked %d files, want %d:\n%s", n, len(sums), out)
	}
}

// Each archive has its own <archive>.sha256 that sha256sum -c accepts and
// that agrees with checksums.sha256.
func TestDistArchiveChecksumFiles(t *testing.T) {
	r := loadRelease(t)
	all := readChecksumFile(t, r.path("checksums.sha256"))
	sha256sum, _ := exec.LookPath("sha256sum")
	for _, name := range slices.Sorted(maps.Keys(r.archives)) {
		t.Run(name, func(t *testing.T) {
			sums := readChecksumFile(t, r.path(name+".sha256"))
			if len(sums) != 1 || sums[name] == "" {
				t.Fatalf("%s.sha256 must hold one line for %s, holds %v", name, name, sums)
			}
			if got := fileSHA256(t, r.path(name)); sums[name] != got {
				t.Errorf("%s.sha256 says %s, the file's sha256 is %s", name, sums[name], got)
			}
			if all[name] != sums[name] {
				t.Errorf("%s.sha256 says %s, checksums.sha256 says %s", name, sums[name], all[name])
			}
			if sha256sum == "" {
				t.Skip("no sha256sum on PATH for the `sha256sum -c` check")
			}
			if out, err := runToolIn(t, r.dir, nil, sha256sum, "--check", "--strict", name+".sha256"); err != nil || out != name+": OK\n" {
				t.Errorf("sha256sum -c %s.sha256: %v\n%s", name, err, out)
			}
		})
	}
}

// cosignPublicKey returns the key the release is verified with: CCO_COSIGN_PUB
// (task release:verify sets it to a snapshot's throw-away key) or the
// project's packaging/cosign.pub.
func cosignPublicKey(t *testing.T, r *releaseUnderTest) string {
	t.Helper()
	key := os.Getenv("CCO_COSIGN_PUB")
	if key == "" {
		key = filepath.Join(r.repo, "packaging", "cosign.pub")
	}
	if _, err := os.Stat(key); err != nil {
		t.Fatalf("cosign public key: %v", err)
	}
	return key
}

// cosignBinary finds cosign on PATH or where task release:snapshot builds it.
func cosignBinary(t *testing.T, r *releaseUnderTest) string {
	t.Helper()
	if p, err := exec.LookPath("cosign"); err == nil {
		return p
	}
	p := filepath.Join(r.repo, "bin", "tools", "cosign")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no cosign on PATH or in bin/tools (go build -modfile=tools/go.mod -o bin/tools/ github.com/sigstore/cosign/v2/cmd/cosign): %v", err)
	}
	return p
}

// offlineEnv is an environment in which any HTTP(S) request a tool makes
// goes to a closed port on this machine, and its caches go to home.
func offlineEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "HOME", "TUF_ROOT", "SIGSTORE_ROOT_FILE":
			continue
		}
		env = append(env, kv)
	}
	const closed = "http://127.0.0.1:9"
	return append(env,
		"HTTPS_PROXY="+closed, "HTTP_PROXY="+closed, "https_proxy="+closed, "http_proxy="+closed,
		"NO_PROXY=", "no_proxy=", "HOME="+home)
}

// cosign verify-blob accepts checksums.sha256 with its signature and the
// public key, and rejects a changed copy. Sigstore's services are never
// reached: the transparency log is not consulted and the TUF fetch goes to
// a closed local port.
func TestDistSignatureCosign(t *testing.T) {
	r := loadRelease(t)
	cosign := cosignBinary(t, r)
	key := cosignPublicKey(t, r)
	verify := func(file string) (string, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, cosign, "verify-blob", "--key", key,
			"--signature", r.path("checksums.sha256.sig"), "--insecure-ignore-tlog=true", file)
		cmd.Env = offlineEnv(t.TempDir())
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := verify(r.path("checksums.sha256")); err != nil || !strings.Contains(out, "Verified OK") {
		t.Fatalf("cosign verify-blob checksums.sha256 with %s: %v\n%s", key, err, out)
	}

	changed := filepath.Join(t.TempDir(), "checksums.sha256")
	data, err := os.ReadFile(r.path("checksums.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	data[0] ^= 1 // one bit of the first hash
	if err := os.WriteFile(changed, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(changed); err == nil {
		t.Fatalf("cosign verify-blob accepted a changed checksums.sha256:\n%s", out)
	}
}

// The signature also verifies without cosign, as `cco update` and the
// installers check it: base64 of an ASN.1 ECDSA signature over the sha256
// of checksums.sha256, for the PEM public key.
func TestDistSignatureGo(t *testing.T) {
	r := loadRelease(t)
	keyPEM, err := os.ReadFile(cosignPublicKey(t, r))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("the cosign public key is not a PUBLIC KEY PEM block")
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := parsed.(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("the cosign public key is a %T, want ECDSA", parsed)
	}
	sigText, err := os.ReadFile(r.path("checksums.sha256.sig"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sigText)))
	if err != nil {
		t.Fatalf("checksums.sha256.sig is not base64: %v", err)
	}
	data, err := os.ReadFile(r.path("checksums.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(data)
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Fatal("the signature does not verify checksums.sha256")
	}
	changed := append(bytes.Clone(data), "0000000000000000000000000000000000000000000000000000000000000000  extra\n"...)
	digest = sha256.Sum256(changed)
	if ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Fatal("the signature also verifies a changed checksums.sha256")
	}
}

// archiveFile is one regular file read from an archive or package.
type archiveFile struct {
	mode os.FileMode
	data []byte
}

// readArchive returns the regular files of a .tar.gz or .zip by name; it
// fails on links, devices and names that are absolute or climb out.
func readArchive(t *testing.T, file string) map[string]archiveFile {
	t.Helper()
	files := map[string]archiveFile{}
	add := func(name string, mode os.FileMode, r io.Reader) {
		if name != path.Clean(name) || strings.HasPrefix(name, "/") || strings.HasPrefix(name, "../") {
			t.Errorf("%s: member name %q is not a clean relative path", filepath.Base(file), name)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%s: read %s: %v", filepath.Base(file), name, err)
		}
		if _, dup := files[name]; dup {
			t.Errorf("%s: %s appears twice", filepath.Base(file), name)
		}
		files[name] = archiveFile{mode: mode, data: data}
	}
	if strings.HasSuffix(file, ".zip") {
		zr, err := zip.OpenReader(file)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			if f.FileInfo().IsDir() {
				continue
			}
			if !f.Mode().IsRegular() {
				t.Errorf("%s: %s is not a regular file (%v)", filepath.Base(file), f.Name, f.Mode())
				continue
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			add(f.Name, f.Mode(), rc)
			rc.Close()
		}
		return files
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(file), err)
	}
	readTar(t, filepath.Base(file), tar.NewReader(gz), add)
	return files
}

// readTar hands every regular file of a tar stream to add and fails on
// anything that is neither a file nor a folder.
func readTar(t *testing.T, what string, tr *tar.Reader, add func(name string, mode os.FileMode, r io.Reader)) {
	t.Helper()
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
		case tar.TypeReg:
			add(h.Name, h.FileInfo().Mode(), tr)
		default:
			t.Errorf("%s: %s has tar type %q, want a file or a folder", what, h.Name, h.Typeflag)
		}
	}
}

// binaryName is the binary's name in the archive for goos.
func binaryName(goos string) string {
	if goos == "windows" {
		return "cco.exe"
	}
	return "cco"
}

// Each archive holds exactly the binary, README.md, LICENSE,
// THIRD_PARTY_LICENSES, the man page and the four completions, at the top
// (no wrapping folder).
func TestDistArchiveContents(t *testing.T) {
	r := loadRelease(t)
	for _, name := range slices.Sorted(maps.Keys(r.archives)) {
		p := r.archives[name]
		t.Run(name, func(t *testing.T) {
			files := readArchive(t, r.path(name))
			want := append([]string{binaryName(p.goos)}, archiveMembers...)
			var got []string
			for n := range files {
				got = append(got, n)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("holds %q, want exactly %q", got, want)
			}
			for _, n := range archiveMembers {
				if len(files[n].data) == 0 {
					t.Errorf("%s is empty", n)
				}
			}
			if p.goos != "windows" && files["cco"].mode.Perm()&0o111 != 0o111 {
				t.Errorf("cco has mode %v, want it executable by everyone", files["cco"].mode)
			}
			if !bytes.Contains(files["man/cco.1"].data, []byte(".TH cco 1")) {
				t.Errorf("man/cco.1 is not a roff man page for cco(1)")
			}
		})
	}
}

// checkBinaryHeaders checks that data is an executable for goos/goarch by
// its headers, and for Linux that it is statically linked.
func checkBinaryHeaders(t *testing.T, data []byte, goos, goarch string) {
	t.Helper()
	rd := bytes.NewReader(data)
	switch goos {
	case "linux":
		f, err := elf.NewFile(rd)
		if err != nil {
			t.Fatalf("not an ELF file: %v", err)
		}
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[goarch]
		if f.Machine != want || f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB {
			t.Errorf("ELF %v %v %v, want %v 64-bit little-endian", f.Machine, f.Class, f.Data, want)
		}
		if f.Type != elf.ET_EXEC {
			t.Errorf("ELF type %v, want %v", f.Type, elf.ET_EXEC)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("has a %v program header: not statically linked", p.Type)
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Errorf("needs shared libraries %v", libs)
		}
	case "darwin":
		f, err := macho.NewFile(rd)
		if err != nil {
			t.Fatalf("not a (thin) Mach-O file: %v", err)
		}
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[goarch]
		if f.Cpu != want || f.Type != macho.TypeExec {
			t.Errorf("Mach-O %v %v, want %v executable", f.Cpu, f.Type, want)
		}
	case "windows":
		f, err := pe.NewFile(rd)
		if err != nil {
			t.Fatalf("not a PE file: %v", err)
		}
		if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 || f.Characteristics&pe.IMAGE_FILE_EXECUTABLE_IMAGE == 0 {
			t.Errorf("PE machine %#x characteristics %#x, want an AMD64 executable", f.Machine, f.Characteristics)
		}
		oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
		if !ok || oh.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_CUI {
			t.Errorf("want a 64-bit console program, optional header %T", f.OptionalHeader)
		}
	default:
		t.Fatalf("no header check for %s", goos)
	}
}

// debFile returns one file from a .deb's data archive: a .deb is an ar
// archive whose data.tar.gz holds the files as ./usr/bin/cco and so on.
func debFile(t *testing.T, debPath, name string) archiveFile {
	t.Helper()
	data, err := os.ReadFile(debPath)
	if err != nil {
		t.Fatal(err)
	}
	const magic = "!<arch>\n"
	if !bytes.HasPrefix(data, []byte(magic)) {
		t.Fatalf("%s is not an ar archive", filepath.Base(debPath))
	}
	for rest := data[len(magic):]; len(rest) >= 60; {
		member := strings.TrimSuffix(strings.TrimSpace(string(rest[:16])), "/")
		size, err := strconv.Atoi(strings.TrimSpace(string(rest[48:58])))
		if err != nil || size < 0 || 60+size > len(rest) {
			t.Fatalf("%s: bad ar header for %q", filepath.Base(debPath), member)
		}
		body := rest[60 : 60+size]
		rest = rest[60+size+size%2:]
		if !strings.HasPrefix(member, "data.tar") {
			continue
		}
		if member != "data.tar.gz" {
			t.Fatalf("%s: %s: only gzip is read here", filepath.Base(debPath), member)
		}
		gz, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var found *archiveFile
		readTar(t, filepath.Base(debPath), tar.NewReader(gz), func(n string, mode os.FileMode, r io.Reader) {
			if path.Clean("/"+n) != name {
				return
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			found = &archiveFile{mode: mode, data: b}
		})
		if found == nil {
			t.Fatalf("%s has no %s", filepath.Base(debPath), name)
		}
		return *found
	}
	t.Fatalf("%s has no data.tar member", filepath.Base(debPath))
	return archiveFile{}
}

// Every binary is for its OS and architecture, read from its headers: the
// archives' and the .debs'.
func TestDistBinaryHeaders(t *testing.T) {
	r := loadRelease(t)
	for _, name := range slices.Sorted(maps.Keys(r.archives)) {
		p := r.archives[name]
		t.Run(name, func(t *testing.T) {
			bin := binaryName(p.goos)
			checkBinaryHeaders(t, readArchive(t, r.path(name))[bin].data, p.goos, p.goarch)
		})
	}
	for _, arch := range slices.Sorted(maps.Keys(distPackageArches)) {
		goarch := distPackageArches[arch]
		name := r.pkg("deb", arch)
		t.Run(name, func(t *testing.T) {
			f := debFile(t, r.path(name), "/usr/bin/cco")
			if f.mode.Perm() != 0o755 {
				t.Errorf("/usr/bin/cco has mode %v, want 0755", f.mode.Perm())
			}
			checkBinaryHeaders(t, f.data, "linux", goarch)
		})
	}
}

// versionJSON runs `cco version --json` with the binary in data and returns
// what it printed, decoded.
func versionJSON(t *testing.T, data []byte) map[string]any {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cco")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	out, err := runToolIn(t, home, []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "XDG_DATA_HOME=" + home, "XDG_CACHE_HOME=" + home}, bin, "version", "--json")
	if err != nil {
		t.Fatalf("cco version --json: %v\n%s", err, out)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("cco version --json printed %q: %v", out, err)
	}
	return v
}

// The linux-x86_64 binary runs and says it is this release and managed by
// nobody; the one in the amd64 .deb says it is managed by deb/rpm.
func TestDistBinaryVersion(t *testing.T) {
	r := loadRelease(t)
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("the binaries can only run on linux/amd64, this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	t.Run("archive", func(t *testing.T) {
		v := versionJSON(t, readArchive(t, r.path(r.archive("linux", "amd64")))["cco"].data)
		if v["version"] != r.version || v["os"] != "linux" || v["arch"] != "amd64" {
			t.Errorf("cco version --json = %v, want version %s on linux/amd64", v, r.version)
		}
		if mb, ok := v["managed_by"]; ok {
			t.Errorf("the archive's binary says managed_by %v, want none", mb)
		}
		if c, _ := v["commit"].(string); !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(c) {
			t.Errorf("commit %q, want a full git hash", c)
		}
	})
	t.Run("deb", func(t *testing.T) {
		v := versionJSON(t, debFile(t, r.path(r.pkg("deb", "amd64")), "/usr/bin/cco").data)
		if v["version"] != r.version || v["managed_by"] != "deb/rpm" {
			t.Errorf("cco version --json = %v, want version %s managed_by deb/rpm", v, r.version)
		}
	})
}

// nonEmptyLines splits command output into trimmed, non-empty lines.
func nonEmptyLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}
