package release

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests install the amd64 .deb for real with apt (as root, on a Debian
// machine), check the .rpm with rpm, lint both, and run the maintainer
// scripts with every argument dpkg and rpm pass them. Each leaves the
// machine as it found it, also when it fails.

// packagedFile is a file both packages install, with its mode.
type packagedFile struct {
	path string
	mode fs.FileMode
	deb  bool // in the .deb
	rpm  bool // in the .rpm
}

// packagedFiles are the files the packages promise, and nothing else.
var packagedFiles = []packagedFile{
	{"/usr/bin/cco", 0o755, true, true},
	{"/usr/lib/systemd/system/cco.service", 0o644, true, true},
	{"/usr/lib/systemd/user/cco.service", 0o644, true, true},
	{"/etc/cco/config.toml", 0o644, true, true},
	{"/usr/share/man/man1/cco.1.gz", 0o644, true, true},
	{"/usr/share/bash-completion/completions/cco", 0o644, true, true},
	{"/usr/share/zsh/vendor-completions/_cco", 0o644, true, true},
	{"/usr/share/fish/vendor_completions.d/cco.fish", 0o644, true, true},
	{"/usr/share/doc/cco/copyright", 0o644, true, false},
	{"/usr/share/doc/cco/THIRD_PARTY_LICENSES", 0o644, true, false},
	{"/usr/share/licenses/cco/THIRD_PARTY_LICENSES", 0o644, false, true},
	{"/usr/share/lintian/overrides/cco", 0o644, true, false},
	{"/usr/share/licenses/cco/LICENSE", 0o644, false, true},
}

// packagedSources are installed files that are copies of files in the
// repository.
var packagedSources = map[string]string{
	"/usr/lib/systemd/system/cco.service":          "pkg/service/systemd/cco.service",
	"/usr/lib/systemd/user/cco.service":            "pkg/service/systemd/cco-user.service",
	"/etc/cco/config.toml":                         "packaging/config.toml",
	"/usr/share/doc/cco/copyright":                 "packaging/generated/copyright",
	"/usr/share/doc/cco/THIRD_PARTY_LICENSES":      "packaging/generated/THIRD_PARTY_LICENSES",
	"/usr/share/licenses/cco/THIRD_PARTY_LICENSES": "packaging/generated/THIRD_PARTY_LICENSES",
	"/usr/share/lintian/overrides/cco":             "nfpm/lintian-overrides",
	"/usr/share/licenses/cco/LICENSE":              "LICENSE",
}

// maintainerScripts maps dpkg's and rpm's names for each script to its source.
var maintainerScripts = []struct{ deb, rpm, src string }{
	{"postinst", "postinstall", "packaging/scripts/postinstall.sh"},
	{"prerm", "preuninstall", "packaging/scripts/preremove.sh"},
	{"postrm", "postuninstall", "packaging/scripts/postremove.sh"},
}

// debVersion is how nfpm writes a version for dpkg and rpm: a prerelease
// follows a "~", so that it sorts before the release.
func debVersion(version string) string {
	return strings.Replace(version, "-", "~", 1)
}

// requireTools skips unless every tool is on PATH.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not on PATH (CI installs it): %v", tool, err)
		}
	}
}

// requireDebianRoot skips unless this is a Linux machine with apt where the
// test may install packages: root, amd64.
func requireDebianRoot(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("installs the amd64 .deb: needs linux/amd64, this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	if os.Geteuid() != 0 {
		t.Skip("installs a package: needs root")
	}
	requireTools(t, "apt-get", "dpkg", "dpkg-query")
}

