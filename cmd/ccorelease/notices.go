package main

// The licence notices: which licences cover the code compiled into cco's
// binaries, collected with go-licenses (pinned in tools/go.mod) for each of
// the five release targets, and written as THIRD_PARTY_LICENSES (every
// archive and package) and as a machine-readable debian/copyright (the
// .deb's /usr/share/doc/cco/copyright).

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// releaseTargets are the GOOS/GOARCH pairs the release builds.
var releaseTargets = [][2]string{{"darwin", "amd64"}, {"darwin", "arm64"}, {"linux", "amd64"}, {"linux", "arm64"}, {"windows", "amd64"}}

// notice is one licence file of one module compiled into cco.
type notice struct {
	Module   string   // module path
	Version  string   // module version
	Licenses []string // SPDX identifiers go-licenses found in the file
	Text     string   // the licence file
}

// reportTemplate is the go-licenses report template: one line per library
// and licence, tab-separated.
const reportTemplate = "{{range .}}{{.Name}}\t{{.Version}}\t{{.LicenseName}}\t{{.LicensePath}}\n{{end}}"

// collectNotices runs go-licenses for ./cmd/cco on every release target
// and returns the licence files of all the modules they link, one notice
// per file, sorted by module. A library without a licence go-licenses can
// name is an error: a release must not ship code whose terms it cannot
// state.
func collectNotices(goLicenses, modcache string) ([]notice, error) {
	tmpl, err := os.CreateTemp("", "ccorelease-report-*.tmpl")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmpl.Name())
	if _, err := tmpl.WriteString(reportTemplate); err != nil {
		return nil, err
	}
	tmpl.Close()
	byFile := map[string]*notice{}
	for _, t := range releaseTargets {
		cmd := exec.Command(goLicenses, "report", "./cmd/cco", "--ignore", "github.com/visiquate/cco", "--template", tmpl.Name())
		cmd.Env = append(os.Environ(), "GOOS="+t[0], "GOARCH="+t[1], "CGO_ENABLED=0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("go-licenses report for %s/%s: %v\n%s", t[0], t[1], err, stderr.String())
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f := strings.Split(sc.Text(), "\t")
			if len(f) != 4 {
				return nil, fmt.Errorf("go-licenses report for %s/%s: unexpected line %q", t[0], t[1], sc.Text())
			}
			name, version, license, file := f[0], f[1], f[2], f[3]
			if license == "Unknown" || file == "Unknown" {
				return nil, fmt.Errorf("%s %s (in the %s/%s build): no licence go-licenses can name", name, version, t[0], t[1])
			}
			n, ok := byFile[file]
			if !ok {
				module, err := moduleOf(file, modcache)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				text, err := os.ReadFile(file)
				if err != nil {
					return nil, err
				}
				n = &notice{Module: module, Version: version, Text: string(text)}
				byFile[file] = n
			}
			if !slices.Contains(n.Licenses, license) {
				n.Licenses = append(n.Licenses, license)
				slices.Sort(n.Licenses)
			}
		}
	}
	var all []notice
	for _, n := range byFile {
		all = append(all, *n)
	}
	slices.SortFunc(all, func(a, b notice) int {
		return strings.Compare(a.Module+" "+a.Text, b.Module+" "+b.Text)
	})
	return all, nil
}

// moduleOf is the module path of a file in the module cache, whose folders
// are the module path, escaped (an upper-case letter is ! and the lower
// case one), then @version.
func moduleOf(file, modcache string) (string, error) {
	rel, err := filepath.Rel(modcache, file)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("%s is not in the module cache %s", file, modcache)
	}
	escaped, _, ok := strings.Cut(filepath.ToSlash(rel), "@")
	if !ok {
		return "", fmt.Errorf("%s: no @version in its path", file)
	}
	var b strings.Builder
	for i := 0; i < len(escaped); i++ {
		if escaped[i] == '!' && i+1 < len(escaped) {
			i++
			b.WriteString(strings.ToUpper(escaped[i : i+1]))
			continue
		}
		b.WriteByte(escaped[i])
	}
	return b.String(), nil
}

const rule = "================================================================================"

// writeNotices writes THIRD_PARTY_LICENSES: Go's own licence (the standard
// library and runtime are in every binary), then each module's.
func writeNotices(w io.Writer, goVersion, goLicense string, all []notice) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "cco is built with Go and the Go modules below, which are compiled into its\n"+
		"binary. Each licence below is given with the module and version it covers.\n")
	section := func(title string, licenses []string, text string) {
		fmt.Fprintf(bw, "\n%s\n%s\nLicense: %s\n\n%s", rule, title, strings.Join(licenses, " AND "), text)
		if !strings.HasSuffix(text, "\n") {
			bw.WriteByte('\n')
		}
	}
	section("Go (the standard library and runtime) "+goVersion, []string{"BSD-3-Clause"}, goLicense)
	for _, n := range all {
		section(n.Module+" "+n.Version, n.Licenses, n.Text)
	}
	return bw.Flush()
}

