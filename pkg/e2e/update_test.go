package e2e

// The tests of `cco update` run real cco binaries: an "old" one, installed
// into a temporary folder, updates itself from releases built here the way
// the release pipeline builds them (archives with the published names,
// checksums.sha256, a real cosign signature), served by the fake GitHub.
// Every binary trusts a throw-away cosign key instead of the release key.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/fakegithub"
)

const (
	oldVersion   = "2025.11.1"
	newVersion   = "2025.11.2"
	betaVersion  = "2025.12.1-beta.1"
	laterVersion = "2026.1.1"
)

// updateWorld holds what every update test shares: the key, the builds and
// the releases made from them.
type updateWorld struct {
	key      *fakegithub.CosignKey
	bins     map[string]string  // version -> binary trusting key
	packaged string             // oldVersion built as the .deb/.rpm builds are
	stable   fakegithub.Release // newVersion
	beta     fakegithub.Release // betaVersion, a prerelease
}

// TestUpdate builds the binaries and releases once and runs every update
// scenario against them.
func TestUpdate(t *testing.T) {
	w := buildWorld(t)
	for _, s := range []struct {
		name string
		run  func(*testing.T, *updateWorld)
	}{
		{"UpdateAppliesAndRollsBack", testUpdateAppliesAndRollsBack},
		{"UpdateRollbackWithoutPrevious", testUpdateRollbackWithoutPrevious},
		{"UpdateRefusesUnverifiedReleases", testUpdateRefusesUnverifiedReleases},
		{"UpdateChannels", testUpdateChannels},
		{"UpdateLeavesPackageManagedInstallsAlone", testUpdateLeavesPackageManagedInstallsAlone},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"BackgroundUpdateCheck", testBackgroundUpdateCheck},
		{"BackgroundAutoInstall", testBackgroundAutoInstall},
		{"UpdatePutsTheOldBinaryBackWhenTheNewOneFails", testUpdatePutsTheOldBinaryBackWhenTheNewOneFails},
		{"UpdateRestartsRunningInstances", testUpdateRestartsRunningInstances},
		{"UpdateOnATerminal", testUpdateOnATerminal},
	} {
		t.Run(s.name, func(t *testing.T) { s.run(t, w) })
	}
}

func buildWorld(t *testing.T) *updateWorld {
	t.Helper()
	w := &updateWorld{bins: map[string]string{}, key: fakegithub.NewCosignKey(t)}
	dir := t.TempDir()
	builds := map[string]ccoproc.BuildOptions{
		oldVersion: {Version: oldVersion}, newVersion: {Version: newVersion},
		betaVersion: {Version: betaVersion}, laterVersion: {Version: laterVersion},
		"packaged": {Version: oldVersion, ManagedBy: "deb/rpm"},
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs error
	)
	for name, o := range builds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.UpdateKey = w.key.PublicBase64()
			bin, err := ccoproc.BuildCCOWith(filepath.Join(dir, name), o)
			mu.Lock()
			defer mu.Unlock()
			errs = errors.Join(errs, err)
			if name == "packaged" {
				w.packaged = bin
			} else {
				w.bins[name] = bin
			}
		}()
	}
	wg.Wait()
	if errs != nil {
		t.Fatal(errs)
	}
	w.stable = fakegithub.BuildRelease(t, fakegithub.ReleaseOptions{Version: newVersion, Key: w.key, Binary: w.bins[newVersion]})
	w.beta = fakegithub.BuildRelease(t, fakegithub.ReleaseOptions{Version: betaVersion, Prerelease: true, Key: w.key, Binary: w.bins[betaVersion]})
	return w
}

// clone copies a release so a test can change its assets.
func clone(r fakegithub.Release) fakegithub.Release {
	c := r
	c.Assets = make(map[string][]byte, len(r.Assets))
	for k, v := range r.Assets {
		c.Assets[k] = bytes.Clone(v)
	}
	return c
}

func archiveName(v string) string { return fakegithub.ArchiveName(v, runtime.GOOS, runtime.GOARCH) }

