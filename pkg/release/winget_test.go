package release

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// The winget manifest of a release is three YAML files (a version, an
// installer and a default-locale manifest) that together describe one
// package version. winget reads them as the JSON values their YAML stands
// for, so they are checked as such, against Microsoft's schemas as kept in
// packaging/winget/schemas.

// wingetSchemaDir holds the schemas of the manifest version the templates
// declare.
var wingetSchemaDir = filepath.Join("..", "..", "packaging", "winget", "schemas", "1.12.0")

// wingetGolden are cmd/ccorelease's golden winget manifests.
var wingetGolden = []string{"visiquate.cco.yaml.golden", "visiquate.cco.installer.yaml.golden", "visiquate.cco.locale.en-US.yaml.golden"}

// wingetInstaller is what the tests read of an installer manifest.
type wingetInstaller struct {
	PackageVersion       string
	InstallerType        string
	NestedInstallerType  string
	NestedInstallerFiles []struct{ RelativeFilePath, PortableCommandAlias string }
	Installers           []struct{ Architecture, InstallerUrl, InstallerSha256 string }
}

// The golden manifests (go test ./cmd/ccorelease -update) validate, agree
// with each other and name the stand-in zip with its hash.
func TestWingetManifestsGolden(t *testing.T) {
	var paths []string
	for _, name := range wingetGolden {
		paths = append(paths, filepath.Join(goldenDir, name))
	}
	checkWinget(t, paths, filepath.Join(goldenDir, "dist"))
}

// The manifests rendered into a real dist/ have the same properties, sit
// where winget-pkgs keeps them, and name a file that is in the zip.
func TestWingetManifests(t *testing.T) {
	dist := distFor(t)
	root := filepath.Join(dist, "winget")
	var paths []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, path)
		}
		return err
	})
	if err != nil {
		t.Fatalf("no winget manifests (run `go run ./cmd/ccorelease render`): %v", err)
	}
	inst := checkWinget(t, paths, dist)
	want := filepath.Join(root, "manifests", "v", "visiquate", "cco", inst.PackageVersion)
	for _, p := range paths {
		if filepath.Dir(p) != want {
			t.Errorf("%s is not in %s", p, want)
		}
	}
	zipName := inst.Installers[0].InstallerUrl[strings.LastIndex(inst.Installers[0].InstallerUrl, "/")+1:]
	zr, err := zip.OpenReader(filepath.Join(dist, zipName))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range inst.NestedInstallerFiles {
		if !slices.ContainsFunc(zr.File, func(m *zip.File) bool { return m.Name == f.RelativeFilePath }) {
			t.Errorf("%s has no %s", zipName, f.RelativeFilePath)
		}
	}
}

// The schemas reject a manifest that lacks a required field or carries a
// hash that is not one, so the checks above can fail.
func TestWingetSchemaRejects(t *testing.T) {
	firstInstaller := func(doc map[string]any) map[string]any {
		return doc["Installers"].([]any)[0].(map[string]any)
	}
	for _, tt := range []struct {
		name, golden string
		change       func(doc map[string]any)
		want         string
	}{
		{"version without PackageIdentifier", wingetGolden[0], func(doc map[string]any) { delete(doc, "PackageIdentifier") }, "PackageIdentifier"},
		{"installer without InstallerUrl", wingetGolden[1], func(doc map[string]any) { delete(firstInstaller(doc), "InstallerUrl") }, "InstallerUrl"},
		{"installer with a short InstallerSha256", wingetGolden[1], func(doc map[string]any) {
			h := firstInstaller(doc)
			h["InstallerSha256"] = h["InstallerSha256"].(string)[1:]
		}, "InstallerSha256"},
		{"installer with a non-hex InstallerSha256", wingetGolden[1], func(doc map[string]any) {
			firstInstaller(doc)["InstallerSha256"] = strings.Repeat("G", 64)
		}, "InstallerSha256"},
		{"locale without ShortDescription", wingetGolden[2], func(doc map[string]any) { delete(doc, "ShortDescription") }, "ShortDescription"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, doc := loadWinget(t, filepath.Join(goldenDir, tt.golden))
			schema, _ := wingetSchema(t, doc["ManifestType"].(string))
			if err := schema.Validate(doc); err != nil {
				t.Fatalf("the unchanged manifest does not validate: %v", err)
			}
			tt.change(doc)
			err := schema.Validate(doc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("validate: %v; want an error about %s", err, tt.want)
			}
		})
	}
}

