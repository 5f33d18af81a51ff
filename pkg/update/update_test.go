package update

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/fakegithub"
	"github.com/visiquate/cco/pkg/version"
)

func TestEmbeddedKeyIsTheReleaseKey(t *testing.T) {
	pkg, err := os.ReadFile(filepath.Join("..", "..", "packaging", "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pkg, releaseKeyPEM) {
		t.Fatal("pkg/update/cosign.pub differs from packaging/cosign.pub: copy the release key here")
	}
	if _, err := ParsePublicKey(releaseKeyPEM); err != nil {
		t.Fatal(err)
	}
}

func TestAssetName(t *testing.T) {
	for _, tt := range []struct{ goos, goarch, want string }{
		{"darwin", "arm64", "cco-v2025.11.2-darwin-arm64.tar.gz"},
		{"darwin", "amd64", "cco-v2025.11.2-darwin-x86_64.tar.gz"},
		{"linux", "amd64", "cco-v2025.11.2-linux-x86_64.tar.gz"},
		{"linux", "arm64", "cco-v2025.11.2-linux-aarch64.tar.gz"},
		{"windows", "amd64", "cco-v2025.11.2-windows-x86_64.zip"},
	} {
		got, err := AssetName("2025.11.2", tt.goos, tt.goarch)
		if err != nil || got != tt.want {
			t.Errorf("AssetName(%s/%s) = %q, %v; want %q", tt.goos, tt.goarch, got, err, tt.want)
		}
	}
	if _, err := AssetName("2025.11.2", "windows", "arm64"); err == nil {
		t.Error("windows/arm64 has no release build, but AssetName gave a name")
	}
}

// testKey is an ECDSA P-256 key as cosign makes them.
type testKey struct{ priv *ecdsa.PrivateKey }

func newTestKey(t *testing.T) testKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{k}
}

func (k testKey) base64() string {
	der, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// sign makes a cosign-style .sig: base64 of an ASN.1 signature over SHA-256.
func (k testKey) sign(data []byte) []byte {
	d := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, d[:])
	if err != nil {
		panic(err)
	}
	return []byte(base64.StdEncoding.EncodeToString(sig) + "\n")
}

func sums(files map[string][]byte) []byte {
	var b strings.Builder
	for name, data := range files {
		fmt.Fprintf(&b, "%x  %s\n", sha256.Sum256(data), name)
	}
	return []byte(b.String())
}

func TestValidatorChain(t *testing.T) {
	key := newTestKey(t)
	pub, err := ParsePublicKey([]byte(key.base64()))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ParsePublicKey([]byte(newTestKey(t).base64()))
	const name = "cco-v2025.11.2-linux-x86_64.tar.gz"
	archive := []byte("the archive")
	checksums := append([]byte("not a checksum line\n"), sums(map[string][]byte{name: archive, "other.zip": []byte("x")})...)
	sig := key.sign(checksums)

	v := newValidator(pub)
	if got := v.GetValidationAssetName(name); got != ChecksumsName {
		t.Errorf("archive is validated by %q, want %s", got, ChecksumsName)
	}
	if got := v.GetValidationAssetName(ChecksumsName); got != SignatureName {
		t.Errorf("checksums are validated by %q, want %s", got, SignatureName)
	}
	if err := v.Validate(name, archive, checksums); err != nil {
		t.Errorf("genuine archive: %v", err)
	}
	if err := v.Validate(ChecksumsName, checksums, sig); err != nil {
		t.Errorf("genuine signature: %v", err)
	}
	for _, tt := range []struct {
		what          string
		file          string
		data, against []byte
		v             interface {
			Validate(string, []byte, []byte) error
		}
	}{
		{"changed archive", name, []byte("the archivE"), checksums, v},
		{"archive not listed", "cco-v2025.11.2-darwin-arm64.tar.gz", archive, checksums, v},
		{"changed checksums", ChecksumsName, bytes.Replace(checksums, []byte("not"), []byte("NOT"), 1), sig, v},
		{"signature by another key", ChecksumsName, checksums, sig, newValidator(other)},
		{"signature not base64", ChecksumsName, checksums, []byte("%%%"), v},
		{"empty signature", ChecksumsName, checksums, nil, v},
	} {
		err := tt.v.Validate(tt.file, tt.data, tt.against)
		if !errors.Is(err, ErrVerification) {
			t.Errorf("%s: got %v, want a verification failure", tt.what, err)
		}
	}
}

