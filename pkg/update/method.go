package update

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Method is how the running cco was installed.
type Method string

// Install methods. Only Manual installs (an archive, install.sh or
// install.ps1) are replaced by `cco update`; for the others the package
// manager owns the file.
const (
	Manual   Method = "manual"
	Homebrew Method = "homebrew"
	Scoop    Method = "scoop"
	Winget   Method = "winget"
	Deb      Method = "deb"
	RPM      Method = "rpm"
	Package  Method = "package" // a package build on a system where neither dpkg nor rpm owns it
	GoBuild  Method = "go"      // go install / go build
)

// Managed reports whether a package manager or toolchain owns the binary.
func (m Method) Managed() bool { return m != Manual }

// Detector finds the install method of a binary. Its fields are the parts
// of the system it looks at, so tests can point them elsewhere.
type Detector struct {
	GOOS      string
	Arch      string // GOARCH
	ManagedBy string // version.Info.ManagedBy of the running binary
	Getenv    func(string) string
	Home      string
	// DpkgOwns reports whether dpkg owns path; nil runs `dpkg-query -S
	// PATH` when dpkg-query is installed.
	DpkgOwns func(path string) bool
	// DpkgHasCCO reports whether dpkg has the cco package installed; nil
	// runs `dpkg-query -W cco`.
	DpkgHasCCO func() bool
	// RPMOwns reports whether the rpm database owns path; nil runs
	// `rpm -qf PATH` when rpm is installed.
	RPMOwns func(path string) bool
	// Etc is the system's configuration folder, where Hint looks for cco's
	// apt or dnf repository; "" is /etc.
	Etc string
}

// Where cco's package repositories are (README's Install section); a
// system whose apt or dnf names them upgrades cco from there.
const (
	aptRepoURL = "visiquate.github.io/cco/apt"
	rpmRepoURL = "visiquate.github.io/cco/rpm"
)