// mustRunTool runs a program with extra environment and returns what it wrote
// to stdout, failing the test (with stderr) when it fails.
func mustRunTool(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// aptEnv keeps apt and dpkg from asking anything.
var aptEnv = []string{"DEBIAN_FRONTEND=noninteractive"}

// purgeCCO removes the cco package, if dpkg knows it, for a test's cleanup
// (with a context of its own: the test's is done before cleanups run).
func purgeCCO(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if exec.CommandContext(ctx, "dpkg-query", "-W", "cco").Run() != nil {
		return
	}
	cmd := exec.CommandContext(ctx, "apt-get", "purge", "-y", "-o", "DPkg::Lock::Timeout=300", "cco")
	cmd.Env = append(os.Environ(), aptEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("cleanup: apt-get purge cco: %v\n%s", err, out)
		_ = exec.CommandContext(ctx, "dpkg", "--purge", "cco").Run()
	}
}

// aptGet runs apt-get -y with a wait for the dpkg lock (other jobs on the
// machine may hold it).
func aptGet(t *testing.T, args ...string) string {
	t.Helper()
	return mustRunTool(t, aptEnv, "apt-get", append([]string{"-y", "-o", "DPkg::Lock::Timeout=300", "-o", "Dpkg::Use-Pty=0"}, args...)...)
}

// dpkgStatus returns cco's abbreviated dpkg status ("ii", "rc") and
// version, or "" when dpkg knows nothing of cco.
func dpkgStatus(t *testing.T) (status, version string) {
	t.Helper()
	out, err := runToolIn(t, "/", nil, "dpkg-query", "-W", "-f=${db:Status-Abbrev}|${Version}", "cco")
	if err != nil {
		return "", ""
	}
	status, version, _ = strings.Cut(out, "|")
	return strings.TrimSpace(status), version
}

// presentOnDisk reports whether path exists, not following a final symlink.
func presentOnDisk(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// serviceState are the files the system service makes while it runs (with
// DynamicUser=yes, under /var/lib/private and /var/cache/private, linked
// from /var/lib/cco and /var/cache/cco), and the key file an administrator
// adds. Only a purge deletes them.
var serviceState = []string{
	"/var/lib/private/cco/analytics.db",
	"/var/lib/cco",
	"/var/cache/private/cco/entry",
	"/var/cache/cco",
	"/etc/cco/cco.env",
}

// makeServiceState creates serviceState as systemd would.
func makeServiceState(t *testing.T) {
	t.Helper()
	for _, dir := range []string{"/var/lib/private/cco", "/var/cache/private/cco"} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"/var/lib/private/cco/analytics.db", "/var/cache/private/cco/entry", "/etc/cco/cco.env"} {
		if err := os.WriteFile(f, []byte("made by TestDebPackage\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"/var/lib/cco": "private/cco", "/var/cache/cco": "private/cco"} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
}

// The amd64 .deb installs with apt, puts every file where it promised,
// keeps a changed /etc/cco/config.toml across reinstalls and a removal, and
// a purge leaves nothing of cco behind.
func TestDebPackage(t *testing.T) {
	r := loadRelease(t)
	requireDebianRoot(t)
	deb := r.path(r.pkg("deb", "amd64"))
	if status, v := dpkgStatus(t); status != "" {
		t.Skipf("dpkg already knows cco (%s %s); this test installs and purges its own", status, v)
	}
	for _, p := range append([]string{"/etc/cco", "/var/lib/cco", "/var/cache/cco", "/var/lib/private/cco", "/var/cache/private/cco"}, packagedPaths("deb")...) {
		if presentOnDisk(p) {
			t.Skipf("%s exists already; this test would delete it", p)
		}
	}
	// Folders this test may create, to delete again if they were not there.
	var created []string
	for _, dir := range []string{"/var/lib/private", "/var/cache/private"} {
		if !presentOnDisk(dir) {
			created = append(created, dir)
		}
	}
	enabledLink := "/etc/systemd/system/multi-user.target.wants/cco.service"
	t.Cleanup(func() {
		purgeCCO(t)
		for _, p := range append(slices.Clone(serviceState), "/var/lib/private/cco", "/var/cache/private/cco", "/etc/cco", enabledLink) {
			if err := os.RemoveAll(p); err != nil {
				t.Logf("cleanup: %v", err)
			}
		}
		for _, dir := range created {
			_ = os.Remove(dir) // only if empty
		}
	})
	// Each step needs the one before it.
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}

	step("install", func(t *testing.T) {
		aptGet(t, "install", deb)
		if status, v := dpkgStatus(t); status != "ii" || v != debVersion(r.version) {
			t.Fatalf("after apt-get install: status %q version %q, want ii %s", status, v, debVersion(r.version))
		}
	})

	step("version", func(t *testing.T) {
		out := mustRunTool(t, nil, "/usr/bin/cco", "version")
		if first, _, _ := strings.Cut(out, "\n"); first != "cco "+r.version {
			t.Errorf("cco version starts %q, want %q", first, "cco "+r.version)
		}
		if !strings.Contains(out, "deb/rpm") {
			t.Errorf("cco version does not say the package manager manages it:\n%s", out)
		}
	})

	step("files", func(t *testing.T) {
		listed := map[string]bool{}
		for _, l := range nonEmptyLines(mustRunTool(t, nil, "dpkg", "-L", "cco")) {
			if fi, err := os.Lstat(l); err == nil && !fi.IsDir() {
				listed[l] = true
			}
		}
		want := packagedPaths("deb")
		for _, p := range want {
			if !listed[p] {
				t.Errorf("dpkg -L cco does not list %s", p)
			}
		}
		for p := range listed {
			if !slices.Contains(want, p) {
				t.Errorf("the package installs %s, which it does not promise", p)
			}
		}
		checkInstalledFiles(t, r, "deb")
		for _, s := range maintainerScripts {
			checkSameContent(t, "/var/lib/dpkg/info/cco."+s.deb, filepath.Join(r.repo, s.src))
		}
		if _, err := exec.LookPath("man"); err == nil {
			if out := strings.TrimSpace(mustRunTool(t, nil, "man", "-w", "cco")); out != "/usr/share/man/man1/cco.1.gz" {
				t.Errorf("man -w cco = %q", out)
			}
		}
	})

	step("conffiles", func(t *testing.T) {
		out := mustRunTool(t, nil, "dpkg-query", "-W", "-f=${Conffiles}\n", "cco")
		conf := nonEmptyLines(out)
		if len(conf) != 1 || !regexp.MustCompile(`^/etc/cco/config\.toml [0-9a-f]{32}$`).MatchString(conf[0]) {
			t.Errorf("conffiles %q, want just /etc/cco/config.toml", conf)
		}
	})

	step("units", func(t *testing.T) {
		verifyUnits(t)
	})

	marker := "# changed by TestDebPackage\n"
	step("config survives reinstall", func(t *testing.T) {
		f, err := os.OpenFile("/etc/cco/config.toml", os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString(marker)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		kept := func(how string) {
			t.Helper()
			data, err := os.ReadFile("/etc/cco/config.toml")
			if err != nil || !strings.HasSuffix(string(data), marker) {
				t.Fatalf("after %s the changed /etc/cco/config.toml is gone (%v)", how, err)
			}
			entries, _ := os.ReadDir("/etc/cco")
			if len(entries) != 1 {
				t.Errorf("after %s /etc/cco holds %v, want only config.toml", how, entries)
			}
			if status, _ := dpkgStatus(t); status != "ii" {
				t.Errorf("after %s cco's status is %q, want ii", how, status)
			}
		}
		aptGet(t, "install", "--reinstall", deb)
		kept("apt-get install --reinstall")
		aptGet(t, "install", deb)
		kept("apt-get install of the installed version")
		mustRunTool(t, aptEnv, "dpkg", "-i", deb)
		kept("dpkg -i of the same package")
	})

	step("remove keeps config and state", func(t *testing.T) {
		offline := !presentOnDisk("/run/systemd/system")
		_, err := exec.LookPath("systemctl")
		enable := offline && err == nil
		if enable {
			// With no systemd running, systemctl only makes the links.
			mustRunTool(t, nil, "systemctl", "enable", "cco.service")
			if !presentOnDisk(enabledLink) {
				t.Fatalf("systemctl enable cco made no %s", enabledLink)
			}
		} else {
			t.Log("systemd is running or systemctl is missing: not enabling the unit")
		}
		makeServiceState(t)
		aptGet(t, "remove", "cco")
		if status, _ := dpkgStatus(t); status != "rc" {
			t.Errorf("after apt-get remove cco's status is %q, want rc", status)
		}
		for _, p := range packagedPaths("deb") {
			if p != "/etc/cco/config.toml" && presentOnDisk(p) {
				t.Errorf("apt-get remove left %s", p)
			}
		}
		data, err := os.ReadFile("/etc/cco/config.toml")
		if err != nil || !strings.HasSuffix(string(data), marker) {
			t.Errorf("apt-get remove did not keep the changed config (%v)", err)
		}
		for _, p := range serviceState {
			if !presentOnDisk(p) {
				t.Errorf("apt-get remove deleted %s; only a purge may", p)
			}
		}
		if enable && presentOnDisk(enabledLink) {
			t.Errorf("apt-get remove left the link %s to a unit that is gone", enabledLink)
		}
	})

	step("purge", func(t *testing.T) {
		aptGet(t, "purge", "cco")
		for _, p := range append(append(packagedPaths("deb"), serviceState...), "/etc/cco", "/usr/share/doc/cco", "/var/lib/private/cco", "/var/cache/private/cco") {
			if presentOnDisk(p) {
				t.Errorf("apt-get purge left %s", p)
			}
		}
		if status, v := dpkgStatus(t); status != "" {
			t.Errorf("after apt-get purge dpkg still knows cco: %s %s", status, v)
		}
		for _, l := range nonEmptyLines(mustRunTool(t, []string{"COLUMNS=200"}, "dpkg", "-l")) {
			if f := strings.Fields(l); len(f) > 1 && (f[1] == "cco" || strings.HasPrefix(f[1], "cco:")) {
				t.Errorf("dpkg -l still lists cco: %s", l)
			}
		}
	})
}

// packagedPaths lists the files the format's package promises.
func packagedPaths(format string) []string {
	var paths []string
	for _, f := range packagedFiles {
		if (format == "deb" && f.deb) || (format == "rpm" && f.rpm) {
			paths = append(paths, f.path)
		}
	}
	return paths
}

// checkSameContent fails unless the files at got and want hold the same bytes.
func checkSameContent(t *testing.T, got, want string) {
	t.Helper()
	g, err := os.ReadFile(got)
	if err != nil {
		t.Error(err)
		return
	}
	w, err := os.ReadFile(want)
	if err != nil {
		t.Error(err)
		return
	}
	if !bytes.Equal(g, w) {
		t.Errorf("%s differs from %s (rebuild dist/ after changing packaging files)", got, want)
	}
}

// checkInstalledFiles checks the installed package's files on disk: their
// modes, the copies of repository files, the man page and completions.
func checkInstalledFiles(t *testing.T, r *releaseUnderTest, format string) {
	t.Helper()
	for _, f := range packagedFiles {
		if (format == "deb" && !f.deb) || (format == "rpm" && !f.rpm) {
			continue
		}
		fi, err := os.Lstat(f.path)
		if err != nil {
			t.Errorf("%s: %v", f.path, err)
			continue
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != f.mode || fi.Size() == 0 {
			t.Errorf("%s: %v, %d bytes; want a non-empty file with mode %v", f.path, fi.Mode(), fi.Size(), f.mode)
		}
		if src, ok := packagedSources[f.path]; ok {
			checkSameContent(t, f.path, filepath.Join(r.repo, src))
		}
	}
	man, err := os.Open("/usr/share/man/man1/cco.1.gz")
	if err == nil {
		defer man.Close()
		zr, err := gzip.NewReader(man)
		if err != nil {
			t.Errorf("cco.1.gz: %v", err)
		} else if page, err := io.ReadAll(zr); err != nil || !bytes.Contains(page, []byte(".TH cco 1")) {
			t.Errorf("cco.1.gz is not the man page for cco(1) (%v)", err)
		}
	}
	for _, c := range []string{"/usr/share/bash-completion/completions/cco", "/usr/share/zsh/vendor-completions/_cco", "/usr/share/fish/vendor_completions.d/cco.fish"} {
		if data, err := os.ReadFile(c); err == nil && !bytes.Contains(data, []byte("cco")) {
			t.Errorf("%s does not complete cco", c)
		}
	}
}

// verifyUnits runs systemd-analyze verify on the installed units; it needs
// no running systemd. Any complaint fails, as unknown keys are only printed.
func verifyUnits(t *testing.T) {
	t.Helper()
	requireTools(t, "systemd-analyze")
	// verify marks /run/systemd/systemd-units-load as a running systemd
	// would; where none runs, the mark goes again.
	const mark = "/run/systemd/systemd-units-load"
	if !presentOnDisk(mark) {
		t.Cleanup(func() { _ = os.Remove(mark) })
	}
	args := []string{"verify"}
	if _, err := exec.LookPath("man"); err != nil {
		args = append(args, "--man=no") // Documentation=man:cco(1) is checked with man
	}
	runtimeDir := t.TempDir()
	for _, unit := range []struct {
		path string
		user bool
	}{{"/usr/lib/systemd/system/cco.service", false}, {"/usr/lib/systemd/user/cco.service", true}} {
		a := slices.Clone(args)
		if unit.user {
			a = append([]string{"--user"}, a...)
		}
		out, err := runToolIn(t, "/", []string{"XDG_RUNTIME_DIR=" + runtimeDir, "SYSTEMD_LOG_LEVEL=notice"}, "systemd-analyze", append(a, unit.path)...)
		if err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("systemd-analyze %s %s: %v\n%s", strings.Join(a, " "), unit.path, err, out)
		}
	}
}

// lintianTag is a lintian output line: level, package, tag and context.
var lintianTag = regexp.MustCompile(`^([EWIPXCO]): (\S+?)(?: \w+)?: (\S+)(.*)$`)

// lintian has no errors or warnings for the amd64 .deb with the overrides it
// ships in /usr/share/lintian/overrides/cco, and every override is used.
func TestDebLintian(t *testing.T) {
	r := loadRelease(t)
	requireTools(t, "lintian")
	deb := r.path(r.pkg("deb", "amd64"))
	lintian := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "lintian", append(args, deb)...)
		cmd.Dir = t.TempDir()
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, stderr.String())
		}
		return stdout.String(), err
	}
	out, err := lintian("--display-info", "--tag-display-limit", "0")
	for _, l := range nonEmptyLines(out) {
		m := lintianTag.FindStringSubmatch(l)
		switch {
		case m == nil:
		case m[1] == "E" || m[1] == "W":
			t.Errorf("lintian: %s", l)
		case m[3] == "unused-override" || m[3] == "mismatched-override":
			t.Errorf("lintian: %s (remove it from nfpm/lintian-overrides)", l)
		default:
			t.Logf("lintian: %s", l)
		}
	}
	if err != nil {
		t.Errorf("lintian %s: %v", filepath.Base(deb), err)
	}
	// Shown overrides make lintian exit non-zero, so this run is only read.
	out, _ = lintian("--show-overrides", "--tag-display-limit", "0")
	overridden := 0
	for _, l := range nonEmptyLines(out) {
		if strings.HasPrefix(l, "O: ") {
			overridden++
			t.Logf("overridden: %s", l)
		}
	}
	if overridden == 0 {
		t.Errorf("lintian applied no overrides: is /usr/share/lintian/overrides/cco in the package?\n%s", out)
	}
}