func TestParsePublicKey(t *testing.T) {
	if _, err := ParsePublicKey([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")); err == nil {
		t.Error("a CERTIFICATE block was taken for a public key")
	}
	if _, err := ParsePublicKey([]byte("not a key")); err == nil {
		t.Error("garbage was taken for a public key")
	}
}

func TestDetect(t *testing.T) {
	dpkgOwns := func(p string) bool { return p == "/usr/bin/cco" }
	dpkgNone := func(string) bool { return false }
	has := func() bool { return true }
	hasNot := func() bool { return false }
	home := t.TempDir()
	none := func(string) string { return "" }
	gobin := func(k string) string {
		if k == "GOBIN" {
			return "/opt/gobin"
		}
		return ""
	}
	for _, tt := range []struct {
		name string
		d    Detector
		exe  string
		want Method
	}{
		{"manual", Detector{GOOS: "linux", Getenv: none, Home: home, DpkgOwns: dpkgNone, DpkgHasCCO: hasNot, RPMOwns: func(string) bool { return false }}, filepath.Join(home, ".local/bin/cco"), Manual},
		{"homebrew arm", Detector{GOOS: "darwin", Getenv: none}, "/opt/homebrew/Cellar/cco/2025.11.2/bin/cco", Homebrew},
		{"linuxbrew", Detector{GOOS: "linux", Getenv: none, DpkgOwns: dpkgNone, RPMOwns: func(string) bool { return false }}, "/home/linuxbrew/.linuxbrew/Cellar/cco/2025.11.2/bin/cco", Homebrew},
		{"scoop", Detector{GOOS: "windows", Getenv: none}, `C:\Users\me\scoop\apps\cco\current\cco.exe`, Scoop},
		{"winget", Detector{GOOS: "windows", Getenv: none}, `C:\Users\me\AppData\Local\Microsoft\WinGet\Packages\visiquate.cco_Microsoft.Winget.Source_8wekyb3d8bbwe\cco.exe`, Winget},
		{"another winget package", Detector{GOOS: "windows", Getenv: none}, `C:\Users\me\AppData\Local\Microsoft\WinGet\Packages\other.tool_x\cco.exe`, Manual},
		{"dpkg owns", Detector{GOOS: "linux", Getenv: none, DpkgOwns: dpkgOwns, RPMOwns: func(string) bool { return false }}, "/usr/bin/cco", Deb},
		{"dpkg owns, merged usr", Detector{GOOS: "linux", Getenv: none, DpkgOwns: dpkgOwns, RPMOwns: func(string) bool { return false }}, "/bin/cco", Deb},
		{"rpm owns", Detector{GOOS: "linux", Getenv: none, DpkgOwns: dpkgNone, RPMOwns: func(p string) bool { return p == "/usr/bin/cco" }}, "/usr/bin/cco", RPM},
		{"package build, no package db", Detector{GOOS: "linux", Getenv: none, ManagedBy: "deb/rpm", DpkgOwns: dpkgNone, DpkgHasCCO: hasNot, RPMOwns: func(string) bool { return false }}, "/opt/cco", Package},
		{"package build, dpkg knows cco", Detector{GOOS: "linux", Getenv: none, ManagedBy: "deb/rpm", DpkgOwns: dpkgNone, DpkgHasCCO: has, RPMOwns: func(string) bool { return false }}, "/opt/cco", Deb},
		{"go install, GOPATH default", Detector{GOOS: "linux", Getenv: none, Home: home, DpkgOwns: dpkgNone, RPMOwns: func(string) bool { return false }}, filepath.Join(home, "go", "bin", "cco"), GoBuild},
		{"go install, GOBIN", Detector{GOOS: "darwin", Getenv: gobin}, "/opt/gobin/cco", GoBuild},
	} {
		if got := tt.d.Detect(tt.exe); got != tt.want {
			t.Errorf("%s: Detect(%s) = %s, want %s", tt.name, tt.exe, got, tt.want)
		}
	}
	d := Detector{Arch: "amd64", Etc: t.TempDir()}
	for m, want := range map[Method]string{
		Homebrew: "brew upgrade cco",
		Scoop:    "scoop update cco",
		Winget:   "winget upgrade visiquate.cco",
		Deb:      "sudo apt install ./cco_2025.11.2_amd64.deb",
		RPM:      "sudo dnf install ./cco-2025.11.2-1.x86_64.rpm",
		GoBuild:  "go install github.com/visiquate/cco/cmd/cco@main",
	} {
		if got := d.Hint(m, "2025.11.2"); !strings.HasPrefix(got, want) {
			t.Errorf("Hint(%s) = %q, want it to start with %q", m, got, want)
		}
	}
}

// A system that added cco's apt or dnf repository as the README says gets
// its package manager's upgrade; one that names it only in a comment, or
// names another repository, is told to download the package.
func TestHintRepository(t *testing.T) {
	for _, tt := range []struct {
		name, file, text string
		m                Method
		want             string
	}{
		{"apt deb822", "apt/sources.list.d/cco.sources", "Types: deb\nURIs: https://visiquate.github.io/cco/apt\nSuites: stable\n", Deb, "sudo apt update && sudo apt upgrade cco"},
		{"apt, the README's file", "apt/sources.list.d/cco.sources", "URIs: http://127.0.0.1:8080/apt\n", Deb, "sudo apt update && sudo apt upgrade cco"},
		{"apt one-line", "apt/sources.list.d/visiquate.list", "deb [signed-by=/etc/apt/keyrings/cco.asc] https://visiquate.github.io/cco/apt beta main\n", Deb, "sudo apt update && sudo apt upgrade cco"},
		{"apt commented out", "apt/sources.list.d/other.sources", "# URIs: https://visiquate.github.io/cco/apt\n", Deb, "sudo apt install ./cco_2025.11.2_amd64.deb"},
		{"apt another repository", "apt/sources.list", "deb http://deb.example/debian stable main\n", Deb, "sudo apt install ./cco_2025.11.2_amd64.deb"},
		{"dnf", "yum.repos.d/cco.repo", "[cco]\nbaseurl=https://visiquate.github.io/cco/rpm/stable\n", RPM, "sudo dnf upgrade cco"},
		{"dnf, another name", "yum.repos.d/tools.repo", "[cco]\nbaseurl=https://visiquate.github.io/cco/rpm/stable\n", RPM, "sudo dnf upgrade cco"},
		{"dnf beta", "yum.repos.d/cco-beta.repo", "[cco-beta]\nbaseurl=https://visiquate.github.io/cco/rpm/beta\n", RPM, "sudo dnf upgrade cco"},
		{"dnf, apt's file", "apt/sources.list.d/cco.sources", "URIs: https://visiquate.github.io/cco/apt\n", RPM, "sudo dnf install ./cco-2025.11.2-1.x86_64.rpm"},
	} {
		etc := t.TempDir()
		path := filepath.Join(etc, tt.file)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := (Detector{Arch: "amd64", Etc: etc}).Hint(tt.m, "2025.11.2"); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: Hint = %q, want it to start with %q", tt.name, got, tt.want)
		}
	}
}

