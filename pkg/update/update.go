// Package update is `cco update`: it finds the newest eligible release of
// cco on GitHub, proves it genuine (the archive's SHA-256 must match
// checksums.sha256, and that file's cosign signature must verify against
// the public key built into cco), swaps it in, runs it, and puts the old
// binary back if the new one does not run. It keeps the previous binary for
// --rollback, refuses to touch installs a package manager owns, and holds a
// lock so that two updates never interleave.
//
// go-selfupdate lives only here. cco uses its release selection, validator
// chain, archive extraction and swap, and supplies its own GitHub source
// (see source.go) and its own version rules: the library's UpdateSelf would
// downgrade a newer or beta build.
//
// On Windows a running executable cannot be deleted or overwritten, but it
// can be renamed: the swap renames cco.exe aside to .cco.exe.old and moves
// the new one into its place; the old file stays, hidden, as the previous
// binary.
//
// Check is split in two: Updater.Check does the asking (GitHub, the
// installed binary, package databases) and the pure function decide (in
// decide.go) makes the judgement from what was found, table-tested on its
// own. A Request is validated in one place, Request.Validate, which Check,
// CheckCached and `cco update`'s flags all go through.
//
// Of cco's packages it imports only pkg/version; besides the standard
// library, go-selfupdate and gofrs/flock. Its tests also import
// pkg/fakegithub (the fake GitHub).
package update

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/creativeprojects/go-selfupdate"
	selfupdateapply "github.com/creativeprojects/go-selfupdate/update"
	"github.com/gofrs/flock"

	"github.com/visiquate/cco/pkg/version"
)

// DefaultRepo is where releases come from.
const DefaultRepo = "visiquate/cco"

// Channels.
const (
	Stable = "stable"
	Beta   = "beta"
)

// Errors callers tell apart.
var (
	// ErrBusy: another update holds the lock.
	ErrBusy = errors.New("another cco update is running; try again when it has finished")
	// ErrDeclined: the user said no.
	ErrDeclined = errors.New("update cancelled; nothing was changed")
)

// ManagedError refuses to replace a binary a package manager owns.
type ManagedError struct {
	Method Method
	Hint   string
}

func (e *ManagedError) Error() string {
	return fmt.Sprintf("cco was installed with %s, which owns the binary; update it with: %s", e.Method.describe(), e.Hint)
}

func (m Method) describe() string {
	switch m {
	case Homebrew:
		return "Homebrew"
	case Scoop:
		return "Scoop"
	case Winget:
		return "winget"
	case Deb:
		return "a .deb package (dpkg)"
	case RPM:
		return "an .rpm package"
	case Package:
		return "a system package"
	case GoBuild:
		return "go install"
	}
	return "a release archive"
}

// Config is what an Updater needs from the outside world.
type Config struct {
	// Info describes the running binary.
	Info version.Info
	// Repo is owner/name on GitHub; empty means DefaultRepo.
	Repo string
	// APIURL is GitHub's API base URL; empty means DefaultAPIURL.
	APIURL string
	// Getenv reads the environment (tokens; go install paths).
	Getenv func(string) string
	// HTTP makes every request; nil means a client with a 10-minute timeout.
	HTTP *http.Client
	// Executable is the installed binary to replace; empty means the running one.
	Executable string
	// LockDir holds update.lock.
	LockDir string
	// GOOS and GOARCH name the platform whose archive to install; empty means the running one's.
	GOOS, GOARCH string
	// Detector finds the install method; its GOOS/Arch/ManagedBy are filled in when empty.
	Detector Detector
	// Progress, when set, wraps the archive's download (size is -1 when unknown).
	Progress func(name string, size int64, r io.Reader) io.Reader
}

// Updater checks for and applies updates.
type Updater struct {
	cfg     Config
	key     *ecdsa.PublicKey
	exe     string // resolved path of the installed binary
	running string // path the running process was started from, unresolved
	owner   string
	repo    string
}

