package release

// `cco update` against the archives the release pipeline produced: an old
// cco, built here to trust the key dist/ was signed with, installs the
// pipeline's archive for this machine through the fake GitHub, and refuses
// it once one byte of it changes.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/fakegithub"
	"github.com/visiquate/cco/pkg/version"
)

func TestUpdateFromDist(t *testing.T) {
	r := loadRelease(t)
	archive := r.archive(runtime.GOOS, runtime.GOARCH)
	if archive == "" {
		t.Fatalf("dist/ has no archive for %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	block, _ := pem.Decode(mustRead(t, cosignPublicKey(t, r)))
	if block == nil {
		t.Fatal("the cosign public key is not PEM")
	}
	old, err := ccoproc.BuildCCOWith(t.TempDir(), ccoproc.BuildOptions{
		Version: "2025.1.1", UpdateKey: base64.StdEncoding.EncodeToString(block.Bytes),
	})
	if err != nil {
		t.Fatal(err)
	}
	rel, err := fakegithub.ReleaseFromDir("v"+r.version, strings.Contains(r.version, "-"), r.dir)
	if err != nil {
		t.Fatal(err)
	}

	update := func(t *testing.T, rel fakegithub.Release) (string, []byte, error) {
		gh := fakegithub.NewGitHub(t, rel)
		dir := filepath.Join(t.TempDir(), "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		exe := filepath.Join(dir, filepath.Base(old))
		if err := os.WriteFile(exe, mustRead(t, old), 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := runUpdateTo(t, exe, gh, r.version)
		return exe, out, err
	}

	t.Run("genuine", func(t *testing.T) {
		exe, out, err := update(t, rel)
		if err != nil {
			t.Fatalf("cco update from dist/: %v\n%s", err, out)
		}
		got, err := exec.Command(exe, "version", "--json").Output()
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ Version string }
		if err := json.Unmarshal(got, &v); err != nil || v.Version != r.version {
			t.Fatalf("after the update: %s (%v), want version %s", got, err, r.version)
		}
		if !bytes.Equal(mustRead(t, exe), archivedBinary(t, r, archive)) {
			t.Fatal("the installed binary is not the one in the pipeline's archive")
		}
	})
	t.Run("tampered", func(t *testing.T) {
		bad := rel
		bad.Assets = make(map[string][]byte, len(rel.Assets))
		for k, v := range rel.Assets {
			bad.Assets[k] = v
		}
		changed := bytes.Clone(rel.Assets[archive])
		changed[len(changed)-100] ^= 1
		bad.Assets[archive] = changed
		exe, out, err := update(t, bad)
		if err == nil || !strings.Contains(string(out), "verification failed") {
			t.Fatalf("a tampered pipeline archive was not refused: %v\n%s", err, out)
		}
		if !bytes.Equal(mustRead(t, exe), mustRead(t, old)) {
			t.Fatal("a refused update changed the installed binary")
		}
	})
}

// runUpdateTo runs `cco update` of the binary exe to version v through the
// fake GitHub, in a home of its own. A snapshot's version sorts below any
// calendar version, so it asks for v by name and allows the "downgrade".
func runUpdateTo(t *testing.T, exe string, gh *fakegithub.GitHub, v string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "update", "--yes", "--force", "--version", v)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME=", "XDG_DATA_HOME=", "XDG_CACHE_HOME=",
		"CCO_GITHUB_API_URL="+gh.URL, "CCO_UPDATE_REPO=", "GITHUB_TOKEN=", "CCO_GITHUB_TOKEN=")
	return cmd.CombinedOutput()
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// archivedBinary is cco as the pipeline packed it into archive.
func archivedBinary(t *testing.T, r *releaseUnderTest, archive string) []byte {
	t.Helper()
	name := "cco"
	if runtime.GOOS == "windows" {
		name = "cco.exe"
	}
	f, ok := readArchive(t, r.path(archive))[name]
	if !ok {
		t.Fatalf("%s holds no %s", archive, name)
	}
	return f.data
}

// Every version the pipeline stamps, snapshots included, is a calendar
// version cco itself accepts (a snapshot of a commit whose short hash is
// all digits with a leading zero once was not).
func TestDistVersionIsCalendar(t *testing.T) {
	r := loadRelease(t)
	if _, err := version.Parse(r.version); err != nil {
		t.Fatalf("dist/ is version %q, which cco cannot parse: %v", r.version, err)
	}
}