// install copies bin to dir/cco (a new temporary dir when dir is empty)
// and returns its path.
func install(t *testing.T, bin, dir string) string {
	t.Helper()
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "bin")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, filepath.Base(bin))
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}

// result is one finished cco command.
type result struct {
	stdout, stderr string
	code           int
}

// ccoCmd runs exe with args in home, pointed at gh.
func ccoCmd(t *testing.T, gh *fakegithub.GitHub, home, exe string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME=", "XDG_DATA_HOME=", "XDG_CACHE_HOME=",
		"USERPROFILE="+home, "APPDATA="+filepath.Join(home, "AppData", "Roaming"), "LOCALAPPDATA="+filepath.Join(home, "AppData", "Local"),
		"CCO_GITHUB_API_URL="+gh.URL, "CCO_UPDATE_REPO=", "CCO_UPDATES_CHANNEL=", "GITHUB_TOKEN=", "CCO_GITHUB_TOKEN=", "GOBIN=", "GOPATH=")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s %v: %v", exe, args, err)
		}
		code = ee.ExitCode()
	}
	return result{out.String(), errb.String(), code}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// assertSame fails unless the file at path has want's bytes.
func assertSame(t *testing.T, path, want, what string) {
	t.Helper()
	if !bytes.Equal(fileBytes(t, path), fileBytes(t, want)) {
		t.Fatalf("%s: %s is not byte-identical to %s", what, path, want)
	}
}

func versionOf(t *testing.T, exe string) string {
	t.Helper()
	out, err := exec.Command(exe, "version", "--json").Output()
	if err != nil {
		t.Fatalf("%s version --json: %v", exe, err)
	}
	var v struct{ Version string }
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v.Version
}

