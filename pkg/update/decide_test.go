package update

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/fakegithub"
	"github.com/visiquate/cco/pkg/version"
)

func TestValidateRequest(t *testing.T) {
	for _, tt := range []struct {
		in      Request
		want    Request
		wantErr string // "" when valid
	}{
		{Request{}, Request{Channel: Stable}, ""},
		{Request{Channel: Stable}, Request{Channel: Stable}, ""},
		{Request{Channel: Beta, Force: true}, Request{Channel: Beta, Force: true}, ""},
		{Request{Version: "v2025.11.2"}, Request{Channel: Stable, Version: "2025.11.2"}, ""},
		{Request{Channel: Beta, Version: "2025.12.1-beta.1"}, Request{Channel: Beta, Version: "2025.12.1-beta.1"}, ""},
		{Request{Channel: "nightly"}, Request{}, `channel "nightly": want stable or beta`},
		{Request{Channel: "Stable"}, Request{}, `channel "Stable": want stable or beta`},
		{Request{Version: "2025.13.1"}, Request{}, `version "2025.13.1": `},
		{Request{Version: "latest"}, Request{}, `version "latest": `},
		{Request{Version: "v"}, Request{}, `version "v": `},
	} {
		got, err := tt.in.Validate()
		if tt.wantErr != "" {
			var re *RequestError
			if !errors.As(err, &re) || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("Validate(%+v) = %v; want a RequestError starting %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Validate(%+v) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if again, err := got.Validate(); err != nil || again != got {
			t.Errorf("Validate is not idempotent on %+v: %+v, %v", got, again, err)
		}
	}
}

// A row of TestDecide: the situation in short, and the plan it must make.
type decideRow struct {
	name     string
	current  string
	channel  string
	version  string // Request.Version
	force    bool
	method   Method
	fromRepo bool
	latest   string // "" means nothing was found
	asset    string // "" means the release's proper archive name

	available, downgrade bool
	command              string
	action               string
	err                  string // an error containing this; "" means none
}

func TestDecide(t *testing.T) {
	const exe = "/home/ada/.local/bin/cco"
	replace := func(cur, latest string) string {
		return "replace " + exe + " (" + cur + ") with " + latest + " from cco-v" + latest +
			"-linux-x86_64.tar.gz, after checking it against checksums.sha256 and its signature"
	}
	for _, tt := range []decideRow{
		// Older, equal, newer, on the stable channel.
		{name: "older", current: "2025.11.1", latest: "2025.11.2", available: true, action: replace("2025.11.1", "2025.11.2")},
		{name: "older by a month", current: "2025.10.7", latest: "2025.11.1", available: true, action: replace("2025.10.7", "2025.11.1")},
		{name: "older by a year", current: "2024.12.9", latest: "2025.1.1", available: true, action: replace("2024.12.9", "2025.1.1")},
		{name: "equal", current: "2025.11.2", latest: "2025.11.2",
			action: "nothing: cco 2025.11.2 is the newest in the stable channel"},
		{name: "equal but for build metadata", current: "2025.11.2+linux.amd64", latest: "2025.11.2",
			action: "nothing: cco 2025.11.2+linux.amd64 is the newest in the stable channel"},
		{name: "newer", current: "2025.12.1", latest: "2025.11.2", downgrade: true,
			action: "nothing: cco 2025.12.1 is newer than 2025.11.2, the newest in the stable channel (--force would downgrade)"},
		{name: "newer beta than the newest stable", current: "2025.12.1-beta.1", latest: "2025.11.2", downgrade: true,
			action: "nothing: cco 2025.12.1-beta.1 is newer than 2025.11.2, the newest in the stable channel (--force would downgrade)"},
		{name: "beta of a released month", current: "2025.11.2-beta.3", latest: "2025.11.2", available: true, action: replace("2025.11.2-beta.3", "2025.11.2")},

		// The beta channel, betas of the same month.
		{name: "beta to next beta", current: "2025.12.1-beta.1", channel: Beta, latest: "2025.12.1-beta.2", available: true,
			action: replace("2025.12.1-beta.1", "2025.12.1-beta.2")},
		{name: "beta.2 to beta.10", current: "2025.12.1-beta.2", channel: Beta, latest: "2025.12.1-beta.10", available: true,
			action: replace("2025.12.1-beta.2", "2025.12.1-beta.10")},
		{name: "beta.10 is newer than beta.2", current: "2025.12.1-beta.10", channel: Beta, latest: "2025.12.1-beta.2", downgrade: true,
			action: "nothing: cco 2025.12.1-beta.10 is newer than 2025.12.1-beta.2, the newest in the beta channel (--force would downgrade)"},
		{name: "beta to its release", current: "2025.12.1-beta.4", channel: Beta, latest: "2025.12.1", available: true,
			action: replace("2025.12.1-beta.4", "2025.12.1")},
		{name: "release to the next release's beta", current: "2025.12.1", channel: Beta, latest: "2025.12.2-beta.1", available: true,
			action: replace("2025.12.1", "2025.12.2-beta.1")},
		{name: "release is newer than its own beta", current: "2025.12.1", channel: Beta, latest: "2025.12.1-beta.2", downgrade: true,
			action: "nothing: cco 2025.12.1 is newer than 2025.12.1-beta.2, the newest in the beta channel (--force would downgrade)"},
		{name: "rc before beta", current: "2025.12.1-beta.9", channel: Beta, latest: "2025.12.1-rc.1", available: true,
			action: replace("2025.12.1-beta.9", "2025.12.1-rc.1")},
		{name: "same beta", current: "2025.12.1-beta.2", channel: Beta, latest: "2025.12.1-beta.2",
			action: "nothing: cco 2025.12.1-beta.2 is the newest in the beta channel"},

		// --force.
		{name: "force reinstalls", current: "2025.11.2", force: true, latest: "2025.11.2", available: true, action: replace("2025.11.2", "2025.11.2")},
		{name: "force downgrades", current: "2025.12.1", force: true, latest: "2025.11.2", available: true, downgrade: true,
			action: "downgrade " + exe + " (2025.12.1) with 2025.11.2 from cco-v2025.11.2-linux-x86_64.tar.gz, after checking it against checksums.sha256 and its signature"},
		{name: "force on an older one is an update", current: "2025.11.1", force: true, latest: "2025.11.2", available: true, action: replace("2025.11.1", "2025.11.2")},
		{name: "development build", current: "dev", latest: "2025.11.2",
			action: "nothing: this cco is a development build (dev); --force replaces it with 2025.11.2"},
		{name: "go install pseudo-version", current: "v0.0.0-20251120100000-abc123456789", latest: "2025.11.2",
			action: "nothing: this cco is a development build (v0.0.0-20251120100000-abc123456789); --force replaces it with 2025.11.2"},
		{name: "development build, forced", current: "dev", force: true, latest: "2025.11.2", available: true, action: replace("dev", "2025.11.2")},

		// An exact --version.
		{name: "exact older version", current: "2025.11.2", version: "2025.11.1", latest: "2025.11.1", downgrade: true,
			action: "nothing: cco 2025.11.2 is newer than 2025.11.1, the newest in release v2025.11.1 (--force would downgrade)"},
		{name: "exact version it is", current: "2025.11.2", version: "2025.11.2", latest: "2025.11.2",
			action: "nothing: cco 2025.11.2 is the newest in release v2025.11.2"},
		{name: "exact beta from stable", current: "2025.11.2", version: "v2025.12.1-beta.1", latest: "2025.12.1-beta.1", available: true,
			action: replace("2025.11.2", "2025.12.1-beta.1")},
		{name: "exact version missing", current: "2025.11.1", version: "2024.1.1",
			action: "nothing: no linux-x86_64.tar.gz archive in release v2024.1.1 of visiquate/cco",
			err:    "no release v2024.1.1 of visiquate/cco with a linux-x86_64.tar.gz archive"},

		// Nothing found.
		{name: "no stable release", current: "2025.11.1",
			action: "nothing: no linux-x86_64.tar.gz archive in the stable channel of visiquate/cco"},
		{name: "no beta release", current: "2025.11.1", channel: Beta,
			action: "nothing: no linux-x86_64.tar.gz archive in the beta channel of visiquate/cco"},

		// Releases that are not what releases are.
		{name: "release tag not a version", current: "2025.11.1", latest: "2025.13.1", err: "release 2025.13.1: "},
		{name: "archive misnamed", current: "2025.11.1", latest: "2025.11.2", asset: "cco-v2025.11.2-linux-amd64.tar.gz",
			err: `release v2025.11.2: archive "cco-v2025.11.2-linux-amd64.tar.gz" is not named "cco-v2025.11.2-linux-x86_64.tar.gz" as releases are`},

		// Each install method, with an update available.
		{name: "manual", current: "2025.11.1", method: Manual, latest: "2025.11.2", available: true, action: replace("2025.11.1", "2025.11.2")},
		{name: "homebrew", current: "2025.11.1", method: Homebrew, latest: "2025.11.2", available: true,
			command: "brew upgrade cco",
			action:  "nothing here: cco was installed with Homebrew; run: brew upgrade cco"},
		{name: "scoop", current: "2025.11.1", method: Scoop, latest: "2025.11.2", available: true,
			command: "scoop update cco",
			action:  "nothing here: cco was installed with Scoop; run: scoop update cco"},
		{name: "deb", current: "2025.11.1", method: Deb, latest: "2025.11.2", available: true,
			command: "sudo apt install ./cco_2025.11.2_amd64.deb   (download it from the release page)",
			action:  "nothing here: cco was installed with a .deb package (dpkg); run: sudo apt install ./cco_2025.11.2_amd64.deb   (download it from the release page)"},
		{name: "rpm", current: "2025.11.1", method: RPM, latest: "2025.11.2", available: true,
			command: "sudo dnf install ./cco-2025.11.2-1.x86_64.rpm   (download it from the release page)",
			action:  "nothing here: cco was installed with an .rpm package; run: sudo dnf install ./cco-2025.11.2-1.x86_64.rpm   (download it from the release page)"},
		{name: "deb from cco's apt repository", current: "2025.11.1", method: Deb, fromRepo: true, latest: "2025.11.2", available: true,
			command: "sudo apt update && sudo apt upgrade cco",
			action:  "nothing here: cco was installed with a .deb package (dpkg); run: sudo apt update && sudo apt upgrade cco"},
		{name: "rpm from cco's dnf repository", current: "2025.11.1", method: RPM, fromRepo: true, latest: "2025.11.2", available: true,
			command: "sudo dnf upgrade cco",
			action:  "nothing here: cco was installed with an .rpm package; run: sudo dnf upgrade cco"},
		{name: "package", current: "2025.11.1", method: Package, latest: "2025.11.2", available: true,
			command: "install the cco 2025.11.2 package with the package manager that installed cco",
			action:  "nothing here: cco was installed with a system package; run: install the cco 2025.11.2 package with the package manager that installed cco"},
		{name: "go install", current: "2025.11.1", method: GoBuild, latest: "2025.11.2", available: true,
			command: "go install github.com/visiquate/cco/cmd/cco@main",
			action:  "nothing here: cco was installed with go install; run: go install github.com/visiquate/cco/cmd/cco@main"},
		{name: "homebrew, forced downgrade", current: "2025.12.1", force: true, method: Homebrew, latest: "2025.11.2", available: true, downgrade: true,
			command: "brew upgrade cco",
			action:  "nothing here: cco was installed with Homebrew; run: brew upgrade cco"},
		// A package manager's install that is up to date is told so, not sent to the package manager.
		{name: "deb, up to date", current: "2025.11.2", method: Deb, latest: "2025.11.2",
			action: "nothing: cco 2025.11.2 is the newest in the stable channel"},
		{name: "scoop, newer", current: "2025.12.1", method: Scoop, latest: "2025.11.2", downgrade: true,
			action: "nothing: cco 2025.12.1 is newer than 2025.11.2, the newest in the stable channel (--force would downgrade)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Channel: tt.channel, Version: tt.version, Force: tt.force}
			want, req, err := req.parse()
			if err != nil {
				t.Fatal(err)
			}
			method := tt.method
			if method == "" {
				method = Manual
			}
			s := situation{
				req: req, want: want, current: tt.current, exe: exe, method: method, fromRepo: tt.fromRepo,
				repo: "visiquate/cco", goos: "linux", goarch: "amd64",
			}
			if tt.latest != "" {
				s.found, s.latest, s.asset = true, tt.latest, tt.asset
				if s.asset == "" {
					s.asset, _ = AssetName(tt.latest, "linux", "amd64")
				}
				s.releaseURL = "https://github.com/visiquate/cco/releases/tag/v" + tt.latest
			}
			plan, err := decide(s)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v; want one containing %q", err, tt.err)
				}
				if tt.action == "" {
					if plan != nil {
						t.Errorf("a plan for a release that is not one: %+v", plan)
					}
					return
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if plan.Available != tt.available || plan.Downgrade != tt.downgrade {
				t.Errorf("available %v downgrade %v; want %v %v", plan.Available, plan.Downgrade, tt.available, tt.downgrade)
			}
			if plan.Command != tt.command {
				t.Errorf("command\n got %q\nwant %q", plan.Command, tt.command)
			}
			if plan.Action != tt.action {
				t.Errorf("action\n got %q\nwant %q", plan.Action, tt.action)
			}
			wantLatest := ""
			if tt.latest != "" {
				wantLatest = version.MustParse(tt.latest).String()
			}
			if plan.Latest != wantLatest || plan.Current != tt.current || plan.Channel != req.Channel ||
				plan.Method != method || plan.Executable != exe {
				t.Errorf("plan %+v does not describe the situation", plan)
			}
			if tt.latest != "" && (plan.Asset != s.asset || plan.ReleaseURL != s.releaseURL) {
				t.Errorf("asset %q url %q", plan.Asset, plan.ReleaseURL)
			}
		})
	}
}