// New makes an Updater, resolving the binary to replace and the key that
// signatures must verify against (Info.UpdateKey when a test build set
// it, else the release key built in).
func New(cfg Config) (*Updater, error) {
	if cfg.Repo == "" {
		cfg.Repo = DefaultRepo
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 10 * time.Minute}
	}
	if cfg.GOOS == "" {
		cfg.GOOS = runtime.GOOS
	}
	if cfg.GOARCH == "" {
		cfg.GOARCH = runtime.GOARCH
	}
	d := &cfg.Detector
	if d.GOOS == "" {
		d.GOOS = cfg.GOOS
	}
	if d.Arch == "" {
		d.Arch = cfg.GOARCH
	}
	if d.ManagedBy == "" {
		d.ManagedBy = cfg.Info.ManagedBy
	}
	if d.Getenv == nil {
		d.Getenv = cfg.Getenv
	}
	owner, repo, ok := strings.Cut(cfg.Repo, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("update repository %q: want OWNER/NAME", cfg.Repo)
	}
	keyData := releaseKeyPEM
	if cfg.Info.UpdateKey != "" {
		keyData = []byte(cfg.Info.UpdateKey)
	}
	key, err := ParsePublicKey(keyData)
	if err != nil {
		return nil, err
	}
	u := &Updater{cfg: cfg, key: key, owner: owner, repo: repo}
	u.running, _ = os.Executable()
	exe := cfg.Executable
	if exe == "" {
		exe = u.running
	}
	if exe == "" {
		return nil, errors.New("cannot tell where the cco binary is")
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	u.exe, err = filepath.Abs(exe)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Executable is the installed binary the Updater replaces.
func (u *Updater) Executable() string { return u.exe }

// PreviousPath is where the binary an update replaced is kept, next to
// the installed one (a hidden file, so it is not a command on PATH).
func (u *Updater) PreviousPath() string {
	return filepath.Join(filepath.Dir(u.exe), "."+filepath.Base(u.exe)+".old")
}

// Plan is what an update would do.
type Plan struct {
	Current    string `json:"current"`
	Channel    string `json:"channel"`
	Latest     string `json:"latest,omitempty"`
	Available  bool   `json:"update_available"`
	Downgrade  bool   `json:"downgrade,omitempty"`
	Method     Method `json:"install_method"`
	Executable string `json:"executable"`
	Asset      string `json:"asset,omitempty"`
	ReleaseURL string `json:"release_url,omitempty"`
	// Action says in a sentence what `cco update` would do.
	Action string `json:"action"`
	// Command is what to run instead, for installs a package manager owns.
	Command string `json:"command,omitempty"`

	rel *selfupdate.Release
	up  *selfupdate.Updater // found rel; downloads, verifies and swaps it in
}

// Check finds the release a Request selects and says what an update
// would do. It changes nothing. The asking is here (GitHub, the installed
// binary, package databases); the judgement is decide's.
func (u *Updater) Check(ctx context.Context, req Request) (*Plan, error) {
	want, req, err := req.parse()
	if err != nil {
		return nil, err
	}
	suffix, err := platformSuffix(u.cfg.GOOS, u.cfg.GOARCH)
	if err != nil {
		return nil, err
	}
	up, err := selfupdate.NewUpdater(selfupdate.Config{
		Source:      u.source(req.Channel == Beta || req.Version != ""),
		Validator:   newValidator(u.key),
		Filters:     []string{`^cco-v[0-9][^/]*` + regexp.QuoteMeta(suffix) + `$`},
		OS:          u.cfg.GOOS,
		Arch:        u.cfg.GOARCH,
		Prerelease:  req.Channel == Beta,
		OldSavePath: u.PreviousPath(),
	})
	if err != nil {
		return nil, err
	}
	method := u.cfg.Detector.Detect(u.exe)
	s := situation{
		req: req, want: want,
		current: u.currentVersion(ctx), exe: u.exe, method: method,
		fromRepo: u.cfg.Detector.FromRepository(method),
		repo:     u.cfg.Repo, goos: u.cfg.GOOS, goarch: u.cfg.GOARCH,
	}
	repo := selfupdate.NewRepositorySlug(u.owner, u.repo)
	var rel *selfupdate.Release
	if req.Version != "" {
		rel, s.found, err = up.DetectVersion(ctx, repo, want.Tag())
	} else {
		rel, s.found, err = up.DetectLatest(ctx, repo)
	}
	if err != nil {
		if errors.Is(err, selfupdate.ErrValidationAssetNotFound) {
			return nil, verifyErrorf("the release lacks a file it must have (%v), so it cannot be verified", err)
		}
		return nil, fmt.Errorf("look for releases of %s: %w", u.cfg.Repo, err)
	}
	if s.found {
		s.latest, s.asset, s.releaseURL = rel.Version(), rel.AssetName, rel.URL
	}
	plan, err := decide(s)
	if plan != nil && plan.Latest != "" {
		plan.rel, plan.up = rel, up
	}
	return plan, err
}

// currentVersion is the version of the installed binary: the running one's,
// unless the file on disk is no longer the running process (an update ran
// since it started), then the file's own answer.
func (u *Updater) currentVersion(ctx context.Context) string {
	cur := u.cfg.Info.Version
	if u.running == "" {
		return cur
	}
	a, err1 := os.Stat(u.running)
	b, err2 := os.Stat(u.exe)
	if err1 == nil && err2 == nil && os.SameFile(a, b) {
		return cur
	}
	if v, err := RunVersion(ctx, u.exe); err == nil {
		return v
	}
	return cur
}

func (u *Updater) source(prerelease bool) *githubSource {
	return &githubSource{
		api:        u.cfg.APIURL,
		owner:      u.owner,
		repo:       u.repo,
		token:      tokenFor(u.cfg.APIURL, u.cfg.Getenv),
		client:     u.cfg.HTTP,
		prerelease: prerelease,
		progress:   u.cfg.Progress,
		userAgent:  "cco/" + u.cfg.Info.Version,
	}
}

// Result is what an applied update or rollback did.
type Result struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Path     string `json:"path"`
	Previous string `json:"previous"` // where the replaced binary is kept
}

