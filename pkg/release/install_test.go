package release

// The installer tests run install.sh for real (sh, curl or wget, tar,
// sha256sum, cosign) against a fake GitHub on 127.0.0.1 serving the
// release in CCO_DIST, each run with a PATH of chosen tools, a fresh HOME
// and TMPDIR, and proxies that point at a closed port of 127.0.0.1, so that
// nothing leaves this machine (cosign tries to fetch Sigstore's TUF root and
// fails at once, then verifies with the key).

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/fakegithub"
)

// installerTools returns the commands install.sh may use, linked into the
// PATH of each run unless left out. gzip is for tar -z.
func installerTools() []string {
	return []string{
		"sh", "curl", "wget", "tar", "gzip", "mktemp", "uname", "tr", "sed", "cut",
		"paste", "wc", "cat", "rm", "mkdir", "cp", "chmod", "mv", "grep", "sha256sum", "shasum",
	}
}

// betaVersion is the version of the prerelease made up for the channel tests:
// newer than any snapshot.
const betaVersion = "9999.1.1-beta.1"

// installerRoot returns the repository's root folder.
func installerRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// installerDist returns the dist folder named by CCO_DIST, or skips.
func installerDist(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CCO_DIST")
	if dir == "" {
		t.Skip("CCO_DIST not set: run task release:verify")
	}
	return dir
}

// installerArch returns the architecture in this machine's Linux archive
// name, or skips where install.sh cannot be tested for real.
func installerArch(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the install.sh tests run on Linux")
	}
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	t.Skipf("no release archive for linux/%s", runtime.GOARCH)
	return ""
}

// archiveName matches the archives GoReleaser makes: cco-v<VERSION>-<os>-<arch>.<ext>.
var archiveName = regexp.MustCompile(`^cco-v(.+)-(darwin|linux|windows)-(x86_64|aarch64|arm64)\.(tar\.gz|zip)$`)

// installerVersion returns the version in the names of the archives in dist,
// failing unless there is exactly one.
func installerVersion(t *testing.T, dist string) string {
	t.Helper()
	entries, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]bool{}
	for _, e := range entries {
		if m := archiveName.FindStringSubmatch(e.Name()); m != nil {
			versions[m[1]] = true
		}
	}
	if len(versions) != 1 {
		t.Fatalf("want the archives of one version in %s, found %v", dist, slices.Sorted(maps.Keys(versions)))
	}
	for v := range versions {
		return v
	}
	return ""
}

// findCosign returns the cosign to test with: the one named by
// CCO_TEST_COSIGN (to try another version), else the repository's bin/tools
// one, else one on PATH, else "".
func findCosign(root string) string {
	if p := os.Getenv("CCO_TEST_COSIGN"); p != "" {
		return p
	}
	if p := filepath.Join(root, "bin", "tools", "cosign"); isExecutable(p) {
		return p
	}
	p, err := exec.LookPath("cosign")
	if err != nil {
		return ""
	}
	return p
}

// isExecutable reports whether path is an executable regular file.
func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

// installOpts varies one run of install.sh.
type installOpts struct {
	// cosign puts cosign on PATH (the test is skipped if there is none).
	cosign bool
	// omit leaves these tools out of PATH.
	omit []string
	// stubs replaces tools with these shell scripts.
	stubs map[string]string
	// env adds NAME=value pairs.
	env []string
	// shell is the command that runs the script; nil means /bin/sh.
	shell []string
	// onPath puts the install folder on PATH too.
	onPath bool
}

// installResult is what one run of install.sh did.
type installResult struct {
	stdout, stderr string
	err            error
	// dir is the install folder (CCO_INSTALL_DIR).
	dir string
}

// output returns stdout and stderr, for failure messages.
func (r installResult) output() string {
	return "stdout:\n" + r.stdout + "\nstderr:\n" + r.stderr
}