func testUpdateAppliesAndRollsBack(t *testing.T, w *updateWorld) {
	gh := fakegithub.NewGitHub(t, w.stable)
	home := t.TempDir()
	exe := install(t, w.bins[oldVersion], "")

	// --check says what would happen and changes nothing.
	r := ccoCmd(t, gh, home, exe, nil, "update", "--check")
	if r.code != 0 || !strings.Contains(r.stdout, "newest:  "+newVersion) || !strings.Contains(r.stdout, "replace "+exe) {
		t.Fatalf("update --check:\n%s", r)
	}
	r = ccoCmd(t, gh, home, exe, nil, "update", "--check", "--json")
	var plan struct {
		Current, Channel, Latest, Asset, Action string
		Available                               bool   `json:"update_available"`
		Method                                  string `json:"install_method"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil || r.code != 0 {
		t.Fatalf("update --check --json: %v\n%s", err, r)
	}
	if plan.Current != oldVersion || plan.Latest != newVersion || !plan.Available || plan.Channel != "stable" ||
		plan.Method != "manual" || plan.Asset != archiveName(newVersion) {
		t.Fatalf("update --check --json: %+v", plan)
	}
	assertSame(t, exe, w.bins[oldVersion], "after --check")
	if _, err := os.Stat(previousOf(exe)); err == nil {
		t.Fatal("--check left a previous binary behind")
	}

	// Without a terminal and without --yes it does not install.
	r = ccoCmd(t, gh, home, exe, nil, "update")
	if r.code != 2 || !strings.Contains(r.stderr, "--yes") {
		t.Fatalf("update without --yes and without a terminal:\n%s", r)
	}
	assertSame(t, exe, w.bins[oldVersion], "after an unconfirmed update")

	r = ccoCmd(t, gh, home, exe, nil, "update", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, oldVersion+" -> "+newVersion) {
		t.Fatalf("update --yes:\n%s", r)
	}
	if got := versionOf(t, exe); got != newVersion {
		t.Fatalf("after the update the binary reports %s, want %s", got, newVersion)
	}
	assertSame(t, exe, w.bins[newVersion], "after the update")
	prev := previousOf(exe)
	assertSame(t, prev, w.bins[oldVersion], "the kept previous binary")
	if fi, _ := os.Stat(exe); fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("the new binary is not executable: %v", fi.Mode())
	}

	// Now up to date: nothing to do.
	r = ccoCmd(t, gh, home, exe, nil, "update", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "nothing") {
		t.Fatalf("update when up to date:\n%s", r)
	}
	assertSame(t, exe, w.bins[newVersion], "after an update with nothing to do")

	r = ccoCmd(t, gh, home, exe, nil, "update", "--rollback", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, newVersion+" -> "+oldVersion) {
		t.Fatalf("update --rollback:\n%s", r)
	}
	assertSame(t, exe, w.bins[oldVersion], "after --rollback")
	assertSame(t, prev, w.bins[newVersion], "the binary --rollback replaced")
	// Rolling back again undoes the rollback.
	if r = ccoCmd(t, gh, home, exe, nil, "update", "--rollback", "--yes"); r.code != 0 {
		t.Fatalf("second --rollback:\n%s", r)
	}
	assertSame(t, exe, w.bins[newVersion], "after a second --rollback")
}

func testUpdateRollbackWithoutPrevious(t *testing.T, w *updateWorld) {
	gh := fakegithub.NewGitHub(t, w.stable)
	exe := install(t, w.bins[oldVersion], "")
	r := ccoCmd(t, gh, t.TempDir(), exe, nil, "update", "--rollback", "--yes")
	if r.code != 1 || !strings.Contains(r.stderr, "no previous binary") {
		t.Fatalf("--rollback with nothing to roll back to:\n%s", r)
	}
	assertSame(t, exe, w.bins[oldVersion], "after a refused rollback")
}

// Each broken release is refused before anything is touched.
func testUpdateRefusesUnverifiedReleases(t *testing.T, w *updateWorld) {
	archive := archiveName(newVersion)
	other := fakegithub.NewCosignKey(t)
	for _, tt := range []struct {
		name   string
		change func(r *fakegithub.Release, gh *fakegithub.GitHub)
		want   string
	}{
		{"tampered archive", func(r *fakegithub.Release, _ *fakegithub.GitHub) {
			r.Assets[archive][len(r.Assets[archive])/2] ^= 0xff
		}, "SHA-256"},
		{"archive and checksums changed, signature not", func(r *fakegithub.Release, _ *fakegithub.GitHub) {
			r.Assets[archive] = append(r.Assets[archive], 0)
			r.Assets["checksums.sha256"] = fakegithub.ChecksumsFile(r.Assets)
		}, "signature"},
		{"signed with another key", func(r *fakegithub.Release, _ *fakegithub.GitHub) {
			r.Assets["checksums.sha256.sig"] = other.SignBlob(t, r.Assets["checksums.sha256"])
		}, "signature"},
		{"no checksums file", func(r *fakegithub.Release, _ *fakegithub.GitHub) {
			delete(r.Assets, "checksums.sha256")
		}, "checksums.sha256"},
		{"no signature", func(r *fakegithub.Release, _ *fakegithub.GitHub) {
			delete(r.Assets, "checksums.sha256.sig")
		}, "checksums.sha256.sig"},
		{"download cut off halfway", func(_ *fakegithub.Release, gh *fakegithub.GitHub) {
			gh.SetFault(archive, fakegithub.FaultCutHalfway)
		}, "download"},
		{"checksums file not downloadable", func(_ *fakegithub.Release, gh *fakegithub.GitHub) {
			gh.SetFault("checksums.sha256", fakegithub.FaultNotFound)
		}, "404"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rel := clone(w.stable)
			gh := fakegithub.NewGitHub(t)
			tt.change(&rel, gh)
			gh.SetReleases(rel)
			exe := install(t, w.bins[oldVersion], "")
			r := ccoCmd(t, gh, t.TempDir(), exe, nil, "update", "--yes")
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("want exit 1 naming %q:\n%s", tt.want, r)
			}
			t.Logf("refused: %s", r.stderr)
			assertSame(t, exe, w.bins[oldVersion], "after a refused update")
			entries, _ := os.ReadDir(filepath.Dir(exe))
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Fatalf("a refused update left files behind: %v", names)
			}
		})
	}
}

func testUpdateChannels(t *testing.T, w *updateWorld) {
	gh := fakegithub.NewGitHub(t, w.beta, w.stable)
	home := t.TempDir()

	exe := install(t, w.bins[oldVersion], "")
	if r := ccoCmd(t, gh, home, exe, nil, "update", "--yes"); r.code != 0 {
		t.Fatalf("stable update:\n%s", r)
	}
	if got := versionOf(t, exe); got != newVersion {
		t.Fatalf("the stable channel installed %s, want %s", got, newVersion)
	}

	exe = install(t, w.bins[oldVersion], "")
	if r := ccoCmd(t, gh, home, exe, nil, "update", "--yes", "--channel", "beta"); r.code != 0 {
		t.Fatalf("beta update:\n%s", r)
	}
	if got := versionOf(t, exe); got != betaVersion {
		t.Fatalf("the beta channel installed %s, want %s", got, betaVersion)
	}
	// The persisted channel comes from the config (env here).
	exe = install(t, w.bins[oldVersion], "")
	r := ccoCmd(t, gh, home, exe, []string{"CCO_UPDATES_CHANNEL=beta"}, "update", "--check", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"latest": "`+betaVersion+`"`) {
		t.Fatalf("updates.channel=beta:\n%s", r)
	}

	// A beta build on the stable channel is not "updated" to an older stable.
	exe = install(t, w.bins[betaVersion], "")
	r = ccoCmd(t, gh, home, exe, nil, "update", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "newer than") {
		t.Fatalf("beta build on stable:\n%s", r)
	}
	assertSame(t, exe, w.bins[betaVersion], "a beta build on the stable channel")

	// Nor a build newer than every release, on either channel.
	exe = install(t, w.bins[laterVersion], "")
	for _, ch := range []string{"stable", "beta"} {
		r = ccoCmd(t, gh, home, exe, nil, "update", "--yes", "--channel", ch)
		if r.code != 0 || !strings.Contains(r.stdout, "newer than") {
			t.Fatalf("newer build on %s:\n%s", ch, r)
		}
	}
	assertSame(t, exe, w.bins[laterVersion], "a newer build")

	// --force --version downgrades on purpose.
	r = ccoCmd(t, gh, home, exe, nil, "update", "--yes", "--force", "--version", newVersion)
	if r.code != 0 || versionOf(t, exe) != newVersion {
		t.Fatalf("--force --version %s:\n%s", newVersion, r)
	}
}