// The .rpm is named and versioned right, lists exactly the promised files
// with config, %doc and %license marked, carries the maintainer scripts,
// and its binary says it is managed by deb/rpm.
func TestRPMPackage(t *testing.T) {
	r := loadRelease(t)
	requireTools(t, "rpm")
	for _, arch := range []struct{ name, rpmArch string }{{"amd64", "x86_64"}, {"arm64", "aarch64"}} {
		t.Run(arch.name, func(t *testing.T) {
			rpm := r.path(r.pkg("rpm", arch.name))
			head := mustRunTool(t, nil, "rpm", "-qp", "--qf", "%{NAME} %{VERSION} %{ARCH} %{LICENSE}\n", rpm)
			if want := fmt.Sprintf("cco %s %s MIT\n", debVersion(r.version), arch.rpmArch); head != want {
				t.Errorf("rpm -qp: %q, want %q", head, want)
			}
			got := nonEmptyLines(mustRunTool(t, nil, "rpm", "-qpl", rpm))
			want := append(packagedPaths("rpm"), "/etc/cco", "/usr/share/licenses/cco")
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("rpm -qpl lists\n%q\nwant\n%q", got, want)
			}
			flags := map[string]string{}
			for _, l := range nonEmptyLines(mustRunTool(t, nil, "rpm", "-qp", "--qf", "[%{FILENAMES}|%{FILEFLAGS:fflags}|%{FILEMODES:perms}\n]", rpm)) {
				f := strings.Split(l, "|")
				if len(f) == 3 {
					flags[f[0]] = f[1] + " " + f[2]
				}
			}
			for path, want := range map[string]string{
				"/etc/cco/config.toml":            "cn -rw-r--r--",
				"/usr/bin/cco":                    " -rwxr-xr-x",
				"/usr/share/man/man1/cco.1.gz":    "d -rw-r--r--",
				"/usr/share/licenses/cco/LICENSE": "l -rw-r--r--",
				"/etc/cco":                        " drwxr-xr-x",
			} {
				if flags[path] != want {
					t.Errorf("%s: flags and mode %q, want %q", path, flags[path], want)
				}
			}
			scripts := mustRunTool(t, nil, "rpm", "-qp", "--scripts", rpm)
			for _, s := range maintainerScripts {
				body, err := os.ReadFile(filepath.Join(r.repo, s.src))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(scripts, s.rpm+" scriptlet (using /bin/sh):\n"+string(body)) {
					t.Errorf("rpm -qp --scripts has no %s scriptlet with the text of %s:\n%s", s.rpm, s.src, scripts)
				}
			}
			if strings.Contains(scripts, "preinstall scriptlet") {
				t.Errorf("the rpm has a preinstall scriptlet, which nothing provides")
			}
			if arch.name == "amd64" && runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
				if _, err := exec.LookPath("rpm2cpio"); err != nil {
					t.Skip("no rpm2cpio to take the binary out")
				}
				v := versionJSON(t, rpmFile(t, rpm, "/usr/bin/cco"))
				if v["version"] != r.version || v["managed_by"] != "deb/rpm" {
					t.Errorf("the rpm's cco version --json = %v, want %s managed_by deb/rpm", v, r.version)
				}
			}
		})
	}
}