// The .rpm's name follows rpm's name-version-release.arch convention,
// with GitHub's . for the ~ of a prerelease (.goreleaser.yaml names it so).
func TestRPMName(t *testing.T) {
	for _, c := range []struct{ v, goarch, want string }{
		{"2025.11.2", "amd64", "cco-2025.11.2-1.x86_64.rpm"},
		{"2025.11.2", "arm64", "cco-2025.11.2-1.aarch64.rpm"},
		{"2025.12.1-beta.1", "amd64", "cco-2025.12.1.beta.1-1.x86_64.rpm"},
		{"2025.12.1-rc-2", "arm64", "cco-2025.12.1.rc_2-1.aarch64.rpm"},
	} {
		if got := rpmName(c.v, c.goarch); got != c.want {
			t.Errorf("rpmName(%s, %s) = %s, want %s", c.v, c.goarch, got, c.want)
		}
	}
}

// releases serves a list of releases with the assets Check looks for.
func fakeRelease(tag string, pre bool, goos, goarch string) fakegithub.Release {
	v := strings.TrimPrefix(tag, "v")
	name, _ := AssetName(v, goos, goarch)
	return fakegithub.Release{Tag: tag, Prerelease: pre, Assets: map[string][]byte{
		name: []byte("archive " + v), ChecksumsName: []byte("sums"), SignatureName: []byte("sig"),
		"cco_" + v + "_amd64.deb": []byte("deb"),
	}}
}