// Update checks, asks confirm (when the update would do something), and
// applies the update, all under the update lock. It returns the plan and,
// when something was installed, the result. A verification failure leaves
// the installed binary as it was.
func (u *Updater) Update(ctx context.Context, req Request, confirm func(*Plan) bool) (*Plan, *Result, error) {
	unlock, err := u.lock()
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	plan, err := u.Check(ctx, req)
	if err != nil || !plan.Available {
		return plan, nil, err
	}
	if plan.Method.Managed() {
		return plan, nil, &ManagedError{Method: plan.Method, Hint: plan.Command}
	}
	if confirm != nil && !confirm(plan) {
		return plan, nil, ErrDeclined
	}
	if err := checkWritable(filepath.Dir(u.exe)); err != nil {
		return plan, nil, err
	}
	if err := plan.up.UpdateTo(ctx, plan.rel, u.exe); err != nil {
		if rerr := selfupdateapply.RollbackError(err); rerr != nil {
			return plan, nil, fmt.Errorf("update failed and putting the old binary back failed too; the old binary is %s: %v (%v)", u.PreviousPath(), err, rerr)
		}
		var ve *verifyError
		if errors.As(err, &ve) {
			return plan, nil, fmt.Errorf("refusing cco %s, %w; nothing was replaced", plan.Latest, ve)
		}
		return plan, nil, fmt.Errorf("update to %s: %w; nothing was replaced", plan.Latest, err)
	}
	got, err := RunVersion(ctx, u.exe)
	if err == nil && got != plan.Latest {
		err = fmt.Errorf("it reports version %s, want %s", got, plan.Latest)
	}
	if err != nil {
		if rerr := u.restorePrevious(); rerr != nil {
			return plan, nil, fmt.Errorf("the new binary does not run (%v), and putting the old one back failed: %v; the old binary is %s", err, rerr, u.PreviousPath())
		}
		return plan, nil, fmt.Errorf("the new binary does not run (%v); the previous cco %s was put back", err, plan.Current)
	}
	return plan, &Result{From: plan.Current, To: got, Path: u.exe, Previous: u.PreviousPath()}, nil
}