// Check and CheckCached refuse a bad Request with Validate's error, before
// asking GitHub anything.
func TestCheckValidatesFirst(t *testing.T) {
	gh := fakegithub.NewGitHub(t, fakeRelease("v2025.11.2", false, "linux", "arm64"))
	u := newTestUpdater(t, gh, "2025.11.1", nil)
	ctx := context.Background()
	for _, req := range []Request{{Channel: "nightly"}, {Version: "2025.13.1"}} {
		var re *RequestError
		if _, err := u.Check(ctx, req); !errors.As(err, &re) {
			t.Errorf("Check(%+v): %v, want a RequestError", req, err)
		}
		if _, _, err := u.CheckCached(ctx, req, filepath.Join(t.TempDir(), "state.json"), time.Hour, time.Now()); !errors.As(err, &re) {
			t.Errorf("CheckCached(%+v): %v, want a RequestError", req, err)
		}
	}
	if n := len(gh.Requests()); n != 0 {
		t.Errorf("a refused request still asked GitHub %d times", n)
	}
	// A tag with its v and a version without are the same request.
	a, err1 := u.Check(ctx, Request{Version: "v2025.11.2"})
	b, err2 := u.Check(ctx, Request{Version: "2025.11.2"})
	if err1 != nil || err2 != nil || a.Latest != "2025.11.2" || a.Action != b.Action {
		t.Errorf("v2025.11.2: %+v %v; 2025.11.2: %+v %v", a, err1, b, err2)
	}
}
