package release

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sbomModules are the modules a reader of cco's SBOM looks for first: the
// dependencies it was built around.
var sbomModules = []string{
	"github.com/labstack/echo/v4",
	"github.com/urfave/cli/v2",
	"github.com/creativeprojects/go-selfupdate",
	"github.com/sirupsen/logrus",
	"modernc.org/sqlite",
}

// cycloneDX is what the test reads of a CycloneDX JSON document.
type cycloneDX struct {
	BOMFormat   string `json:"bomFormat"`
	SpecVersion string `json:"specVersion"`
	Metadata    struct {
		Component struct {
			Name string `json:"name"`
		} `json:"component"`
	} `json:"metadata"`
	Components []struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		PURL    string `json:"purl"`
	} `json:"components"`
}

// goModVersions reads the versions go.mod requires, path -> version.
func goModVersions(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	versions := map[string]string{}
	block := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "require (":
			block = true
			continue
		case line == ")":
			block = false
			continue
		case strings.HasPrefix(line, "require "):
			line = strings.TrimPrefix(line, "require ")
		case !block:
			continue
		}
		if fields := strings.Fields(line); len(fields) >= 2 {
			versions[fields[0]] = fields[1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return versions
}

// Each archive and package has a CycloneDX SBOM, covered by the signed
// checksums, that lists exactly the modules the Go toolchain recorded in
// the binary inside it, cco's main dependencies at go.mod's versions.
func TestDistSBOMs(t *testing.T) {
	r := loadRelease(t)
	sums := readChecksumFile(t, r.path("checksums.sha256"))
	required := goModVersions(t)
	names := slices.Sorted(maps.Keys(r.archives))
	names = append(names, slices.Sorted(maps.Keys(r.packages))...)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			doc := sbomName(name)
			if _, ok := sums[doc]; !ok {
				t.Errorf("checksums.sha256 does not cover %s", doc)
			}
			data, err := os.ReadFile(r.path(doc))
			if err != nil {
				t.Fatal(err)
			}
			var bom cycloneDX
			if err := json.Unmarshal(data, &bom); err != nil {
				t.Fatalf("%s is not JSON: %v", doc, err)
			}
			if bom.BOMFormat != "CycloneDX" || bom.SpecVersion == "" {
				t.Errorf("%s: bomFormat %q, specVersion %q", doc, bom.BOMFormat, bom.SpecVersion)
			}
			if bom.Metadata.Component.Name != "github.com/visiquate/cco" {
				t.Errorf("%s describes %q, want github.com/visiquate/cco", doc, bom.Metadata.Component.Name)
			}
			listed := map[string]string{}
			for _, c := range bom.Components {
				listed[c.Name] = c.Version
				if !strings.HasPrefix(c.PURL, "pkg:golang/"+c.Name+"@"+c.Version) {
					t.Errorf("%s: %s %s has the package URL %q", doc, c.Name, c.Version, c.PURL)
				}
			}
			for _, m := range sbomModules {
				if listed[m] == "" || listed[m] != required[m] {
					t.Errorf("%s lists %s at %q; go.mod requires %q", doc, m, listed[m], required[m])
				}
			}

			// The very modules `go version -m` shows for the binary inside.
			bin := artifactBinary(t, r, name)
			info, err := buildinfo.Read(bytes.NewReader(bin))
			if err != nil {
				t.Fatalf("the binary in %s has no build information: %v", name, err)
			}
			inBinary := map[string]string{}
			for _, d := range info.Deps {
				if d.Replace != nil {
					d = d.Replace
				}
				inBinary[d.Path] = d.Version
			}
			if !maps.Equal(listed, inBinary) {
				t.Errorf("%s lists\n%v\nthe binary was built from\n%v", doc, listed, inBinary)
			}
		})
	}
}

// sbomName is the SBOM document of an archive or package.
func sbomName(artifact string) string { return artifact + ".cdx.json" }

// artifactBinary returns the cco binary inside an archive or package.
func artifactBinary(t *testing.T, r *releaseUnderTest, name string) []byte {
	t.Helper()
	switch {
	case strings.HasSuffix(name, ".deb"):
		return debFile(t, r.path(name), "/usr/bin/cco").data
	case strings.HasSuffix(name, ".rpm"):
		if _, err := exec.LookPath("rpm2cpio"); err != nil {
			t.Skip("no rpm2cpio to take the binary out")
		}
		return rpmFile(t, r.path(name), "/usr/bin/cco")
	}
	return readArchive(t, r.path(name))[binaryName(r.archives[name].goos)].data
}