func testUpdateLeavesPackageManagedInstallsAlone(t *testing.T, w *updateWorld) {
	gh := fakegithub.NewGitHub(t, w.stable)
	root := t.TempDir()
	for _, tt := range []struct {
		name, bin, dir string
		env            []string
		hint           string
	}{
		{"deb/rpm build", w.packaged, filepath.Join(root, "usr", "bin"), nil, "package"},
		{"homebrew", w.bins[oldVersion], filepath.Join(root, "Cellar", "cco", oldVersion, "bin"), nil, "brew upgrade cco"},
		{"go install", w.bins[oldVersion], filepath.Join(root, "go", "bin"), []string{"GOPATH=" + filepath.Join(root, "go")}, "go install github.com/visiquate/cco/cmd/cco@"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			exe := install(t, tt.bin, tt.dir)
			r := ccoCmd(t, gh, t.TempDir(), exe, tt.env, "update", "--yes")
			if r.code != 1 || !strings.Contains(r.stderr, tt.hint) {
				t.Fatalf("want exit 1 with %q:\n%s", tt.hint, r)
			}
			assertSame(t, exe, tt.bin, "a package-managed binary")
			r = ccoCmd(t, gh, t.TempDir(), exe, tt.env, "update", "--check", "--json")
			if r.code != 0 || !strings.Contains(r.stdout, tt.hint) {
				t.Fatalf("--check for a package-managed install:\n%s", r)
			}
		})
	}
}

