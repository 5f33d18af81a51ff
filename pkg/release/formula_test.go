package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// distFor returns the dist folder under test, or skips.
func distFor(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CCO_DIST")
	if dir == "" {
		t.Skip("CCO_DIST not set: run task release:verify")
	}
	return dir
}

// archiveHashes reads checksums.sha256 into name -> hash.
func archiveHashes(t *testing.T, dist string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dist, "checksums.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		h, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("malformed checksums line %q", line)
		}
		hashes[name] = h
	}
	return hashes
}

// goldenDir holds cmd/ccorelease's golden formula and manifest, rendered
// from a fixed stand-in release in testdata/dist there.
var goldenDir = filepath.Join("..", "..", "cmd", "ccorelease", "testdata")

// fixtureHashes are the SHA-256s of the stand-in archives the golden files
// were rendered from.
func fixtureHashes(t *testing.T) map[string]string {
	t.Helper()
	dir := filepath.Join(goldenDir, "dist")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[string]string{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		hashes[e.Name()] = fmt.Sprintf("%x", sha256.Sum256(data))
	}
	return hashes
}

// The formula's URLs and hashes are the archives', per OS and arch, and
// Ruby accepts it.
func TestHomebrewFormula(t *testing.T) {
	dist := distFor(t)
	checkFormula(t, filepath.Join(dist, "homebrew", "cco.rb"), archiveHashes(t, dist))
}

// The golden formula (go test ./cmd/ccorelease -update) has the same
// properties; a template change that breaks them fails here without a
// release build.
func TestHomebrewFormulaGolden(t *testing.T) {
	checkFormula(t, filepath.Join(goldenDir, "cco.rb.golden"), fixtureHashes(t))
}

func checkFormula(t *testing.T, path string, hashes map[string]string) {
	t.Helper()
	formula, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no formula (run `go run ./cmd/ccorelease render`): %v", err)
	}
	pairs := regexp.MustCompile(`url "([^"]+)"\s+sha256 "([0-9a-f]{64})"`).FindAllStringSubmatch(string(formula), -1)
	if len(pairs) != 4 {
		t.Fatalf("want 4 url/sha256 pairs (macOS and Linux, arm and intel), got %d", len(pairs))
	}
	var names []string
	for _, p := range pairs {
		name := p[1][strings.LastIndex(p[1], "/")+1:]
		names = append(names, name)
		if hashes[name] != p[2] {
			t.Errorf("%s: formula sha256 %s, checksums.sha256 %s", name, p[2], hashes[name])
		}
		if !strings.HasPrefix(p[1], "https://github.com/visiquate/cco/releases/download/v") {
			t.Errorf("url %s", p[1])
		}
	}
	for _, platform := range []string{"darwin-arm64", "darwin-x86_64", "linux-aarch64", "linux-x86_64"} {
		if !strings.Contains(strings.Join(names, " "), "-"+platform+".tar.gz") {
			t.Errorf("no %s archive in the formula: %v", platform, names)
		}
	}
	for _, want := range []string{"class Cco < Formula", `bin.install "cco"`, `man1.install "man/cco.1"`, "bash_completion.install", "zsh_completion.install",
		"fish_completion.install", "service do", `run [opt_bin/"cco", "run", "--no-browser"]`, "test do"} {
		if !bytes.Contains(formula, []byte(want)) {
			t.Errorf("formula lacks %q", want)
		}
	}
	ruby, err := exec.LookPath("ruby")
	if err != nil {
		t.Skip("no ruby for `ruby -c` (CI installs it)")
	}
	if out, err := exec.Command(ruby, "-c", path).CombinedOutput(); err != nil || !strings.Contains(string(out), "Syntax OK") {
		t.Errorf("ruby -c: %v\n%s", err, out)
	}
}

// The Scoop manifest points at the Windows archive with its hash and
// validates against Scoop's schema.
func TestScoopManifest(t *testing.T) {
	dist := distFor(t)
	checkManifest(t, filepath.Join(dist, "scoop", "cco.json"), archiveHashes(t, dist))
}

// The golden manifest (go test ./cmd/ccorelease -update) has the same
// properties.
func TestScoopManifestGolden(t *testing.T) {
	checkManifest(t, filepath.Join(goldenDir, "cco.json.golden"), fixtureHashes(t))
}

func checkManifest(t *testing.T, path string, hashes map[string]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no manifest (run `go run ./cmd/ccorelease render`): %v", err)
	}
	var m struct {
		Version      string `json:"version"`
		Bin          string `json:"bin"`
		Architecture map[string]struct {
			URL  string `json:"url"`
			Hash string `json:"hash"`
		} `json:"architecture"`
		Checkver   map[string]any `json:"checkver"`
		Autoupdate map[string]any `json:"autoupdate"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	a := m.Architecture["64bit"]
	name := a.URL[strings.LastIndex(a.URL, "/")+1:]
	if !strings.HasSuffix(name, "-windows-x86_64.zip") || hashes[name] != a.Hash {
		t.Errorf("64bit: %s %s", a.URL, a.Hash)
	}
	if m.Bin != "cco.exe" || m.Checkver == nil || m.Autoupdate == nil || !strings.Contains(name, m.Version) {
		t.Errorf("manifest %+v", m)
	}

	schemaPath := os.Getenv("CCO_SCOOP_SCHEMA")
	if schemaPath == "" {
		schemaPath = filepath.Join("..", "..", "..", "shared", "schemas", "scoop-manifest.schema.json")
	}
	sf, err := os.Open(schemaPath)
	if err != nil {
		t.Skipf("no Scoop schema at %s (set CCO_SCOOP_SCHEMA): %v", schemaPath, err)
	}
	defer sf.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(sf)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("scoop.schema.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("scoop.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Errorf("manifest does not validate against Scoop's schema: %v", err)
	}
	// And the check can fail: a manifest without a version does not validate.
	var broken map[string]any
	json.Unmarshal(data, &broken)
	broken["versionx"] = broken["version"]
	delete(broken, "version")
	if schema.Validate(broken) == nil {
		t.Error("the schema accepted a broken manifest")
	}
}