// rpmFile returns one file of an rpm's payload, read from rpm2cpio's output
// in Go (the payload's names are absolute, so cpio -i would write into /).
func rpmFile(t *testing.T, rpm, name string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	// rpm2cpio exits 1 on nfpm's rpms although it writes the whole payload
	// (goreleaser/nfpm#341: the header's payload size is off), so a
	// complete cpio stream is what counts.
	out, runErr := exec.CommandContext(ctx, "rpm2cpio", rpm).Output()
	if len(out) == 0 {
		t.Fatalf("rpm2cpio %s: %v", filepath.Base(rpm), runErr)
	}
	// newc cpio: a 110-byte header of hex fields, the name, the data, each
	// padded to 4 bytes.
	pad := func(n int) int { return (n + 3) &^ 3 }
	for off := 0; off+110 <= len(out); {
		h := out[off : off+110]
		if string(h[:6]) != "070701" && string(h[:6]) != "070702" {
			t.Fatalf("rpm2cpio %s: no cpio header at %d", filepath.Base(rpm), off)
		}
		field := func(i int) int {
			v, err := strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				t.Fatalf("rpm2cpio %s: bad cpio header: %v", filepath.Base(rpm), err)
			}
			return int(v)
		}
		size, nameSize := field(6), field(11)
		if off+110+nameSize > len(out) || nameSize == 0 {
			break
		}
		member := string(out[off+110 : off+110+nameSize-1])
		start := pad(off + 110 + nameSize)
		if member == "TRAILER!!!" || start+size > len(out) {
			break
		}
		if filepath.Clean("/"+member) == name {
			return out[start : start+size]
		}
		off = pad(start + size)
	}
	t.Fatalf("%s has no %s (rpm2cpio: %v)", filepath.Base(rpm), name, runErr)
	return nil
}