// runInstaller runs `sh install.sh args...` from the repository's root
// against gh, with HOME, CCO_INSTALL_DIR and TMPDIR in fresh folders and a
// PATH of installerTools as opts says. It checks that the temporary folder
// was removed.
func runInstaller(t *testing.T, gh *fakegithub.GitHub, opts installOpts, args ...string) installResult {
	t.Helper()
	root := installerRoot(t)
	toolbox := t.TempDir()
	for _, tool := range installerTools() {
		if slices.Contains(opts.omit, tool) {
			continue
		}
		if _, stubbed := opts.stubs[tool]; stubbed {
			continue
		}
		p, err := exec.LookPath(tool)
		if err != nil {
			continue // wget, shasum and the like may be missing; tests needing them skip
		}
		if err := os.Symlink(p, filepath.Join(toolbox, tool)); err != nil {
			t.Fatal(err)
		}
	}
	for tool, script := range opts.stubs {
		if err := os.WriteFile(filepath.Join(toolbox, tool), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if opts.cosign {
		cosign := findCosign(root)
		if cosign == "" {
			t.Skip("cosign not found in bin/tools or on PATH: run task release:snapshot")
		}
		if err := os.Symlink(cosign, filepath.Join(toolbox, "cosign")); err != nil {
			t.Fatal(err)
		}
	}

	home, tmp := t.TempDir(), t.TempDir()
	dir := filepath.Join(home, ".local", "bin")
	const deadProxy = "http://127.0.0.1:9"
	shell := opts.shell
	if shell == nil {
		shell = []string{"/bin/sh"}
	}
	cmd := exec.Command(shell[0], slices.Concat(shell[1:], []string{installerScript(t, root)}, args)...)
	cmd.Dir = root
	path := toolbox
	if opts.onPath {
		path += string(os.PathListSeparator) + dir
	}
	cmd.Env = append([]string{
		"PATH=" + path,
		"HOME=" + home,
		"TMPDIR=" + tmp,
		"SHELL=/bin/bash",
		"LC_ALL=C",
		"CCO_INSTALL_DIR=" + dir,
		"CCO_GITHUB_API_URL=" + gh.APIURL(),
		"CCO_DOWNLOAD_URL=" + gh.DownloadURL(),
		"HTTPS_PROXY=" + deadProxy, "https_proxy=" + deadProxy,
		"HTTP_PROXY=" + deadProxy, "http_proxy=" + deadProxy,
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
	}, opts.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute): // a hang, not a performance bound
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("install.sh %q did not finish:\n%s\n%s", args, stdout.String(), stderr.String())
	}
	r := installResult{stdout: stdout.String(), stderr: stderr.String(), err: err, dir: dir}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("install.sh left %s in TMPDIR\n%s", left[0].Name(), r.output())
	}
	return r
}

// wantInstalled checks that the run succeeded and installed a working cco
// that prints version.
func wantInstalled(t *testing.T, r installResult, version string) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("install.sh failed: %v\n%s", r.err, r.output())
	}
	bin := filepath.Join(r.dir, "cco")
	info, err := os.Stat(bin)
	if err != nil {
		t.Fatalf("no cco installed: %v\n%s", err, r.output())
	}
	if info.Mode().Perm() != 0o755 {
		t.Errorf("installed cco has mode %v, want 0755", info.Mode().Perm())
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("installed cco version: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), version) {
		t.Errorf("installed cco version prints %q, want %s", out, version)
	}
	entries, _ := os.ReadDir(r.dir)
	if len(entries) != 1 {
		t.Errorf("install folder holds %d entries, want only cco", len(entries))
	}
}

// wantRefused checks that the run failed with an error that mentions every
// one of phrases, and installed nothing.
func wantRefused(t *testing.T, r installResult, phrases ...string) {
	t.Helper()
	if r.err == nil {
		t.Fatalf("install.sh succeeded, want a refusal\n%s", r.output())
	}
	if _, err := os.Stat(filepath.Join(r.dir, "cco")); !os.IsNotExist(err) {
		t.Errorf("install.sh failed but installed cco (%v)\n%s", err, r.output())
	}
	if entries, _ := os.ReadDir(r.dir); len(entries) != 0 {
		t.Errorf("install.sh failed but left %s in the install folder", entries[0].Name())
	}
	if !strings.Contains(r.stderr, "cco install: ") {
		t.Errorf("the error does not start with 'cco install: '\n%s", r.output())
	}
	for _, p := range phrases {
		if !strings.Contains(r.stderr, p) {
			t.Errorf("the error does not mention %q\n%s", p, r.output())
		}
	}
}