// checkWinget checks the files of one winget package version and returns
// its installer manifest. The installer's zip is looked up in zipDir.
func checkWinget(t *testing.T, paths []string, zipDir string) wingetInstaller {
	t.Helper()
	docs := map[string]map[string]any{} // by ManifestType
	for _, path := range paths {
		first, doc := loadWinget(t, path)
		typ, _ := doc["ManifestType"].(string)
		if docs[typ] != nil {
			t.Fatalf("%s: a second %q manifest", path, typ)
		}
		docs[typ] = doc
		schema, id := wingetSchema(t, typ)
		// The schema's $id spells the type in lower case, winget's tools
		// write defaultLocale; aka.ms addresses ignore case.
		if want := "# yaml-language-server: $schema=" + id; !strings.EqualFold(first, want) {
			t.Errorf("%s starts with %q, want %q", path, first, want)
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("%s does not validate against winget's %s schema: %v", path, typ, err)
		}
	}
	if len(docs) != 3 || docs["version"] == nil || docs["installer"] == nil || docs["defaultLocale"] == nil {
		t.Fatalf("want a version, an installer and a defaultLocale manifest, got %d files: %v", len(paths), paths)
	}
	// All three name the same package version, in the same manifest version.
	want := map[string]any{"PackageIdentifier": "visiquate.cco", "PackageVersion": docs["version"]["PackageVersion"], "ManifestVersion": "1.12.0"}
	for typ, doc := range docs {
		for k, v := range want {
			if doc[k] != v {
				t.Errorf("%s manifest: %s is %v, want %v", typ, k, doc[k], v)
			}
		}
	}
	if got, want := docs["defaultLocale"]["PackageLocale"], docs["version"]["DefaultLocale"]; got != want {
		t.Errorf("the locale manifest is for %v, the default locale is %v", got, want)
	}

	var inst wingetInstaller
	data, _ := json.Marshal(docs["installer"])
	if err := json.Unmarshal(data, &inst); err != nil {
		t.Fatal(err)
	}
	if len(inst.Installers) != 1 {
		t.Fatalf("want one installer (x64), got %d", len(inst.Installers))
	}
	got := inst.Installers[0]
	zipName := fmt.Sprintf("cco-v%s-windows-x86_64.zip", inst.PackageVersion)
	if got.Architecture != "x64" || !strings.HasSuffix(got.InstallerUrl, "/"+zipName) {
		t.Errorf("installer %s for %s, want the x64 one at .../%s", got.InstallerUrl, got.Architecture, zipName)
	}
	if sum := strings.ToUpper(fileSHA256(t, filepath.Join(zipDir, zipName))); got.InstallerSha256 != sum {
		t.Errorf("InstallerSha256 %s, %s has %s (winget writes it in upper case)", got.InstallerSha256, zipName, sum)
	}
	if inst.InstallerType != "zip" || inst.NestedInstallerType != "portable" || len(inst.NestedInstallerFiles) != 1 ||
		inst.NestedInstallerFiles[0].RelativeFilePath != "cco.exe" || inst.NestedInstallerFiles[0].PortableCommandAlias != "cco" {
		t.Errorf("installer %+v: want cco.exe, run as cco, from a zip", inst)
	}
	return inst
}

// loadWinget reads a manifest: its first line, and the JSON values its
// YAML stands for, as the schema validator takes them.
func loadWinget(t *testing.T, path string) (first string, doc map[string]any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ = strings.Cut(string(data), "\n")
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s is not YAML: %v", path, err)
	}
	asJSON, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s has no JSON equivalent: %v", path, err)
	}
	val, err := jsonschema.UnmarshalJSON(bytes.NewReader(asJSON))
	if err != nil {
		t.Fatal(err)
	}
	doc, ok := val.(map[string]any)
	if !ok {
		t.Fatalf("%s is not a mapping", path)
	}
	return first, doc
}

// wingetSchema compiles the kept schema for a manifest type and returns it
// with its $id, the address manifests name in their first line.
func wingetSchema(t *testing.T, manifestType string) (*jsonschema.Schema, string) {
	t.Helper()
	f, err := os.Open(filepath.Join(wingetSchemaDir, "manifest."+manifestType+".1.12.0.json"))
	if err != nil {
		t.Fatalf("no schema for ManifestType %q: %v", manifestType, err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := doc.(map[string]any)["$id"].(string)
	c := jsonschema.NewCompiler()
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	return schema, id
}