func newTestUpdater(t *testing.T, gh *fakegithub.GitHub, current string, env map[string]string) *Updater {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "cco")
	if err := os.WriteFile(exe, []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	u, err := New(Config{
		Info:       version.Info{Version: current, UpdateKey: newTestKey(t).base64()},
		APIURL:     gh.URL,
		Getenv:     func(k string) string { return env[k] },
		Executable: exe,
		LockDir:    t.TempDir(),
		GOOS:       "linux", GOARCH: "arm64",
		Detector: Detector{Home: t.TempDir(), DpkgOwns: func(string) bool { return false }, DpkgHasCCO: func() bool { return false }, RPMOwns: func(string) bool { return false }},
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCheckChoosesByChannelAndNeverDowngrades(t *testing.T) {
	gh := fakegithub.NewGitHub(t,
		fakeRelease("v2025.12.1-beta.1", true, "linux", "arm64"),
		fakeRelease("v2025.11.2", false, "linux", "arm64"),
		fakeRelease("v2025.11.1", false, "linux", "arm64"),
		// A prerelease tag without GitHub's flag is still not stable.
		fakeRelease("v2025.12.2-rc.1", false, "linux", "arm64"),
	)
	ctx := context.Background()
	for _, tt := range []struct {
		current, channel, version string
		force                     bool
		latest                    string
		available, downgrade      bool
	}{
		{"2025.11.1", Stable, "", false, "2025.11.2", true, false},
		{"2025.11.1", Beta, "", false, "2025.12.2-rc.1", true, false},
		{"2025.11.2", Stable, "", false, "2025.11.2", false, false},
		{"2025.12.1-beta.1", Stable, "", false, "2025.11.2", false, true},
		{"2026.1.1", Beta, "", false, "2025.12.2-rc.1", false, true},
		{"2025.11.2", Stable, "2025.11.1", false, "2025.11.1", false, true},
		{"2025.11.2", Stable, "2025.11.1", true, "2025.11.1", true, true},
		{"2025.11.1", Stable, "2025.12.1-beta.1", false, "2025.12.1-beta.1", true, false},
		{"2025.11.2", Stable, "", true, "2025.11.2", true, false},
		{"dev", Stable, "", false, "2025.11.2", false, false},
		{"dev", Stable, "", true, "2025.11.2", true, false},
	} {
		name := fmt.Sprintf("%s on %s version=%q force=%v", tt.current, tt.channel, tt.version, tt.force)
		u := newTestUpdater(t, gh, tt.current, nil)
		plan, err := u.Check(ctx, Request{Channel: tt.channel, Version: tt.version, Force: tt.force})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if plan.Latest != tt.latest || plan.Available != tt.available || plan.Downgrade != tt.downgrade {
			t.Errorf("%s: latest %q available %v downgrade %v; want %q %v %v (%s)", name,
				plan.Latest, plan.Available, plan.Downgrade, tt.latest, tt.available, tt.downgrade, plan.Action)
		}
		if tt.latest != "" && plan.Asset != "cco-v"+tt.latest+"-linux-aarch64.tar.gz" {
			t.Errorf("%s: asset %q", name, plan.Asset)
		}
	}
	u := newTestUpdater(t, gh, "2025.11.1", nil)
	if _, err := u.Check(ctx, Request{Version: "2024.1.1"}); err == nil {
		t.Error("a version with no release was not an error")
	}
}

func TestCheckRefusesUnverifiableReleases(t *testing.T) {
	for _, missing := range []string{ChecksumsName, SignatureName} {
		rel := fakeRelease("v2025.11.2", false, "linux", "arm64")
		delete(rel.Assets, missing)
		gh := fakegithub.NewGitHub(t, rel)
		_, err := newTestUpdater(t, gh, "2025.11.1", nil).Check(context.Background(), Request{})
		if !errors.Is(err, ErrVerification) || !strings.Contains(err.Error(), missing) {
			t.Errorf("release without %s: got %v", missing, err)
		}
	}
}

func TestCheckNamesExactly(t *testing.T) {
	// An asset that go-selfupdate's own matching would take (arm64 for
	// aarch64, another prefix) is not a release archive.
	gh := fakegithub.NewGitHub(t, fakegithub.Release{Tag: "v2025.11.2", Assets: map[string][]byte{
		"cco-v2025.11.2-linux-arm64.tar.gz": []byte("x"), "tool-v2025.11.2-linux-aarch64.tar.gz": []byte("x"),
		ChecksumsName: []byte("s"), SignatureName: []byte("s"),
	}})
	plan, err := newTestUpdater(t, gh, "2025.11.1", nil).Check(context.Background(), Request{})
	if err != nil || plan.Available || plan.Latest != "" {
		t.Fatalf("got %+v, %v; want no update found", plan, err)
	}
}

func TestTokenGoesOnlyWhereItBelongs(t *testing.T) {
	gh := fakegithub.NewGitHub(t, fakeRelease("v2025.11.2", false, "linux", "arm64"))
	ctx := context.Background()
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GITHUB_TOKEN": "ghp_meant_for_github"}, ""},
		{map[string]string{"GITHUB_TOKEN": "ghp_meant_for_github", "CCO_GITHUB_TOKEN": "mirror-token"}, "Bearer mirror-token"},
	} {
		gh.Reset()
		if _, err := newTestUpdater(t, gh, "2025.11.1", tt.env).Check(ctx, Request{}); err != nil {
			t.Fatal(err)
		}
		for _, h := range gh.RequestHeaders() {
			if got := h.Get("Authorization"); got != tt.want {
				t.Errorf("env %v: Authorization %q, want %q", tt.env, got, tt.want)
			}
		}
	}
	onlyGitHubToken := func(k string) string {
		if k == "GITHUB_TOKEN" {
			return "gh"
		}
		return ""
	}
	if got := tokenFor(DefaultAPIURL, onlyGitHubToken); got != "gh" {
		t.Errorf("GitHub's own API does not get GITHUB_TOKEN: %q", got)
	}
}

func TestCheckCached(t *testing.T) {
	gh := fakegithub.NewGitHub(t, fakeRelease("v2025.11.2", false, "linux", "arm64"))
	u := newTestUpdater(t, gh, "2025.11.1", nil)
	state := filepath.Join(t.TempDir(), "cache", "update-check.json")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ctx := context.Background()
	st, fresh, err := u.CheckCached(ctx, Request{}, state, 24*time.Hour, now)
	if err != nil || !fresh || !st.Available || st.Latest != "2025.11.2" {
		t.Fatalf("first check: %+v fresh=%v %v", st, fresh, err)
	}
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}
	asked := len(gh.Requests())
	st, fresh, err = u.CheckCached(ctx, Request{}, state, 24*time.Hour, now.Add(23*time.Hour))
	if err != nil || fresh || !st.Available || len(gh.Requests()) != asked {
		t.Fatalf("within a day: fresh=%v requests %d -> %d, %v", fresh, asked, len(gh.Requests()), err)
	}
	if _, fresh, _ = u.CheckCached(ctx, Request{Channel: Beta}, state, 24*time.Hour, now.Add(time.Hour)); !fresh {
		t.Error("another channel used the stable answer")
	}
	if _, fresh, _ = u.CheckCached(ctx, Request{}, state, 24*time.Hour, now.Add(25*time.Hour)); !fresh {
		t.Error("a day-old answer was used")
	}
}

func TestUpdateLock(t *testing.T) {
	gh := fakegithub.NewGitHub(t, fakeRelease("v2025.11.2", false, "linux", "arm64"))
	u := newTestUpdater(t, gh, "2025.11.1", nil)
	unlock, err := u.lock()
	if err != nil {
		t.Fatal(err)
	}
	before := len(gh.Requests())
	if _, _, err := u.Update(context.Background(), Request{}, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("update while the lock is held: %v, want ErrBusy", err)
	}
	if _, err := u.Rollback(context.Background(), nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("rollback while the lock is held: %v, want ErrBusy", err)
	}
	if len(gh.Requests()) != before {
		t.Fatal("a refused update still asked GitHub")
	}
	unlock()
	// Released, the next one gets past the lock (and finds nothing
	// verifiable to install in this fake release).
	if _, _, err := u.Update(context.Background(), Request{}, nil); errors.Is(err, ErrBusy) {
		t.Fatal("the lock was not released")
	}
}