// withAsset returns a copy of rel whose asset name has content, or has
// none when content is nil.
func withAsset(rel fakegithub.Release, name string, content []byte) fakegithub.Release {
	rel.Assets = maps.Clone(rel.Assets)
	if content == nil {
		delete(rel.Assets, name)
	} else {
		rel.Assets[name] = content
	}
	return rel
}

// requested reports whether gh received a request whose line contains part.
func requested(gh *fakegithub.GitHub, part string) bool {
	return slices.ContainsFunc(gh.Requests(), func(line string) bool { return strings.Contains(line, part) })
}

// renamedRelease returns rel's assets as a release tagged v+to: the
// archives and their .sha256 files renamed from version from to to, and
// checksums.sha256 computed anew over the renamed archives. It has no
// signature.
func renamedRelease(t *testing.T, rel fakegithub.Release, from, to string) fakegithub.Release {
	t.Helper()
	out := fakegithub.Release{Tag: "v" + to, Assets: map[string][]byte{}}
	var sums strings.Builder
	for _, name := range slices.Sorted(maps.Keys(rel.Assets)) {
		m := archiveName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		renamed := strings.Replace(name, "cco-v"+from+"-", "cco-v"+to+"-", 1)
		sum := sha256.Sum256(rel.Assets[name])
		line := hex.EncodeToString(sum[:]) + "  " + renamed + "\n"
		out.Assets[renamed] = rel.Assets[name]
		out.Assets[renamed+".sha256"] = []byte(line)
		sums.WriteString(line)
	}
	out.Assets["checksums.sha256"] = []byte(sums.String())
	return out
}

func TestInstallScriptSyntax(t *testing.T) {
	root := installerRoot(t)
	if out, err := exec.Command("sh", "-n", filepath.Join(root, "install.sh")).CombinedOutput(); err != nil {
		t.Errorf("sh -n install.sh: %v\n%s", err, out)
	}
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck is not installed (CI installs it)")
	}
	cmd := exec.Command(shellcheck, "install.sh")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck install.sh: %v\n%s", err, out)
	}
}

func TestInstallScriptsEmbedReleaseKey(t *testing.T) {
	root := installerRoot(t)
	key, err := os.ReadFile(filepath.Join(root, "packaging", "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(string(key))
	pem := regexp.MustCompile(`(?s)-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----`)
	for _, script := range []string{"install.sh", "install.ps1"} {
		data, err := os.ReadFile(filepath.Join(root, script))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "\r\n", "\n")
		found := pem.FindAllString(text, -1)
		if len(found) != 1 || found[0] != want {
			t.Errorf("%s embeds %q, want packaging/cosign.pub:\n%s", script, found, want)
		}
	}
}

// TestInstallPowerShellScript checks what can be checked of install.ps1
// without PowerShell (none on these machines): the parts it must have, and
// here-strings closed at the start of a line, as PowerShell requires.
func TestInstallPowerShellScript(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(installerRoot(t), "install.ps1"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{
		"$ErrorActionPreference = 'Stop'",
		"Invoke-RestMethod", "-UseBasicParsing", "Get-FileHash", "-Algorithm SHA256",
		"verify-blob", "--insecure-ignore-tlog=true", "checksums.sha256.sig",
		"-windows-x86_64.zip", "cco.exe", "'version'",
		"[Environment]::SetEnvironmentVariable('Path'", "'User')",
		"$env:CCO_VERSION", "$env:CCO_CHANNEL", "$env:CCO_INSTALL_DIR",
		"$env:CCO_GITHUB_API_URL", "$env:CCO_DOWNLOAD_URL", "$env:GITHUB_TOKEN",
		"Programs\\cco", "/releases/latest", "/releases?per_page=",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("install.ps1 lacks %q", want)
		}
	}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if last := strings.TrimSpace(lines[len(lines)-2]); last != "}" {
		t.Errorf("install.ps1 ends with %q, want the end of the block that calls Install-Cco", last)
	}
	open := 0
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasSuffix(trimmed, "@'") || strings.HasSuffix(trimmed, "@\""):
			open++
		case trimmed == "'@" || trimmed == "\"@":
			if line != trimmed {
				t.Errorf("install.ps1:%d: a here-string must close at the start of the line", i+1)
			}
			open--
		}
	}
	if open != 0 {
		t.Errorf("install.ps1 has %d unclosed here-strings", open)
	}
}