// restorePrevious puts the kept binary back in place of a failed new one.
func (u *Updater) restorePrevious() error {
	if runtime.GOOS == "windows" {
		_ = os.Remove(u.exe)
	}
	return os.Rename(u.PreviousPath(), u.exe)
}

// Rollback swaps the installed binary with the one the last update
// replaced, after checking that one runs; rolling back twice returns to
// where it started.
func (u *Updater) Rollback(ctx context.Context, confirm func(from, to string) bool) (*Result, error) {
	unlock, err := u.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if m := u.cfg.Detector.Detect(u.exe); m.Managed() {
		return nil, &ManagedError{Method: m, Hint: u.cfg.Detector.Hint(m, "")}
	}
	prev := u.PreviousPath()
	if _, err := os.Stat(prev); err != nil {
		return nil, fmt.Errorf("no previous binary to roll back to (an update keeps it at %s)", prev)
	}
	to, err := RunVersion(ctx, prev)
	if err != nil {
		return nil, fmt.Errorf("the previous binary %s does not run, so it is left alone: %w", prev, err)
	}
	from := u.currentVersion(ctx)
	if confirm != nil && !confirm(from, to) {
		return nil, ErrDeclined
	}
	tmp := filepath.Join(filepath.Dir(u.exe), "."+filepath.Base(u.exe)+".rollback")
	_ = os.Remove(tmp)
	if err := os.Rename(u.exe, tmp); err != nil {
		return nil, fmt.Errorf("roll back: %w", err)
	}
	if err := os.Rename(prev, u.exe); err != nil {
		if rerr := os.Rename(tmp, u.exe); rerr != nil {
			return nil, fmt.Errorf("roll back: %v; restoring failed too, the binary is at %s: %v", err, tmp, rerr)
		}
		return nil, fmt.Errorf("roll back: %w", err)
	}
	if err := os.Rename(tmp, prev); err != nil {
		return nil, fmt.Errorf("rolled back, but keeping the replaced binary failed (it is at %s): %w", tmp, err)
	}
	return &Result{From: from, To: to, Path: u.exe, Previous: prev}, nil
}

// lock takes the update lock without waiting.
func (u *Updater) lock() (func(), error) {
	dir := u.cfg.LockDir
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("update lock: %w", err)
	}
	fl := flock.New(filepath.Join(dir, "update.lock"), flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("update lock %s: %w", fl.Path(), err)
	}
	if !ok {
		return nil, ErrBusy
	}
	return func() { _ = fl.Unlock() }, nil
}

// checkWritable fails early, with a useful message, when the binary's
// folder cannot be written (a system-wide install run without privileges).
func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".cco-write-test-*")
	if err != nil {
		return fmt.Errorf("cannot write to %s, where cco is installed (%v); nothing was replaced; run the update as the user who installed cco", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// RunVersion runs `exe version --json` and returns the version it reports.
func RunVersion(ctx context.Context, exe string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "version", "--json")
	cmd.Env = append(os.Environ(), "CCO_NO_UPDATE_CHECK=1")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return "", fmt.Errorf("%s version: %w: %s", exe, err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("%s version: %w", exe, err)
	}
	var info struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(out, &info); err != nil || info.Version == "" {
		return "", fmt.Errorf("%s version --json printed no version: %q", exe, strings.TrimSpace(string(out)))
	}
	return info.Version, nil
}

// AssetName is the archive a release publishes for a platform, as the
// release pipeline names it: cco-v2025.11.2-linux-x86_64.tar.gz.
func AssetName(ver, goos, goarch string) (string, error) {
	var plat string
	switch goos + "/" + goarch {
	case "darwin/arm64":
		plat = "darwin-arm64"
	case "darwin/amd64":
		plat = "darwin-x86_64"
	case "linux/amd64":
		plat = "linux-x86_64"
	case "linux/arm64":
		plat = "linux-aarch64"
	case "windows/amd64":
		return "cco-v" + ver + "-windows-x86_64.zip", nil
	default:
		return "", fmt.Errorf("releases have no build for %s/%s", goos, goarch)
	}
	return "cco-v" + ver + "-" + plat + ".tar.gz", nil
}