// A new binary that does not run is replaced by the old one again.
func testUpdatePutsTheOldBinaryBackWhenTheNewOneFails(t *testing.T, w *updateWorld) {
	if runtime.GOOS == "windows" {
		t.Skip("the broken binary is a shell script")
	}
	broken := filepath.Join(t.TempDir(), "cco")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\necho 'cannot start' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rel := fakegithub.BuildRelease(t, fakegithub.ReleaseOptions{Version: newVersion, Key: w.key, Binary: broken})
	gh := fakegithub.NewGitHub(t, rel)
	exe := install(t, w.bins[oldVersion], "")
	r := ccoCmd(t, gh, t.TempDir(), exe, nil, "update", "--yes")
	if r.code != 1 || !strings.Contains(r.stderr, "put back") {
		t.Fatalf("update to a binary that does not run:\n%s", r)
	}
	assertSame(t, exe, w.bins[oldVersion], "after the failed new binary")
}

// Two updates at once: one installs, the other waits its turn or finds
// nothing to do; the result is the new binary, whole.
func testConcurrentUpdates(t *testing.T, w *updateWorld) {
	gh := fakegithub.NewGitHub(t, w.stable)
	for round := 0; round < 3; round++ {
		home := t.TempDir()
		exe := install(t, w.bins[oldVersion], "")
		results := make([]result, 2)
		var wg sync.WaitGroup
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = ccoCmd(t, gh, home, exe, nil, "update", "--yes")
			}()
		}
		wg.Wait()
		applied := 0
		for _, r := range results {
			switch {
			case r.code == 0 && strings.Contains(r.stdout, "->"):
				applied++
			case r.code == 0 && strings.Contains(r.stdout, "nothing"):
			case r.code == 1 && strings.Contains(r.stderr, "another cco update is running"):
			default:
				t.Fatalf("round %d: unexpected outcome:\n%s", round, r)
			}
		}
		if applied != 1 {
			t.Fatalf("round %d: %d updates applied, want 1:\n%s\n%s", round, applied, results[0], results[1])
		}
		assertSame(t, exe, w.bins[newVersion], "after two concurrent updates")
		assertSame(t, previousOf(exe), w.bins[oldVersion], "the previous binary after two concurrent updates")
	}
}

// After an update, running instances are named and restarted through their
// service manager, or the exact command to restart them is printed.
func testUpdateRestartsRunningInstances(t *testing.T, w *updateWorld) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake systemctl is a shell script")
	}
	gh := fakegithub.NewGitHub(t, w.stable)
	exe := install(t, w.bins[oldVersion], "")
	fakeBin := t.TempDir()
	record := filepath.Join(fakeBin, "systemctl.args")
	script := "#!/bin/sh\necho \"$@\" >> '" + record + "'\n"
	if err := os.WriteFile(filepath.Join(fakeBin, "systemctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	byHand := ccoproc.StartCCO(t, exe, nil, "--log-level", "warn")
	// A second instance in the same HOME, run by a (fake) systemd user unit.
	service := exec.Command(exe, "run", "--port", "0", "--no-browser")
	service.Env = append(byHand.Cmd.Env, "CCO_SERVICE=systemd-user:cco.service")
	stdout, _ := service.StdoutPipe()
	if err := service.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { service.Process.Kill(); service.Wait() })
	line := make([]byte, 200)
	if _, err := stdout.Read(line); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, stdout)

	r := ccoCmd(t, gh, byHand.Home, exe, []string{"PATH=" + fakeBin + string(os.PathListSeparator) + os.Getenv("PATH")}, "update", "--yes")
	if r.code != 0 {
		t.Fatalf("update with running instances:\n%s", r)
	}
	port := strings.TrimPrefix(byHand.URL, "http://127.0.0.1:")
	want := fmt.Sprintf("(pid %d) ran %s and still does; restart it with: cco shutdown --port %s && cco run --port %s --log-level warn --no-browser",
		byHand.Cmd.Process.Pid, oldVersion, port, port)
	if !strings.Contains(r.stdout, want) {
		t.Errorf("the instance started by hand: want %q in\n%s", want, r.stdout)
	}
	if !strings.Contains(r.stdout, fmt.Sprintf("(pid %d) ran %s: restarted with `systemctl --user restart cco.service`", service.Process.Pid, oldVersion)) {
		t.Errorf("the service instance was not restarted through systemd:\n%s", r.stdout)
	}
	if got, _ := os.ReadFile(record); string(got) != "--user restart cco.service\n" {
		t.Errorf("systemctl ran with %q", got)
	}
}

