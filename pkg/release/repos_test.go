package release

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/visiquate/cco/pkg/fakegithub"
)

// readmeCommands returns the two commands the README gives for adding
// one of cco's package repositories, from the code block after the
// marker <!-- NAME: ... -->.
func readmeCommands(t *testing.T, repo, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- " + name + ":[^>]*-->\n```sh\n(.*?)```").FindSubmatch(data)
	if m == nil {
		t.Fatalf("README.md has no %s code block", name)
	}
	cmds := nonEmptyLines(string(m[1]))
	if len(cmds) != 2 {
		t.Fatalf("the README's %s block has %d commands, want the two it promises", name, len(cmds))
	}
	return cmds
}

// siteURL is where the README and the .repo files say the repositories are.
const siteURL = "https://visiquate.github.io/cco"

// repoSite is a copy of cco's package repositories (what GitHub Pages
// serves) served on 127.0.0.1: made by the release's script with a key of
// the test's own, or, when CCO_REPO_SITE names one, the release
// workflow's own, signed with the real key and not yet pushed.
type repoSite struct {
	dir, script string
	key         string // the armored secret key; "" for the workflow's site
	pub         string // the file with the public key the site must carry
	suite       string // where the release under test is: stable, or beta for a prerelease
	srv         *httptest.Server
}

// newRepoSite makes the repositories with r's packages in the stable suite,
// or serves a copy of CCO_REPO_SITE.
func newRepoSite(t *testing.T, r *releaseUnderTest) *repoSite {
	t.Helper()
	s := &repoSite{dir: t.TempDir(), script: filepath.Join(r.repo, "packaging", "scripts", "repos.sh"), suite: "stable"}
	s.srv = httptest.NewServer(http.FileServer(http.Dir(s.dir)))
	t.Cleanup(s.srv.Close)
	if published := os.Getenv("CCO_REPO_SITE"); published != "" {
		if err := os.CopyFS(s.dir, os.DirFS(published)); err != nil {
			t.Fatal(err)
		}
		s.pub = filepath.Join(r.repo, "packaging", "repo", "cco.asc")
		if strings.Contains(r.version, "-") {
			s.suite = "beta"
		}
		s.pointRepoFiles(t)
		return s
	}
	requireTools(t, "apt-ftparchive", "createrepo_c", "rpmsign", "gpg")
	var public string
	s.key, public = newRepoKey(t)
	s.pub = filepath.Join(t.TempDir(), "cco.asc")
	if err := os.WriteFile(s.pub, []byte(public), 0o644); err != nil {
		t.Fatal(err)
	}
	s.add(t, "stable", r)
	return s
}

// add puts the release's four packages into suite and signs the
// repositories again, as the release workflow does.
func (s *repoSite) add(t *testing.T, suite string, r *releaseUnderTest, env ...string) {
	t.Helper()
	if s.key == "" {
		t.Skip("CCO_REPO_SITE: the release's own repositories, which the test cannot sign")
	}
	args := []string{s.script, s.dir, suite}
	for _, arch := range []string{"amd64", "arm64"} {
		args = append(args, r.path(r.pkg("deb", arch)), r.path(r.pkg("rpm", arch)))
	}
	mustRunTool(t, append([]string{"REPO_SIGNING_KEY=" + s.key}, env...), "sh", args...)
	s.pointRepoFiles(t)
}