// rpmlint reports no errors or warnings for the amd64 .rpm with the filters
// in nfpm/cco.rpmlintrc, each of which must still be needed.
func TestRPMLint(t *testing.T) {
	r := loadRelease(t)
	requireTools(t, "rpmlint", "cpio")
	rpm := r.path(r.pkg("rpm", "amd64"))
	// rpmlint unpacks with `rpm2cpio | cpio -id`; nfpm's absolute names
	// would land in /. This cpio keeps them in rpmlint's own folder.
	cpio, _ := exec.LookPath("cpio")
	bin := t.TempDir()
	wrapper := "#!/bin/sh\nexec " + cpio + " --no-absolute-filenames \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "cpio"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	before := presentOnDisk("/usr/bin/cco")
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	rc := filepath.Join(r.repo, "nfpm", "cco.rpmlintrc")
	if strings.Contains(r.version, "-") {
		// A prerelease's name has . where rpm's name would have the ~ of
		// its version (GitHub renames a ~ in an asset's name to .), which
		// rpmlint reports for this one name. A stable release's name is
		// rpm's own, and an unused filter is itself reported: so the
		// filter is added here, for prereleases only, naming the file.
		base := filepath.Base(rpm)
		rpmName := strings.Replace(base, "-"+strings.Replace(debVersion(r.version), "~", ".", 1)+"-", "-"+debVersion(r.version)+"-", 1)
		extra := fmt.Sprintf("\n# The prerelease's . for ~ (pkg/release/packages_test.go adds this).\naddFilter(r\"^cco\\.\\w+: W: non-coherent-filename %s %s$\")\n",
			regexp.QuoteMeta(base), regexp.QuoteMeta(rpmName))
		data, err := os.ReadFile(rc)
		if err != nil {
			t.Fatal(err)
		}
		rc = filepath.Join(t.TempDir(), "cco.rpmlintrc")
		if err := os.WriteFile(rc, append(data, extra...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(ctx, "rpmlint", "--rpmlintrc", rc, rpm)
	cmd.Dir = home
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+home)
	outBytes, err := cmd.CombinedOutput()
	out := string(outBytes)
	if !before && presentOnDisk("/usr/bin/cco") {
		t.Errorf("rpmlint unpacked the rpm into / (see the cpio wrapper)")
	}
	if err != nil {
		t.Errorf("rpmlint: %v", err)
	}
	for _, l := range nonEmptyLines(out) {
		if regexp.MustCompile(`: [EW]: `).MatchString(l) {
			t.Errorf("rpmlint: %s", l)
		}
	}
	if !regexp.MustCompile(`\b0 errors, 0 warnings\b`).MatchString(out) {
		t.Errorf("rpmlint did not report 0 errors, 0 warnings:\n%s", out)
	}
	if t.Failed() {
		t.Logf("rpmlint output:\n%s", out)
	}
}

// scriptHarness runs one maintainer script inside a private mount namespace
// whose /run, /var/lib, /var/cache and /etc are empty tmpfs mounts, so the
// script acts on a made-up machine and the real one is not touched. It
// makes the service's state, optionally /run/systemd/system, runs the
// script with its arguments, and prints the exit status and which state is
// left. Any failure before the script runs (a mount above all) stops it.
const scriptHarness = `set -eu
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/lib
mount -t tmpfs tmpfs /var/cache
mount -t tmpfs tmpfs /etc
if [ "$WITH_SYSTEMD" = yes ]; then mkdir -p /run/systemd/system; fi
mkdir -p /var/lib/private/cco /var/cache/private/cco /etc/cco
: > /var/lib/private/cco/analytics.db
: > /var/cache/private/cco/entry
ln -s private/cco /var/lib/cco
ln -s private/cco /var/cache/cco
: > /etc/cco/cco.env
if [ -n "$ADMIN_FILE" ]; then : > "$ADMIN_FILE"; fi
script=$1
shift
status=0
/bin/sh "$script" "$@" > "$OUT/output" 2>&1 || status=$?
echo "$status" > "$OUT/status"
for p in /var/lib/private/cco /var/lib/cco /var/cache/private/cco /var/cache/cco /etc/cco/cco.env /etc/cco; do
    if [ -e "$p" ] || [ -L "$p" ]; then echo "$p"; fi
done > "$OUT/left"
`

// fakeSystemctl logs its arguments, one call a line, and fails when told to.
const fakeSystemctl = `#!/bin/sh
echo "$*" >> "$OUT/systemctl"
[ "${FAKE_SYSTEMCTL_FAIL:-}" != yes ]
`

// The maintainer scripts do the right thing for every argument dpkg and rpm
// give them, with and without a running systemd: a first install never
// starts the service, an upgrade only restarts it if it runs, a removal
// disables and stops it, and only a purge deletes its state.
func TestMaintainerScripts(t *testing.T) {
	r := loadRelease(t)
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("runs the scripts in a private mount namespace: needs Linux and root")
	}
	requireTools(t, "unshare", "mount")
	if out, err := runToolIn(t, "/", nil, "unshare", "--mount", "--propagation", "private", "true"); err != nil {
		t.Skipf("cannot make a private mount namespace here: %v\n%s", err, out)
	}
	base := t.TempDir()
	for _, hidden := range []string{"/run", "/var/lib", "/var/cache", "/etc"} {
		if base == hidden || strings.HasPrefix(base, hidden+"/") {
			t.Skipf("the temporary folder %s is under %s, which the harness hides", base, hidden)
		}
	}
	fake := filepath.Join(base, "bin")
	if err := os.MkdirAll(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fake, "systemctl"), []byte(fakeSystemctl), 0o755); err != nil {
		t.Fatal(err)
	}
	harness := filepath.Join(base, "harness.sh")
	if err := os.WriteFile(harness, []byte(scriptHarness), 0o644); err != nil {
		t.Fatal(err)
	}

	all := []string{"/var/lib/private/cco", "/var/lib/cco", "/var/cache/private/cco", "/var/cache/cco", "/etc/cco/cco.env", "/etc/cco"}
	const (
		reload     = "daemon-reload"
		tryRestart = "try-restart cco.service"
		stop       = "disable --now cco.service"
		unlink     = "disable cco.service"
		global     = "--global disable cco.service"
	)
	cases := []struct {
		name      string
		script    string
		args      []string
		systemd   bool
		fail      bool   // systemctl fails
		adminFile string // a file an administrator put in /etc/cco
		calls     []string
		left      []string // nil: all state is left
	}{
		// dpkg passes an empty version on a first install; allow for none too.
		{name: "deb install", script: "postinstall", args: []string{"configure", ""}, systemd: true, calls: []string{reload}},
		{name: "deb install, no version argument", script: "postinstall", args: []string{"configure"}, systemd: true, calls: []string{reload}},
		{name: "deb install without systemd", script: "postinstall", args: []string{"configure", ""}},
		{name: "deb upgrade", script: "postinstall", args: []string{"configure", "2025.11.1"}, systemd: true, calls: []string{reload, tryRestart}},
		{name: "deb upgrade without systemd", script: "postinstall", args: []string{"configure", "2025.11.1"}},
		{name: "deb upgrade with systemctl failing", script: "postinstall", args: []string{"configure", "2025.11.1"}, systemd: true, fail: true, calls: []string{reload, tryRestart}},
		{name: "deb abort-upgrade", script: "postinstall", args: []string{"abort-upgrade", "2025.12.1"}, systemd: true, calls: []string{reload}},
		{name: "rpm install", script: "postinstall", args: []string{"1"}, systemd: true, calls: []string{reload}},
		{name: "rpm upgrade", script: "postinstall", args: []string{"2"}, systemd: true, calls: []string{reload, tryRestart}},
		{name: "rpm upgrade without systemd", script: "postinstall", args: []string{"2"}},

		{name: "deb remove", script: "preremove", args: []string{"remove"}, systemd: true, calls: []string{stop, global}},
		{name: "deb remove without systemd", script: "preremove", args: []string{"remove"}, calls: []string{unlink, global}},
		{name: "deb remove with systemctl failing", script: "preremove", args: []string{"remove"}, systemd: true, fail: true, calls: []string{stop, global}},
		{name: "deb upgrade", script: "preremove", args: []string{"upgrade", "2025.12.1"}, systemd: true},
		{name: "deb failed-upgrade", script: "preremove", args: []string{"failed-upgrade", "2025.11.1"}, systemd: true},
		{name: "deb deconfigure", script: "preremove", args: []string{"deconfigure", "in-favour", "other", "1.0"}, systemd: true},
		{name: "rpm erase", script: "preremove", args: []string{"0"}, systemd: true, calls: []string{stop, global}},
		{name: "rpm upgrade", script: "preremove", args: []string{"1"}, systemd: true},

		{name: "deb remove", script: "postremove", args: []string{"remove"}, systemd: true, calls: []string{reload}},
		{name: "deb purge", script: "postremove", args: []string{"purge"}, systemd: true, calls: []string{reload}, left: []string{}},
		{name: "deb purge without systemd", script: "postremove", args: []string{"purge"}, left: []string{}},
		{name: "deb purge keeps an administrator's file", script: "postremove", args: []string{"purge"}, adminFile: "/etc/cco/prices.json", left: []string{"/etc/cco"}},
		{name: "deb upgrade", script: "postremove", args: []string{"upgrade", "2025.12.1"}, systemd: true, calls: []string{reload}},
		{name: "deb abort-install", script: "postremove", args: []string{"abort-install"}, calls: nil},
		{name: "rpm erase", script: "postremove", args: []string{"0"}, systemd: true, calls: []string{reload}},
		{name: "rpm upgrade", script: "postremove", args: []string{"1"}, systemd: true, calls: []string{reload}},
	}
	for i, c := range cases {
		t.Run(c.script+"/"+c.name, func(t *testing.T) {
			out := filepath.Join(base, strconv.Itoa(i))
			if err := os.MkdirAll(out, 0o755); err != nil {
				t.Fatal(err)
			}
			env := []string{
				"PATH=" + fake + ":/usr/sbin:/usr/bin:/sbin:/bin",
				"OUT=" + out,
				"WITH_SYSTEMD=" + map[bool]string{true: "yes", false: "no"}[c.systemd],
				"FAKE_SYSTEMCTL_FAIL=" + map[bool]string{true: "yes", false: "no"}[c.fail],
				"ADMIN_FILE=" + c.adminFile,
			}
			script := filepath.Join(r.repo, "packaging", "scripts", c.script+".sh")
			args := append([]string{"--mount", "--propagation", "private", "/bin/sh", harness, script}, c.args...)
			if o, err := runToolIn(t, base, env, "unshare", args...); err != nil {
				t.Fatalf("harness: %v\n%s", err, o)
			}
			read := func(name string) string {
				data, err := os.ReadFile(filepath.Join(out, name))
				if err != nil && !errors.Is(err, fs.ErrNotExist) {
					t.Fatal(err)
				}
				return string(data)
			}
			if status := strings.TrimSpace(read("status")); status != "0" {
				t.Errorf("%s.sh %q exited %s:\n%s", c.script, c.args, status, read("output"))
			}
			if o := read("output"); o != "" {
				t.Errorf("%s.sh %q printed %q; maintainer scripts should be quiet", c.script, c.args, o)
			}
			calls := nonEmptyLines(read("systemctl"))
			if !slices.Equal(calls, c.calls) {
				t.Errorf("systemctl calls %q, want %q", calls, c.calls)
			}
			for _, call := range calls {
				if strings.Contains(call, "start") && call != tryRestart || strings.Contains(call, "enable") && !strings.Contains(call, "disable") {
					t.Errorf("systemctl %s: the scripts never start or enable cco", call)
				}
			}
			wantLeft := c.left
			if wantLeft == nil {
				wantLeft = all
			}
			if left := nonEmptyLines(read("left")); !slices.Equal(left, wantLeft) {
				t.Errorf("state left %q, want %q", left, wantLeft)
			}
		})
	}
}