// health reads an instance's /health.
func health(t *testing.T, in *ccoproc.Instance) map[string]any {
	t.Helper()
	resp, err := http.Get(in.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// waitUpdate polls /health until the background check has an outcome.
func waitUpdate(t *testing.T, in *ccoproc.Instance) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		h := health(t, in)
		if u, ok := h["update"].(map[string]any); ok {
			if _, done := u["checked_at"]; done {
				return h
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the background update check reported nothing in 30 s")
	return nil
}

func countListings(gh *fakegithub.GitHub) int {
	n := 0
	for _, r := range gh.Requests() {
		if strings.Contains(r, "/releases?") || strings.HasSuffix(r, "/releases") {
			n++
		}
	}
	return n
}

func testBackgroundUpdateCheck(t *testing.T, w *updateWorld) {
	gh := fakegithub.NewGitHub(t, w.stable)
	exe := install(t, w.bins[oldVersion], "")
	env := []string{"CCO_NO_UPDATE_CHECK=", "CCO_GITHUB_API_URL=" + gh.URL}

	in := ccoproc.StartCCO(t, exe, env)
	h := waitUpdate(t, in)
	u := h["update"].(map[string]any)
	if h["update_available"] != true || u["latest"] != newVersion || u["command"] != "cco update" {
		t.Fatalf("/health after the check: %v", h)
	}
	if countListings(gh) != 1 {
		t.Fatalf("GitHub was asked %d times, want 1: %v", countListings(gh), gh.Requests())
	}
	state := filepath.Join(in.Home, ".cache", "cco", "update-check.json")
	if runtime.GOOS == "windows" {
		state = filepath.Join(in.Home, "AppData", "Local", "cco", "cache", "update-check.json")
	}
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("no state file: %v", err)
	}
	in.Stop()
	assertSame(t, exe, w.bins[oldVersion], "the binary after a check without auto_install")

	// A restart within the day answers from the state file.
	again := startIn(t, exe, in.Home, env)
	h = waitUpdate(t, again)
	if h["update_available"] != true || countListings(gh) != 1 {
		t.Fatalf("second start: /health %v, GitHub asked %d times", h, countListings(gh))
	}
	again.Stop()

	// Off by environment, and off by config: no request, nothing in
	// /health. Each starts beside an instance whose check is on (its own
	// fake GitHub), so "no request yet" is read only after a check had
	// the time to run.
	for _, offEnv := range [][]string{
		{"CCO_NO_UPDATE_CHECK=1", "CCO_GITHUB_API_URL=" + gh.URL},
		append(env, "CCO_UPDATES_ENABLED=false"),
	} {
		gh.Reset()
		other := fakegithub.NewGitHub(t, w.stable)
		off := ccoproc.StartCCO(t, exe, offEnv)
		on := ccoproc.StartCCO(t, exe, []string{"CCO_NO_UPDATE_CHECK=", "CCO_GITHUB_API_URL=" + other.URL})
		waitUpdate(t, on)
		if h := health(t, off); h["update_available"] != false || h["update"] != nil || len(gh.Requests()) != 0 {
			t.Fatalf("%v: /health %v, requests %v", offEnv, h, gh.Requests())
		}
	}
}

func testBackgroundAutoInstall(t *testing.T, w *updateWorld) {
	gh := fakegithub.NewGitHub(t, w.stable)
	exe := install(t, w.bins[oldVersion], "")
	in := ccoproc.StartCCO(t, exe, []string{"CCO_NO_UPDATE_CHECK=", "CCO_GITHUB_API_URL=" + gh.URL, "CCO_UPDATES_AUTO_INSTALL=true"})
	h := waitUpdate(t, in)
	if u := h["update"].(map[string]any); u["installed"] != true {
		t.Fatalf("auto_install: /health %v", h)
	}
	assertSame(t, exe, w.bins[newVersion], "the binary after auto_install")
	if h := health(t, in); h["version"] != oldVersion {
		t.Fatalf("the running instance changed version by itself: %v", h["version"])
	}

	// A package-managed install is never replaced, even with auto_install.
	pkgExe := install(t, w.packaged, filepath.Join(t.TempDir(), "usr", "bin"))
	in = ccoproc.StartCCO(t, pkgExe, []string{"CCO_NO_UPDATE_CHECK=", "CCO_GITHUB_API_URL=" + gh.URL, "CCO_UPDATES_AUTO_INSTALL=true"})
	h = waitUpdate(t, in)
	if u := h["update"].(map[string]any); h["update_available"] != true || u["installed"] == true {
		t.Fatalf("auto_install on a package build: /health %v", h)
	}
	assertSame(t, pkgExe, w.packaged, "a package build with auto_install")
}

// startIn starts exe in an existing HOME.
func startIn(t *testing.T, exe, home string, env []string) *ccoproc.Instance {
	t.Helper()
	return ccoproc.StartCCO(t, exe, append([]string{"HOME=" + home, "USERPROFILE=" + home,
		"APPDATA=" + filepath.Join(home, "AppData", "Roaming"), "LOCALAPPDATA=" + filepath.Join(home, "AppData", "Local")}, env...))
}

// On a terminal cco update asks first and shows a progress bar; with
// --json it does neither. util-linux's script(1) provides the terminal.
func testUpdateOnATerminal(t *testing.T, w *updateWorld) {
	if runtime.GOOS != "linux" {
		t.Skip("the terminal comes from util-linux's script(1)")
	}
	script, err := exec.LookPath("script")
	if err != nil {
		t.Fatalf("no script(1) to run cco on a terminal: %v", err)
	}
	gh := fakegithub.NewGitHub(t, w.stable)
	home := t.TempDir()
	exe := install(t, w.bins[oldVersion], "")
	onTerminal := func(answer string, args ...string) (string, int) {
		t.Helper()
		line := "'" + exe + "'"
		for _, a := range args {
			line += " " + a
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, script, "--quiet", "--return", "--command", line, "/dev/null")
		cmd.Env = append(os.Environ(), "SHELL=/bin/sh", "TERM=xterm", "HOME="+home, "XDG_CONFIG_HOME=", "XDG_DATA_HOME=",
			"XDG_CACHE_HOME=", "CCO_GITHUB_API_URL="+gh.URL, "CCO_UPDATE_REPO=", "CCO_UPDATES_CHANNEL=", "GITHUB_TOKEN=")
		cmd.Stdin = strings.NewReader(answer)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("script: %v", err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}

	out, code := onTerminal("n\n", "update")
	if code != 1 || !strings.Contains(out, "Update cco "+oldVersion+" to "+newVersion) || !strings.Contains(out, "cancelled") {
		t.Fatalf("answering no: exit %d\n%s", code, out)
	}
	assertSame(t, exe, w.bins[oldVersion], "after answering no")

	out, code = onTerminal("y\n", "update")
	if code != 0 || !strings.Contains(out, "downloading "+archiveName(newVersion)) || !strings.Contains(out, "100%") {
		t.Fatalf("answering yes: exit %d, want the question and a progress bar\n%s", code, out)
	}
	assertSame(t, exe, w.bins[newVersion], "after answering yes")

	out, code = onTerminal("", "update", "--rollback", "--yes", "--json")
	if code != 0 || strings.Contains(out, "[y/N]") || !strings.Contains(out, `"to": "`+oldVersion+`"`) {
		t.Fatalf("--rollback --yes --json: exit %d\n%s", code, out)
	}
	out, code = onTerminal("", "update", "--yes", "--json")
	if code != 0 || strings.Contains(out, "downloading") || !strings.Contains(out, `"to": "`+newVersion+`"`) {
		t.Fatalf("--yes --json on a terminal: exit %d, want no progress bar\n%s", code, out)
	}
}

// previousOf is where an update keeps the binary it replaced: .cco.old
// (.cco.exe.old on Windows) beside it.
func previousOf(exe string) string {
	return filepath.Join(filepath.Dir(exe), "."+filepath.Base(exe)+".old")
}