// pointRepoFiles points the .repo files at the test's server.
func (s *repoSite) pointRepoFiles(t *testing.T) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.dir, "rpm", "*.repo"))
	if len(files) != 2 {
		t.Fatalf("the site has %d .repo files, want cco.repo and cco-beta.repo", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), siteURL+"/") {
			t.Fatalf("%s does not name %s:\n%s", f, siteURL, data)
		}
		if err := os.WriteFile(f, []byte(strings.ReplaceAll(string(data), siteURL, s.srv.URL)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readmeReplacements are what the README's commands need changed besides
// the address: a beta is in the beta suite, as the README says.
func (s *repoSite) readmeReplacements() []string {
	if s.suite == "beta" {
		return []string{"Suites: stable", "Suites: beta", "rpm/cco.repo", "rpm/cco-beta.repo"}
	}
	return nil
}

// runReadme runs the README's command c as written, with the site's
// address in place of GitHub Pages' and the path replacements given;
// sudo is the test itself (root).
func (s *repoSite) runReadme(t *testing.T, c string, replace ...string) {
	t.Helper()
	shim := t.TempDir()
	if err := os.WriteFile(filepath.Join(shim, "sudo"), []byte("#!/bin/sh\nexec \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c = strings.NewReplacer(append([]string{siteURL, s.srv.URL}, replace...)...).Replace(c)
	if out, err := runToolIn(t, "/", []string{"PATH=" + shim + ":" + os.Getenv("PATH")}, "sh", "-ec", c); err != nil {
		t.Fatalf("README command %q: %v\n%s", c, err, out)
	}
}

// newRepoKey makes a signing key as `task release:repo-keygen` does and
// returns it armored: the secret key (public half included), and the
// public key alone.
func newRepoKey(t *testing.T) (secret, public string) {
	t.Helper()
	env := []string{"GNUPGHOME=" + t.TempDir()}
	mustRunTool(t, env, "gpg", "--batch", "--passphrase", "", "--quick-gen-key", "cco repo test <repo-test@localhost>", "rsa4096", "sign", "never")
	return mustRunTool(t, env, "gpg", "--batch", "--armor", "--export-secret-keys"), mustRunTool(t, env, "gpg", "--batch", "--armor", "--export")
}

// aptFrom runs apt-get with only the sources in parts and lists of its own,
// so that neither the machine's other sources nor its lists take part.
func aptFrom(t *testing.T, parts, lists string, args ...string) (string, error) {
	t.Helper()
	return aptToolFrom(t, "apt-get", parts, lists, args...)
}

// aptToolFrom is aptFrom for another of apt's programs (tool, apt itself
// for the commands people type).
func aptToolFrom(t *testing.T, tool, parts, lists string, args ...string) (string, error) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(lists, "partial"), 0o755); err != nil {
		t.Fatal(err)
	}
	full := append([]string{"-y", "-o", "DPkg::Lock::Timeout=300", "-o", "Dpkg::Use-Pty=0",
		"-o", "Dir::Etc::SourceList=/dev/null", "-o", "Dir::Etc::SourceParts=" + parts,
		"-o", "Dir::State::Lists=" + lists, "-o", "APT::Get::List-Cleanup=0"}, args...)
	return runToolIn(t, "/", aptEnv, tool, full...)
}

// A user adds the repository with the README's two commands, installs cco
// with apt, and gets the next release with apt upgrade, their edit of
// /etc/cco/config.toml kept; a repository signed by another key, or whose
// package list was altered, is refused. Root on a Debian machine (CI).
func TestAptRepository(t *testing.T) {
	r := loadRelease(t)
	requireDebianRoot(t)
	requireTools(t, "curl", "gpgv")
	if status, v := dpkgStatus(t); status != "" {
		t.Skipf("dpkg already knows cco (%s %s); this test installs and purges its own", status, v)
	}
	const keyring, sources = "/etc/apt/keyrings/cco.asc", "/etc/apt/sources.list.d/cco.sources"
	for _, p := range []string{keyring, sources, "/etc/cco"} {
		if presentOnDisk(p) {
			t.Skipf("%s exists already; this test would delete it", p)
		}
	}
	keyringsExisted := presentOnDisk("/etc/apt/keyrings")
	t.Cleanup(func() {
		purgeCCO(t)
		os.Remove(keyring)
		os.Remove(sources)
		if !keyringsExisted {
			os.Remove("/etc/apt/keyrings")
		}
		os.RemoveAll("/etc/cco")
	})

	site := newRepoSite(t, r)
	for _, c := range readmeCommands(t, r.repo, "apt-repository") {
		site.runReadme(t, c, site.readmeReplacements()...)
	}
	for _, p := range []string{keyring, sources} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o644 {
			t.Fatalf("after the README's commands %s: %v (want it, mode 0644)", p, err)
		}
	}
	// apt reads the .sources file the README wrote, but alone.
	parts := t.TempDir()
	data, err := os.ReadFile(sources)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parts, "cco.sources"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	lists := t.TempDir()
	apt := func(args ...string) {
		t.Helper()
		if out, err := aptFrom(t, parts, lists, args...); err != nil {
			t.Fatalf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	installed := func() string {
		t.Helper()
		_, v := dpkgStatus(t)
		return v
	}

	apt("update")
	apt("install", "cco")
	if v := installed(); v != debVersion(r.version) {
		t.Fatalf("apt installed cco %q, want %q", v, debVersion(r.version))
	}
	if out := mustRunTool(t, nil, "/usr/bin/cco", "version"); !strings.Contains(out, r.version) {
		t.Errorf("cco version: %q, want %s", out, r.version)
	}

	t.Run("cco update's advice", func(t *testing.T) {
		rel, err := fakegithub.ReleaseFromDir("v"+r.version, strings.Contains(r.version, "-"), r.dir)
		if err != nil {
			t.Fatal(err)
		}
		out, err := runUpdateTo(t, "/usr/bin/cco", fakegithub.NewGitHub(t, rel), r.version)
		if err == nil || !strings.Contains(string(out), "sudo apt update && sudo apt upgrade cco") {
			t.Errorf("cco update of a cco installed from the apt repository: %v, want the advice to upgrade with apt\n%s", err, out)
		}
	})
	t.Run("upgrade", func(t *testing.T) {
		next := os.Getenv("CCO_DIST_NEXT")
		if next == "" {
			t.Skip("CCO_DIST_NEXT not set: .ci/run builds a second snapshot with a higher version")
		}
		n := loadReleaseFrom(t, next)
		edit := "\n# kept by apt upgrade (TestAptRepository)\n"
		f, err := os.OpenFile("/etc/cco/config.toml", os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(edit)
		f.Close()
		upgrade := func() {
			t.Helper()
			apt("update")
			// What cco update advises for a repository install.
			if out, err := aptToolFrom(t, "apt", parts, lists, "upgrade", "cco"); err != nil {
				t.Fatalf("apt upgrade cco: %v\n%s", err, out)
			}
		}
		// A beta reaches only the beta suite: stable users never see it.
		site.add(t, "beta", n)
		upgrade()
		if v := installed(); v != debVersion(r.version) {
			t.Fatalf("a release in the beta suite reached a stable system: cco is %q, want %q", v, debVersion(r.version))
		}
		site.add(t, "stable", n)
		upgrade()
		if v := installed(); v != debVersion(n.version) {
			t.Fatalf("after apt upgrade cco is %q, want %q", v, debVersion(n.version))
		}
		if out := mustRunTool(t, nil, "/usr/bin/cco", "version"); !strings.Contains(out, n.version) {
			t.Errorf("cco version after the upgrade: %q, want %s", out, n.version)
		}
		if got, _ := os.ReadFile("/etc/cco/config.toml"); !strings.HasSuffix(string(got), edit) {
			t.Errorf("apt upgrade lost the edit of /etc/cco/config.toml:\n%s", got)
		}
	})

	// A copy of the repository, spoiled by spoil, served on its own and
	// named in a .sources file like the README's: apt must refuse it.
	refused := func(t *testing.T, spoil func(dir string), why *regexp.Regexp) {
		bad := t.TempDir()
		if err := os.CopyFS(bad, os.DirFS(site.dir)); err != nil {
			t.Fatal(err)
		}
		spoil(bad)
		badSrv := httptest.NewServer(http.FileServer(http.Dir(bad)))
		defer badSrv.Close()
		badParts := t.TempDir()
		if err := os.WriteFile(filepath.Join(badParts, "cco.sources"), []byte(strings.ReplaceAll(string(data), site.srv.URL, badSrv.URL)), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := aptFrom(t, badParts, t.TempDir(), "update")
		if err == nil {
			t.Fatalf("apt-get update accepted the spoiled repository:\n%s", out)
		}
		if !why.MatchString(out) {
			t.Errorf("apt-get update failed, but not for the reason expected (%s):\n%s", why, out)
		}
	}
	t.Run("another key", func(t *testing.T) {
		other, _ := newRepoKey(t)
		refused(t, func(dir string) {
			home := t.TempDir()
			env := []string{"GNUPGHOME=" + home}
			cmd := exec.Command("gpg", "--batch", "--import")
			cmd.Env = append(os.Environ(), env...)
			cmd.Stdin = strings.NewReader(other)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("gpg --import: %v\n%s", err, out)
			}
			rel := filepath.Join(dir, "apt", "dists", site.suite)
			os.Remove(filepath.Join(rel, "InRelease"))
			os.Remove(filepath.Join(rel, "Release.gpg"))
			mustRunTool(t, env, "gpg", "--batch", "--yes", "--clearsign", "--output", filepath.Join(rel, "InRelease"), filepath.Join(rel, "Release"))
		}, regexp.MustCompile(`NO_PUBKEY|not signed|signatures couldn't be verified`))
	})
	t.Run("altered Packages", func(t *testing.T) {
		refused(t, func(dir string) {
			for _, arch := range []string{"amd64", "arm64"} {
				p := filepath.Join(dir, "apt", "dists", site.suite, "main", "binary-"+arch)
				f, err := os.OpenFile(filepath.Join(p, "Packages"), os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteString("\nPackage: cco-spoiled\nVersion: 9999\nArchitecture: " + arch + "\nFilename: pool/stable/c/cco/x.deb\nSize: 1\n")
				f.Close()
				os.Remove(filepath.Join(p, "Packages.gz")) // apt takes the plain list then
			}
		}, regexp.MustCompile(`Hash Sum mismatch|unexpected size|File has unexpected`))
	})
}

// The dnf repository: its metadata's signature (repomd.xml.asc) and every
// package's (rpm -K) verify with the site's key, which is the one the
// repositories were signed with; the README's .repo file, fetched as it
// says, has dnf check both; and dnf installs cco from it into an empty
// root, then upgrades it to the next release (Debian's dnf, so into
// --installroot rather than over this Debian system).
func TestRpmRepository(t *testing.T) {
	r := loadRelease(t)
	requireTools(t, "rpm", "curl")
	site := newRepoSite(t, r)
	rpms := filepath.Join(site.dir, "rpm", site.suite)
	home := t.TempDir()
	gpgEnv := []string{"GNUPGHOME=" + home}
	mustRunTool(t, gpgEnv, "gpg", "--batch", "--import", filepath.Join(site.dir, "cco.asc"))
	if got, want := fingerprints(t, filepath.Join(site.dir, "cco.asc")), fingerprints(t, site.pub); got != want {
		t.Fatalf("the site's cco.asc is key %s, but it should be %s's, %s", got, site.pub, want)
	}

	t.Run("metadata signature", func(t *testing.T) {
		md := filepath.Join(rpms, "repodata", "repomd.xml")
		mustRunTool(t, gpgEnv, "gpg", "--batch", "--verify", md+".asc", md)
		spoiled := filepath.Join(t.TempDir(), "repomd.xml")
		data, err := os.ReadFile(md)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(spoiled, append(data, ' '), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := runToolIn(t, "/", gpgEnv, "gpg", "--batch", "--verify", md+".asc", spoiled); err == nil {
			t.Errorf("gpg verified repomd.xml.asc over an altered repomd.xml:\n%s", out)
		}
	})

	t.Run("package signatures", func(t *testing.T) {
		db := t.TempDir()
		mustRunTool(t, nil, "rpm", "--dbpath", db, "--import", filepath.Join(site.dir, "cco.asc"))
		for _, arch := range []string{"amd64", "arm64"} {
			name := r.pkg("rpm", arch)
			out := mustRunTool(t, nil, "rpm", "--dbpath", db, "-K", filepath.Join(rpms, name))
			if !strings.Contains(out, "signatures OK") {
				t.Errorf("rpm -K %s: %q, want its signatures OK", name, out)
			}
			// The release's own copy is unsigned (cosign covers it): rpm -K
			// must tell the difference, or the line above proves nothing.
			if out, _ := runToolIn(t, "/", nil, "rpm", "--dbpath", db, "-K", r.path(name)); strings.Contains(out, "signatures OK") {
				t.Errorf("rpm -K finds the unsigned %s signed: %q", name, out)
			}
		}
	})

	t.Run("dnf install and upgrade", func(t *testing.T) {
		if os.Geteuid() != 0 || runtime.GOARCH != "amd64" {
			t.Skip("dnf --installroot installs the x86_64 package: needs root on amd64")
		}
		requireTools(t, "dnf")
		cmds := readmeCommands(t, r.repo, "dnf-repository")
		if cmds[1] != "sudo dnf install cco" {
			t.Fatalf("the README's second dnf command is %q; this test runs sudo dnf install cco", cmds[1])
		}
		reposDir, root := t.TempDir(), t.TempDir()
		shellInto(t, root)
		site.runReadme(t, cmds[0], append(site.readmeReplacements(), "/etc/yum.repos.d", reposDir)...)
		conf, err := os.ReadFile(filepath.Join(reposDir, "cco.repo"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"gpgcheck=1", "repo_gpgcheck=1", "baseurl=" + site.srv.URL + "/rpm/" + site.suite} {
			if !slices.Contains(nonEmptyLines(string(conf)), want) {
				t.Errorf("cco.repo has no line %s:\n%s", want, conf)
			}
		}
		dnf := func(args ...string) string {
			t.Helper()
			full := append([]string{"-y", "--installroot", root, "--releasever", "1", "--setopt", "reposdir=" + reposDir,
				"--setopt", "cachedir=" + filepath.Join(root, "var", "cache", "dnf"), "--setopt", "install_weak_deps=False"}, args...)
			out, err := runToolIn(t, "/", nil, "dnf", full...)
			if err != nil {
				t.Fatalf("dnf %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			return out
		}
		installed := func() string {
			t.Helper()
			return mustRunTool(t, nil, "rpm", "--root", root, "-q", "--qf", "%{VERSION}", "cco")
		}
		// dnf checks the signatures with the key the .repo file names,
		// which it takes only after asking (-y answers).
		if out := dnf("install", "cco"); !strings.Contains(out, "Importing GPG key") {
			t.Errorf("dnf installed cco without importing the repository's key:\n%s", out)
		}
		if v := installed(); v != debVersion(r.version) {
			t.Fatalf("dnf installed cco %q, want %q", v, debVersion(r.version))
		}
		if out := mustRunTool(t, nil, filepath.Join(root, "usr", "bin", "cco"), "version"); !strings.Contains(out, r.version) {
			t.Errorf("cco version: %q, want %s", out, r.version)
		}
		next := os.Getenv("CCO_DIST_NEXT")
		if next == "" {
			t.Skip("CCO_DIST_NEXT not set: .ci/run builds a second snapshot with a higher version")
		}
		n := loadReleaseFrom(t, next)
		site.add(t, "beta", n)
		dnf("--refresh", "upgrade", "cco")
		if v := installed(); v != debVersion(r.version) {
			t.Fatalf("a release in the beta repository reached a stable system: cco is %q, want %q", v, debVersion(r.version))
		}
		site.add(t, "stable", n)
		dnf("--refresh", "upgrade", "cco") // what cco update advises
		if v := installed(); v != debVersion(n.version) {
			t.Fatalf("after dnf upgrade cco is %q, want %q", v, debVersion(n.version))
		}
	})
}

// fingerprints returns the fingerprints of the keys in the armored file.
func fingerprints(t *testing.T, file string) string {
	t.Helper()
	cmd := exec.Command("gpg", "--batch", "--with-colons", "--show-keys", file)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg --show-keys %s: %v", file, err)
	}
	var fprs []string
	for _, line := range nonEmptyLines(string(out)) {
		if f := strings.Split(line, ":"); f[0] == "fpr" {
			fprs = append(fprs, f[9])
		}
	}
	return strings.Join(fprs, " ")
}

// shellInto gives the empty root a /bin/sh (this machine's, with the
// libraries it loads), which the package's scriptlets run with, as every
// rpm system has one.
func shellInto(t *testing.T, root string) {
	t.Helper()
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{sh}
	for _, f := range strings.Fields(mustRunTool(t, nil, "ldd", sh)) {
		if strings.HasPrefix(f, "/") {
			files = append(files, f)
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(root, f)
		if f == sh {
			dst = filepath.Join(root, "bin", "sh")
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// Each suite keeps its newest KEEP versions; older packages leave both
// repositories, and the indexes no longer name them.
func TestRepoPrune(t *testing.T) {
	r := loadRelease(t)
	next := os.Getenv("CCO_DIST_NEXT")
	if next == "" {
		t.Skip("CCO_DIST_NEXT not set: .ci/run builds a second snapshot with a higher version")
	}
	n := loadReleaseFrom(t, next)
	site := newRepoSite(t, r)
	site.add(t, "stable", n, "KEEP=1")
	for dir, format := range map[string]string{"apt/pool/stable/c/cco": "deb", "rpm/stable": "rpm"} {
		entries, err := os.ReadDir(filepath.Join(site.dir, dir))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			if !e.IsDir() {
				got = append(got, e.Name())
			}
		}
		want := []string{n.pkg(format, "amd64"), n.pkg(format, "arm64")}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s with KEEP=1 after %s holds %v, want %v", dir, n.version, got, want)
		}
	}
	packages, err := os.ReadFile(filepath.Join(site.dir, "apt", "dists", "stable", "main", "binary-amd64", "Packages"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(packages), debVersion(r.version)) || !strings.Contains(string(packages), debVersion(n.version)) {
		t.Errorf("Packages after pruning names the wrong versions:\n%s", packages)
	}
}
