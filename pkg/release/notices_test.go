package release

import (
	"bytes"
	"debug/buildinfo"
	"maps"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// noticeTitles reads the section titles of a THIRD_PARTY_LICENSES file
// ("MODULE VERSION" after a rule of = signs), failing on a section without
// a named licence or a text.
func noticeTitles(t *testing.T, what string, data []byte) map[string]bool {
	t.Helper()
	titles := map[string]bool{}
	sections := strings.Split(string(data), strings.Repeat("=", 80)+"\n")
	if len(sections) < 2 {
		t.Fatalf("%s has no licence sections", what)
	}
	for _, s := range sections[1:] {
		title, rest, _ := strings.Cut(s, "\n")
		license, text, _ := strings.Cut(rest, "\n")
		if !strings.HasPrefix(license, "License: ") || strings.Contains(license, "Unknown") || len(strings.TrimSpace(text)) < 100 {
			t.Errorf("%s: the section %q has licence %q and %d bytes of text", what, title, license, len(text))
		}
		titles[title] = true
	}
	return titles
}

// Every archive and package carries the licence of every module compiled
// into its binary (as `go version -m` lists them) and of Go itself; the
// .deb's copyright file names them all in Debian's format.
func TestDistLicenceNotices(t *testing.T) {
	r := loadRelease(t)
	names := slices.Sorted(maps.Keys(r.archives))
	names = append(names, slices.Sorted(maps.Keys(r.packages))...)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			var notice, copyright []byte
			switch {
			case strings.HasSuffix(name, ".deb"):
				notice = debFile(t, r.path(name), "/usr/share/doc/cco/THIRD_PARTY_LICENSES").data
				copyright = debFile(t, r.path(name), "/usr/share/doc/cco/copyright").data
			case strings.HasSuffix(name, ".rpm"):
				if _, err := exec.LookPath("rpm2cpio"); err != nil {
					t.Skip("no rpm2cpio to read the package")
				}
				notice = rpmFile(t, r.path(name), "/usr/share/licenses/cco/THIRD_PARTY_LICENSES")
			default:
				notice = readArchive(t, r.path(name))["THIRD_PARTY_LICENSES"].data
			}
			titles := noticeTitles(t, name, notice)
			info, err := buildinfo.Read(bytes.NewReader(artifactBinary(t, r, name)))
			if err != nil {
				t.Fatalf("the binary in %s has no build information: %v", name, err)
			}
			if !titles["Go (the standard library and runtime) "+info.GoVersion] {
				t.Errorf("%s has no section for Go %s", name, info.GoVersion)
			}
			for _, d := range info.Deps {
				if d.Replace != nil {
					d = d.Replace
				}
				if !titles[d.Path+" "+d.Version] {
					t.Errorf("%s has no licence for %s %s, which its binary was built from", name, d.Path, d.Version)
				}
				if copyright != nil && !bytes.Contains(copyright, []byte("\nFiles: vendor/"+d.Path+"/*\n")) {
					t.Errorf("%s: debian/copyright has no paragraph for %s", name, d.Path)
				}
			}
			if copyright != nil {
				checkDEP5(t, copyright)
			}
		})
	}
}

// checkDEP5 checks the shape lintian and Debian's tools rely on: the
// format header, every paragraph's fields either "Name: value" or a
// continuation line, and every Files paragraph with a Copyright and a
// License.
func checkDEP5(t *testing.T, data []byte) {
	t.Helper()
	paragraphs := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n\n")
	if !strings.HasPrefix(paragraphs[0], "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n") {
		t.Errorf("copyright does not start with the machine-readable format's header")
	}
	field := regexp.MustCompile(`^[A-Za-z-]+: ?`)
	for i, p := range paragraphs {
		fields := map[string]bool{}
		for _, l := range strings.Split(p, "\n") {
			switch {
			case strings.HasPrefix(l, " "):
				if strings.TrimSpace(l) == "" {
					t.Errorf("paragraph %d: a continuation line with nothing on it (an empty line is \" .\")", i+1)
				}
			case field.MatchString(l):
				fields[strings.SplitN(l, ":", 2)[0]] = true
			default:
				t.Errorf("paragraph %d: %q is neither a field nor a continuation", i+1, l)
			}
		}
		if fields["Files"] && (!fields["Copyright"] || !fields["License"]) {
			t.Errorf("paragraph %d has Files without Copyright and License", i+1)
		}
	}
}
