// Package version parses and compares cco's calendar versions (YYYY.MM.N with
// an optional prerelease and build metadata) and describes the running build.
//
// It imports only the standard library.
package version

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is a calendar version: Year.Month.N, optionally followed by a
// prerelease ("-beta.1") and build metadata ("+linux.amd64").
// The zero Version is not valid; use Parse.
type Version struct {
	Year       int
	Month      int
	N          int
	Prerelease string // without the leading '-'; "" for a release
	Build      string // without the leading '+'; ignored when comparing
}

// Parse reads a calendar version such as "2025.11.2", "v2025.12.1-beta.1" or
// "2026.1.1+abc". A leading "v" is allowed. Numbers carry no leading zeros,
// the month is 1-12, and the prerelease and build parts follow semver's
// rules for identifiers.
func Parse(s string) (Version, error) {
	orig := s
	fail := func(format string, args ...any) (Version, error) {
		return Version{}, fmt.Errorf("invalid version %q: %s", orig, fmt.Sprintf(format, args...))
	}
	s = strings.TrimPrefix(s, "v")
	var v Version
	if i := strings.IndexByte(s, '+'); i >= 0 {
		v.Build = s[i+1:]
		s = s[:i]
		if err := checkIdentifiers(v.Build, false); err != nil {
			return fail("build metadata: %v", err)
		}
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		v.Prerelease = s[i+1:]
		s = s[:i]
		if err := checkIdentifiers(v.Prerelease, true); err != nil {
			return fail("prerelease: %v", err)
		}
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return fail("want YYYY.MM.N")
	}
	var err error
	if v.Year, err = number(parts[0]); err != nil || len(parts[0]) != 4 {
		return fail("year must be four digits")
	}
	if v.Month, err = number(parts[1]); err != nil || v.Month < 1 || v.Month > 12 {
		return fail("month must be 1-12 without a leading zero")
	}
	if v.N, err = number(parts[2]); err != nil {
		return fail("release number: %v", err)
	}
	return v, nil
}

// MustParse is Parse for constants in tests and tables; it panics on error.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// number parses a non-negative decimal without a leading zero.
func number(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, errors.New("leading zero")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a number", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return n, nil
}

// checkIdentifiers validates dot-separated identifiers of [0-9A-Za-z-];
// prerelease identifiers that are numeric may not have leading zeros.
func checkIdentifiers(s string, prerelease bool) error {
	if s == "" {
		return errors.New("empty")
	}
	for id := range strings.SplitSeq(s, ".") {
		if id == "" {
			return errors.New("empty identifier")
		}
		numeric := true
		for _, c := range id {
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				numeric = false
			default:
				return fmt.Errorf("invalid character %q", c)
			}
		}
		if prerelease && numeric && len(id) > 1 && id[0] == '0' {
			return fmt.Errorf("identifier %q has a leading zero", id)
		}
	}
	return nil
}

// String returns the canonical form without a "v" prefix.
func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Year, v.Month, v.N)
	if v.Prerelease != "" {
		s += "-" + v.Prerelease
	}
	if v.Build != "" {
		s += "+" + v.Build
	}
	return s
}

// Tag returns the git tag for v, such as "v2025.11.2".
func (v Version) Tag() string { return "v" + v.String() }

// IsPrerelease reports whether v carries a prerelease part.
func (v Version) IsPrerelease() bool { return v.Prerelease != "" }

// Compare returns -1, 0 or +1 as v is older than, equal to, or newer than w.
// Build metadata is ignored; a prerelease is older than the release with the
// same number, and prereleases compare by semver's identifier rules.
func (v Version) Compare(w Version) int {
	for _, d := range [...]int{v.Year - w.Year, v.Month - w.Month, v.N - w.N} {
		if d != 0 {
			return sign(d)
		}
	}
	return comparePrerelease(v.Prerelease, w.Prerelease)
}

// Less reports whether v is older than w.
func (v Version) Less(w Version) bool { return v.Compare(w) < 0 }

func comparePrerelease(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if c := compareIdentifier(as[i], bs[i]); c != 0 {
			return c
		}
	}
	return sign(len(as) - len(bs))
}

func compareIdentifier(a, b string) int {
	an, aNum := numericIdentifier(a)
	bn, bNum := numericIdentifier(b)
	switch {
	case aNum && bNum:
		if len(an) != len(bn) {
			return sign(len(an) - len(bn))
		}
		return strings.Compare(an, bn)
	case aNum:
		return -1
	case bNum:
		return 1
	default:
		return strings.Compare(a, b)
	}
}

// numericIdentifier reports whether id is all digits, returning it without
// leading zeros so that arbitrarily long numbers compare by length then text.
func numericIdentifier(id string) (string, bool) {
	for _, c := range id {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	trimmed := strings.TrimLeft(id, "0")
	if trimmed == "" {
		trimmed = "0"
	}
	return trimmed, true
}

func sign(d int) int {
	switch {
	case d < 0:
		return -1
	case d > 0:
		return 1
	}
	return 0
}