func TestInstallScriptHelp(t *testing.T) {
	root := installerRoot(t)
	cmd := exec.Command("sh", "install.sh", "--help")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("install.sh --help: %v", err)
	}
	for _, want := range []string{
		"--version", "--channel", "--dir", "--help", "CCO_VERSION", "CCO_CHANNEL",
		"CCO_INSTALL_DIR", "CCO_GITHUB_API_URL", "CCO_DOWNLOAD_URL", "GITHUB_TOKEN", "cosign",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("install.sh --help does not mention %s", want)
		}
	}
	for _, args := range [][]string{{"--bogus"}, {"--channel", "nightly"}, {"--version"}, {"--version", "latest"}} {
		cmd := exec.Command("sh", append([]string{"install.sh"}, args...)...)
		cmd.Dir = root
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if code := cmd.ProcessState.ExitCode(); err == nil || code != 2 {
			t.Errorf("install.sh %q: exit %d, want 2", args, code)
		}
		if !strings.HasPrefix(stderr.String(), "cco install: ") {
			t.Errorf("install.sh %q: stderr %q", args, stderr.String())
		}
	}
}

func TestInstall(t *testing.T) {
	arch := installerArch(t)
	dist := installerDist(t)
	version := installerVersion(t, dist)
	stable, err := fakegithub.ReleaseFromDir("v"+version, false, dist)
	if err != nil {
		t.Fatal(err)
	}
	stable.Published = time.Date(2025, time.November, 1, 12, 0, 0, 0, time.UTC)
	archive := "cco-v" + version + "-linux-" + arch + ".tar.gz"
	for _, name := range []string{archive, "checksums.sha256", "checksums.sha256.sig"} {
		if _, ok := stable.Assets[name]; !ok {
			t.Fatalf("%s has no %s", dist, name)
		}
	}

	t.Run("stable with cosign", func(t *testing.T) {
		t.Parallel()
		gh := fakegithub.NewGitHub(t, stable)
		r := runInstaller(t, gh, installOpts{cosign: true})
		t.Logf("what a user sees:\n%s", r.output())
		wantInstalled(t, r, version)
		if !strings.Contains(r.stdout, "Verified the signature of checksums.sha256 with cosign") {
			t.Errorf("no word of the signature check\n%s", r.output())
		}
		for _, part := range []string{"/releases/latest", "/v" + version + "/" + archive, "/checksums.sha256.sig"} {
			if !requested(gh, part) {
				t.Errorf("no request for %s: %q", part, gh.Requests())
			}
		}
		if !strings.Contains(r.stdout, "is not on your PATH") || !strings.Contains(r.stdout, "~/.bashrc") {
			t.Errorf("no PATH hint\n%s", r.output())
		}
	})

	t.Run("stable without cosign", func(t *testing.T) {
		t.Parallel()
		gh := fakegithub.NewGitHub(t, stable)
		r := runInstaller(t, gh, installOpts{onPath: true})
		wantInstalled(t, r, version)
		if strings.Contains(r.stdout, "PATH") {
			t.Errorf("a PATH hint although the folder is on PATH\n%s", r.output())
		}
		if !strings.Contains(r.stdout, "signature of checksums.sha256 was not checked") {
			t.Errorf("no word that the signature was not checked\n%s", r.output())
		}
		if requested(gh, ".sig") {
			t.Errorf("downloaded the signature without cosign: %q", gh.Requests())
		}
	})

	t.Run("wget and shasum", func(t *testing.T) {
		t.Parallel()
		for _, tool := range []string{"wget", "shasum"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Skipf("%s is not installed", tool)
			}
		}
		gh := fakegithub.NewGitHub(t, stable)
		r := runInstaller(t, gh, installOpts{omit: []string{"curl", "sha256sum"}})
		wantInstalled(t, r, version)
	})

	t.Run("other shells", func(t *testing.T) {
		t.Parallel()
		// macOS runs `curl ... | sh` with bash in POSIX mode.
		for _, shell := range [][]string{{"bash", "--posix"}, {"zsh", "--emulate", "sh"}} {
			path, err := exec.LookPath(shell[0])
			if err != nil {
				t.Logf("%s is not installed", shell[0])
				continue
			}
			gh := fakegithub.NewGitHub(t, stable)
			r := runInstaller(t, gh, installOpts{cosign: true, shell: append([]string{path}, shell[1:]...)}, "--channel", "beta")
			wantInstalled(t, r, version)
			r = runInstaller(t, gh, installOpts{shell: append([]string{path}, shell[1:]...)}, "--version", "2099.1.1")
			wantRefused(t, r, "v2099.1.1")
		}
	})

	t.Run("compact JSON", func(t *testing.T) {
		t.Parallel()
		gh, err := fakegithub.StartGitHub(fakegithub.GitHubOptions{Compact: true}, stable)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(gh.Close)
		wantInstalled(t, runInstaller(t, gh, installOpts{}), version)
	})

	t.Run("version flag and variable", func(t *testing.T) {
		t.Parallel()
		gh := fakegithub.NewGitHub(t, stable)
		for _, run := range []struct {
			args []string
			env  []string
		}{
			{args: []string{"--version", version}},
			{args: []string{"--version=v" + version}},
			{env: []string{"CCO_VERSION=v" + version}},
			{args: []string{"--version", version}, env: []string{"CCO_VERSION=2000.1.1"}}, // the flag wins
		} {
			r := runInstaller(t, gh, installOpts{cosign: true, env: run.env}, run.args...)
			wantInstalled(t, r, version)
		}
		if requested(gh, "/repos/") {
			t.Errorf("asked the API although the version was given: %q", gh.Requests())
		}
	})

	t.Run("dir flag", func(t *testing.T) {
		t.Parallel()
		gh := fakegithub.NewGitHub(t, stable)
		dir := filepath.Join(t.TempDir(), "new", "bin")
		r := runInstaller(t, gh, installOpts{}, "--dir", dir)
		r.dir = dir
		wantInstalled(t, r, version)
	})

	t.Run("reinstall replaces", func(t *testing.T) {
		t.Parallel()
		gh := fakegithub.NewGitHub(t, stable)
		r := runInstaller(t, gh, installOpts{})
		wantInstalled(t, r, version)
		bin := filepath.Join(r.dir, "cco")
		if err := os.WriteFile(bin, []byte("#!/bin/sh\necho old\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		r2 := runInstaller(t, gh, installOpts{}, "--dir", r.dir)
		r2.dir = r.dir
		wantInstalled(t, r2, version)
	})

	t.Run("GITHUB_TOKEN goes to the API only", func(t *testing.T) {
		t.Parallel()
		gh := fakegithub.NewGitHub(t, stable)
		r := runInstaller(t, gh, installOpts{env: []string{"GITHUB_TOKEN=ghp_test123"}})
		wantInstalled(t, r, version)
		lines, headers := gh.Requests(), gh.RequestHeaders()
		for i, line := range lines {
			auth := headers[i].Get("Authorization")
			api := strings.Contains(line, " /repos/")
			if api && auth != "Bearer ghp_test123" || !api && auth != "" {
				t.Errorf("%s: Authorization %q", line, auth)
			}
		}
	})

	t.Run("tampered checksums", func(t *testing.T) {
		t.Parallel()
		sums := string(stable.Assets["checksums.sha256"])
		line := regexp.MustCompile(`(?m)^([0-9a-f]{64})  ` + regexp.QuoteMeta(archive) + `$`).FindStringSubmatch(sums)
		if line == nil {
			t.Fatalf("checksums.sha256 has no line for %s", archive)
		}
		tampered := strings.Replace(sums, line[1], strings.Repeat("0", 64), 1)
		gh := fakegithub.NewGitHub(t, withAsset(stable, "checksums.sha256", []byte(tampered)))
		r := runInstaller(t, gh, installOpts{})
		t.Logf("what a user sees:\n%s", r.output())
		wantRefused(t, r, "checksum mismatch", archive)
		r = runInstaller(t, gh, installOpts{cosign: true})
		t.Logf("what a user with cosign sees:\n%s", r.output())
		wantRefused(t, r, "signature")
	})

	t.Run("no line for the archive", func(t *testing.T) {
		t.Parallel()
		var kept []string
		for line := range strings.Lines(string(stable.Assets["checksums.sha256"])) {
			if !strings.Contains(line, archive) {
				kept = append(kept, line)
			}
		}
		gh := fakegithub.NewGitHub(t, withAsset(stable, "checksums.sha256", []byte(strings.Join(kept, ""))))
		wantRefused(t, runInstaller(t, gh, installOpts{}), "no line for "+archive)
	})

	t.Run("bad signature", func(t *testing.T) {
		t.Parallel()
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		digest := sha256.Sum256([]byte("other data"))
		sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		encoded := []byte(base64.StdEncoding.EncodeToString(sig))
		gh := fakegithub.NewGitHub(t, withAsset(stable, "checksums.sha256.sig", encoded))
		wantRefused(t, runInstaller(t, gh, installOpts{cosign: true}), "signature of checksums.sha256 does not verify")
	})

	t.Run("missing signature", func(t *testing.T) {
		t.Parallel()
		gh := fakegithub.NewGitHub(t, withAsset(stable, "checksums.sha256.sig", nil))
		wantRefused(t, runInstaller(t, gh, installOpts{cosign: true}), "checksums.sha256.sig")
	})

	t.Run("missing checksums", func(t *testing.T) {
		t.Parallel()
		gh := fakegithub.NewGitHub(t, withAsset(stable, "checksums.sha256", nil))
		wantRefused(t, runInstaller(t, gh, installOpts{}), "checksums.sha256", "nothing installed")
	})

	t.Run("download cut halfway", func(t *testing.T) {
		t.Parallel()
		gh := fakegithub.NewGitHub(t, stable)
		gh.SetFault(archive, fakegithub.FaultCutHalfway)
		wantRefused(t, runInstaller(t, gh, installOpts{}), "cannot download", archive)
		if _, err := exec.LookPath("wget"); err == nil {
			wantRefused(t, runInstaller(t, gh, installOpts{omit: []string{"curl"}}), "cannot download", archive)
		}
	})

	t.Run("no such version", func(t *testing.T) {
		t.Parallel()
		gh := fakegithub.NewGitHub(t, stable)
		wantRefused(t, runInstaller(t, gh, installOpts{}, "--version", "2099.1.1"), "v2099.1.1", "cannot download")
	})

	t.Run("no stable release", func(t *testing.T) {
		t.Parallel()
		beta := renamedRelease(t, stable, version, betaVersion)
		beta.Prerelease = true
		gh := fakegithub.NewGitHub(t, beta)
		wantRefused(t, runInstaller(t, gh, installOpts{}), "/releases/latest", "--channel beta")
	})

	t.Run("no hashing tool", func(t *testing.T) {
		t.Parallel()
		gh := fakegithub.NewGitHub(t, stable)
		wantRefused(t, runInstaller(t, gh, installOpts{omit: []string{"sha256sum", "shasum"}}), "sha256sum", "shasum")
		if len(gh.Requests()) != 0 {
			t.Errorf("downloaded without a way to check: %q", gh.Requests())
		}
	})

	t.Run("binary that does not run", func(t *testing.T) {
		t.Parallel()
		// On "macOS" the darwin archive is chosen, and its binary cannot run
		// here: it must not be installed.
		gh := fakegithub.NewGitHub(t, stable)
		uname := `case "$1" in -m) echo arm64 ;; *) echo Darwin ;; esac`
		r := runInstaller(t, gh, installOpts{stubs: map[string]string{"uname": uname}})
		wantRefused(t, r, "does not run on this machine")
		if !requested(gh, "/cco-v"+version+"-darwin-arm64.tar.gz") {
			t.Errorf("did not download the darwin-arm64 archive: %q", gh.Requests())
		}
	})

	t.Run("unsupported platform", func(t *testing.T) {
		t.Parallel()
		gh := fakegithub.NewGitHub(t, stable)
		r := runInstaller(t, gh, installOpts{stubs: map[string]string{"uname": "echo FreeBSD"}})
		wantRefused(t, r, "no cco build for this operating system (FreeBSD)")
		r = runInstaller(t, gh, installOpts{stubs: map[string]string{"uname": `case "$1" in -m) echo riscv64 ;; *) echo Linux ;; esac`}})
		wantRefused(t, r, "no cco build for this CPU (riscv64)")
		if len(gh.Requests()) != 0 {
			t.Errorf("downloaded for an unsupported platform: %q", gh.Requests())
		}
	})

	t.Run("channels", func(t *testing.T) {
		t.Parallel()
		beta := renamedRelease(t, stable, version, betaVersion)
		beta.Prerelease = true
		beta.Published = stable.Published.Add(24 * time.Hour)
		// A newer draft, whose notes hold what a careless JSON reader takes
		// for a release, must be passed over.
		draft := fakegithub.Release{
			Tag:       "v9999.2.1",
			Draft:     true,
			Published: beta.Published.Add(24 * time.Hour),
			Body:      `Not yet: {"tag_name": "v1.0.0", "draft": false}`,
		}
		betaArchive := "cco-v" + betaVersion + "-linux-" + arch + ".tar.gz"
		for _, run := range []struct {
			name string
			args []string
			env  []string
		}{
			{name: "flag", args: []string{"--channel", "beta"}},
			{name: "variable", env: []string{"CCO_CHANNEL=beta"}},
		} {
			gh := fakegithub.NewGitHub(t, stable, beta, draft)
			// The made-up prerelease has no signature: no cosign.
			r := runInstaller(t, gh, installOpts{env: run.env}, run.args...)
			wantInstalled(t, r, version) // the binary inside is the snapshot's
			if !strings.Contains(r.stdout, "Installing cco v"+betaVersion) || !requested(gh, "/v"+betaVersion+"/"+betaArchive) {
				t.Errorf("%s: did not install the prerelease v%s\n%s\n%q", run.name, betaVersion, r.output(), gh.Requests())
			}
			if !requested(gh, "/repos/visiquate/cco/releases?") {
				t.Errorf("%s: did not list the releases: %q", run.name, gh.Requests())
			}
		}

		gh := fakegithub.NewGitHub(t, stable, beta, draft)
		r := runInstaller(t, gh, installOpts{cosign: true}, "--channel", "stable")
		wantInstalled(t, r, version)
		if !strings.Contains(r.stdout, "Installing cco v"+version+" ") || requested(gh, betaVersion) {
			t.Errorf("the stable channel did not install v%s\n%s\n%q", version, r.output(), gh.Requests())
		}
	})

	t.Run("beta channel falls back to stable", func(t *testing.T) {
		t.Parallel()
		gh := fakegithub.NewGitHub(t, stable, fakegithub.Release{Tag: "v9999.3.1", Draft: true, Published: stable.Published.Add(time.Hour)})
		r := runInstaller(t, gh, installOpts{cosign: true}, "--channel", "beta")
		wantInstalled(t, r, version)
		if !strings.Contains(r.stdout, fmt.Sprintf("Installing cco v%s ", version)) {
			t.Errorf("the beta channel did not install the newest published release\n%s", r.output())
		}
	})
}

// installerScript is install.sh, or, when dist/ was signed with another key
// than packaging/cosign.pub (a snapshot's throw-away key, named by
// CCO_COSIGN_PUB), a copy of it that carries that key instead: the script
// is otherwise unchanged, so it is still what users run that is tested.
func installerScript(t *testing.T, root string) string {
	t.Helper()
	other := os.Getenv("CCO_COSIGN_PUB")
	if other == "" {
		return "install.sh"
	}
	committed, err := os.ReadFile(filepath.Join(root, "packaging", "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	signing, err := os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(bytes.TrimSpace(committed), bytes.TrimSpace(signing)) {
		return "install.sh"
	}
	script, err := os.ReadFile(filepath.Join(root, "install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	swapped := bytes.Replace(script, bytes.TrimSpace(committed), bytes.TrimSpace(signing), 1)
	if bytes.Equal(swapped, script) {
		t.Fatal("install.sh does not embed packaging/cosign.pub")
	}
	path := filepath.Join(t.TempDir(), "install.sh")
	if err := os.WriteFile(path, swapped, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