// Detect returns how the binary at exe was installed. exe should be the
// path with symbolic links resolved.
func (d Detector) Detect(exe string) Method {
	slash := strings.ReplaceAll(exe, `\`, "/")
	lower := strings.ToLower(slash)
	switch {
	case strings.Contains(slash, "/Cellar/cco/"):
		return Homebrew
	case strings.Contains(lower, "/scoop/apps/cco/"):
		return Scoop
	case strings.Contains(lower, "/microsoft/winget/packages/visiquate.cco_"):
		// winget's portable installs: the zip unpacked into its own folder,
		// put on PATH through a link in WinGet/Links (resolved here).
		return Winget
	case d.dpkgOwns(exe):
		return Deb
	case d.rpmOwns(exe):
		return RPM
	case d.ManagedBy != "":
		if d.GOOS == "linux" && d.dpkgHasCCO() {
			return Deb
		}
		return Package
	case d.inGoBin(exe):
		return GoBuild
	}
	return Manual
}

// Hint is the command that updates an install of method m to version v
// (empty when unknown), for the user to run.
func (d Detector) Hint(m Method, v string) string {
	return hint(m, v, d.Arch, d.FromRepository(m))
}

// hint is Hint with what it looks up given: the architecture in package
// file names, and whether apt or dnf has cco's repository.
func hint(m Method, v, arch string, fromRepo bool) string {
	if v == "" {
		v = "VERSION"
	}
	switch m {
	case Homebrew:
		return "brew upgrade cco"
	case Scoop:
		return "scoop update cco"
	case Winget:
		return "winget upgrade visiquate.cco"
	case Deb:
		if fromRepo {
			return "sudo apt update && sudo apt upgrade cco"
		}
		return fmt.Sprintf("sudo apt install ./cco_%s_%s.deb   (download it from the release page)", v, arch)
	case RPM:
		if fromRepo {
			return "sudo dnf upgrade cco"
		}
		return fmt.Sprintf("sudo dnf install ./%s   (download it from the release page)", rpmName(v, arch))
	case Package:
		return fmt.Sprintf("install the cco %s package with the package manager that installed cco", v)
	case GoBuild:
		return "go install github.com/visiquate/cco/cmd/cco@main"
	}
	return "cco update"
}

// FromRepository reports whether apt (for a Deb install) or dnf (for an
// RPM one) is set up with cco's package repository: a source file named as
// the README names it (cco.sources, cco.repo, cco-beta.repo), or one that
// names the repository's address on a line not commented out.
func (d Detector) FromRepository(m Method) bool {
	etc := d.Etc
	if etc == "" {
		etc = "/etc"
	}
	var url string
	var named, patterns []string
	switch m {
	case Deb:
		url = aptRepoURL
		named = []string{"apt/sources.list.d/cco.sources", "apt/sources.list.d/cco.list"}
		patterns = []string{"apt/sources.list", "apt/sources.list.d/*.list", "apt/sources.list.d/*.sources"}
	case RPM:
		url = rpmRepoURL
		named = []string{"yum.repos.d/cco.repo", "yum.repos.d/cco-beta.repo"}
		patterns = []string{"yum.repos.d/*.repo"}
	default:
		return false
	}
	for _, name := range named {
		if fi, err := os.Stat(filepath.Join(etc, name)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	for _, pattern := range patterns {
		files, _ := filepath.Glob(filepath.Join(etc, pattern))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for line := range strings.Lines(string(data)) {
				if line = strings.TrimSpace(line); !strings.HasPrefix(line, "#") && strings.Contains(line, url) {
					return true
				}
			}
		}
	}
	return false
}

func (d Detector) dpkgOwns(exe string) bool {
	if d.GOOS != "linux" {
		return false
	}
	for p := range candidates(exe) {
		if d.DpkgOwns != nil {
			if d.DpkgOwns(p) {
				return true
			}
		} else if succeeds("dpkg-query", "--search", p) {
			return true
		}
	}
	return false
}

func (d Detector) dpkgHasCCO() bool {
	if d.DpkgHasCCO != nil {
		return d.DpkgHasCCO()
	}
	return succeeds("dpkg-query", "--show", "cco")
}

// candidates lists the names a file may be recorded under: on merged-/usr
// systems /bin/cco and /usr/bin/cco are one file.
func candidates(exe string) map[string]bool {
	c := map[string]bool{exe: true}
	for _, p := range []string{"/bin/", "/sbin/", "/lib/"} {
		if strings.HasPrefix(exe, "/usr"+p) {
			c[strings.TrimPrefix(exe, "/usr")] = true
		} else if strings.HasPrefix(exe, p) {
			c["/usr"+exe] = true
		}
	}
	return c
}

// succeeds runs a package database query, if its program is installed,
// and reports whether it exited 0.
func succeeds(name string, args ...string) bool {
	path, err := exec.LookPath(name)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, path, args...).Run() == nil
}

func (d Detector) rpmOwns(exe string) bool {
	if d.GOOS != "linux" {
		return false
	}
	if d.RPMOwns != nil {
		return d.RPMOwns(exe)
	}
	// A file no package owns makes rpm -qf exit 1.
	return succeeds("rpm", "--query", "--file", "--quiet", exe)
}

// inGoBin reports whether exe sits where `go install` puts binaries.
func (d Detector) inGoBin(exe string) bool {
	dir := filepath.Dir(exe)
	var bins []string
	if gobin := d.Getenv("GOBIN"); gobin != "" {
		bins = append(bins, gobin)
	}
	gopath := d.Getenv("GOPATH")
	if gopath == "" && d.Home != "" {
		gopath = filepath.Join(d.Home, "go")
	}
	for _, p := range filepath.SplitList(gopath) {
		if p != "" {
			bins = append(bins, filepath.Join(p, "bin"))
		}
	}
	for _, b := range bins {
		if sameDir(b, dir) {
			return true
		}
	}
	return false
}

func sameDir(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// rpmName is the file name of the release's .rpm for version v (2025.11.2
// or 2025.12.1-beta.1) and goarch: name-version-release.arch.rpm, as rpm
// tools and repositories expect. A prerelease is rpm's ~beta.1, written
// .beta.1 in the name, as GitHub would rename a ~ in an asset's name anyway
// (the package inside still says 2025.12.1~beta.1, which sorts before
// 2025.12.1).
func rpmName(v, goarch string) string {
	switch goarch {
	case "amd64":
		goarch = "x86_64"
	case "arm64":
		goarch = "aarch64"
	}
	if base, pre, ok := strings.Cut(v, "-"); ok {
		v = base + "." + strings.ReplaceAll(pre, "-", "_")
	}
	return fmt.Sprintf("cco-%s-1.%s.rpm", v, goarch)
}