// debianLicense is the name debian/copyright uses for an SPDX identifier:
// the same, but for MIT, which Debian calls Expat.
func debianLicense(spdx string) string {
	if spdx == "MIT" {
		return "Expat"
	}
	return spdx
}

// writeCopyright writes the .deb's copyright file in Debian's
// machine-readable format: cco's own terms (ownText, the Expat licence),
// then a paragraph for each module compiled in, with its licence text.
// Modules are named as vendor/MODULE/*, the way Debian names Go code built
// into a package from outside its source.
func writeCopyright(w io.Writer, ownText string, all []notice) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n" +
		"Upstream-Name: cco\n" +
		"Source: https://github.com/visiquate/cco\n" +
		"Comment: /usr/bin/cco is a Go program: the Go standard library and the\n" +
		" Go modules named below (vendor/MODULE) are compiled into it. The same\n" +
		" licences, with each module's version, are in\n" +
		" /usr/share/doc/cco/THIRD_PARTY_LICENSES.\n" +
		"\nFiles: *\nCopyright: 2026 VisiQuate\nLicense: Expat\n")
	for _, n := range all {
		var names []string
		for _, l := range n.Licenses {
			names = append(names, debianLicense(l))
		}
		fmt.Fprintf(bw, "\nFiles: vendor/%s/*\nCopyright: %s\nLicense: %s\n%s", n.Module, copyrightOf(n), strings.Join(names, " and "), indent(debianText(n)))
	}
	fmt.Fprintf(bw, "\nLicense: Expat\n%s", indent(ownText))
	return bw.Flush()
}

// commonLicenses are the licences Debian keeps in /usr/share/common-licenses,
// which a copyright file names rather than copies (lintian insists).
var commonLicenses = []string{"Apache-2.0", "MPL-2.0"}

// debianText is the licence text for a notice's paragraph: the file itself,
// or, when it holds a licence Debian keeps in common-licenses, where that
// text and the file's whole text are found.
func debianText(n notice) string {
	var common []string
	for _, l := range n.Licenses {
		if slices.Contains(commonLicenses, l) {
			common = append(common, "the "+l+" licence is also in /usr/share/common-licenses/"+l)
		}
	}
	if len(common) == 0 {
		return n.Text
	}
	return "This module's licence file (" + strings.Join(n.Licenses, ", ") + ") is in full in\n" +
		"/usr/share/doc/cco/THIRD_PARTY_LICENSES. On Debian systems " + strings.Join(common, ", and ") + ".\n"
}

// copyrightOf is the copyright lines of a licence text, or, for a text
// that has none (the Apache licence), who holds it in general terms.
func copyrightOf(n notice) string {
	var lines []string
	for l := range strings.Lines(n.Text) {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(strings.ToLower(l), "copyright") && len(l) > len("copyright ") &&
			!strings.Contains(strings.ToLower(l), "copyright notice") && !strings.Contains(strings.ToLower(l), "copyright owner") &&
			!strings.HasPrefix(strings.ToLower(l), "copyright license") && !slices.Contains(lines, l) {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return "the authors of " + n.Module
	}
	return strings.Join(lines, "\n ")
}

// indent makes text the continuation lines of a field: each line after a
// space, an empty line as " .".
func indent(text string) string {
	var b strings.Builder
	for l := range strings.Lines(strings.TrimRight(text, "\n") + "\n") {
		l = strings.TrimRight(l, " \t\r\n")
		if l == "" {
			b.WriteString(" .\n")
			continue
		}
		b.WriteString(" " + l + "\n")
	}
	return b.String()
}

// notices writes THIRD_PARTY_LICENSES and copyright into out.
func notices(out, goLicenses string) error {
	goEnv := func(name string) (string, error) {
		b, err := exec.Command("go", "env", name).Output()
		if err != nil {
			return "", fmt.Errorf("go env %s: %w", name, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	modcache, err := goEnv("GOMODCACHE")
	if err != nil {
		return err
	}
	goroot, err := goEnv("GOROOT")
	if err != nil {
		return err
	}
	goVersion, err := goEnv("GOVERSION")
	if err != nil {
		return err
	}
	goLicense, err := os.ReadFile(filepath.Join(goroot, "LICENSE"))
	if err != nil {
		return fmt.Errorf("Go's own licence: %w", err)
	}
	own, err := os.ReadFile("LICENSE")
	if err != nil {
		return fmt.Errorf("cco's licence: %w", err)
	}
	all, err := collectNotices(goLicenses, modcache)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return errors.New("go-licenses found no modules: that cannot be right for cco")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var n, c bytes.Buffer
	if err := writeNotices(&n, goVersion, string(goLicense), all); err != nil {
		return err
	}
	if err := writeCopyright(&c, mitBody(string(own)), all); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "THIRD_PARTY_LICENSES"), n.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "copyright"), c.Bytes(), 0o644)
}

// mitBody is cco's LICENSE without its title and copyright lines, the
// licence's terms alone, as a standalone License paragraph holds them.
func mitBody(license string) string {
	i := strings.Index(license, "Permission is hereby granted")
	if i < 0 {
		return license
	}
	return license[i:]
}
