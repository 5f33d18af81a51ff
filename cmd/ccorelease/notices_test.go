package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/visiquate/cco/pkg/golden"
)

func TestModuleOf(t *testing.T) {
	cache := filepath.FromSlash("/home/u/go/pkg/mod")
	for _, c := range []struct{ file, want string }{
		{"/home/u/go/pkg/mod/github.com/labstack/echo/v4@v4.16.0/LICENSE", "github.com/labstack/echo/v4"},
		{"/home/u/go/pkg/mod/github.com/!masterminds/semver/v3@v3.5.0/LICENSE.txt", "github.com/Masterminds/semver/v3"},
		{"/home/u/go/pkg/mod/github.com/!burnt!sushi/toml@v1.5.0/COPYING", "github.com/BurntSushi/toml"},
		{"/home/u/go/pkg/mod/golang.org/x/sys@v0.50.0/LICENSE", "golang.org/x/sys"},
	} {
		got, err := moduleOf(filepath.FromSlash(c.file), cache)
		if err != nil || got != c.want {
			t.Errorf("moduleOf(%s) = %q, %v; want %q", c.file, got, err, c.want)
		}
	}
	for _, bad := range []string{"/elsewhere/LICENSE", "/home/u/go/pkg/mod/cache/LICENSE"} {
		if got, err := moduleOf(filepath.FromSlash(bad), cache); err == nil {
			t.Errorf("moduleOf(%s) = %q, want an error", bad, got)
		}
	}
}

// fixedNotices stand in for go-licenses' findings: an MIT licence with two
// copyright lines and blank lines, and an Apache licence with none.
var fixedNotices = []notice{
	{Module: "example.com/a", Version: "v1.2.3", Licenses: []string{"MIT"},
		Text: "MIT License\n\nCopyright (c) 2020 A Person\nCopyright (c) 2021 Another\n\nPermission is hereby granted, free of charge...\n   \nTHE SOFTWARE IS PROVIDED \"AS IS\".\n"},
	{Module: "example.com/B/c", Version: "v0.0.0-20250101000000-abcdef012345", Licenses: []string{"Apache-2.0", "BSD-3-Clause"},
		Text: "Apache License\nVersion 2.0, January 2004\n\nThe copyright owner grants... (no trailing newline)"},
}

// The notice and the copyright file, from fixed findings, are kept as golden
// files (go test ./cmd/ccorelease -update rewrites them); pkg/release checks
// the real ones in every archive and package.
func TestNoticesGolden(t *testing.T) {
	var n, c bytes.Buffer
	if err := writeNotices(&n, "go1.26.8", "Copyright 2009 The Go Authors.\n\nRedistribution ...\n", fixedNotices); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "THIRD_PARTY_LICENSES.golden"), n.Bytes())
	if err := writeCopyright(&c, "Permission is hereby granted...\n\nTHE SOFTWARE IS PROVIDED \"AS IS\".\n", fixedNotices); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "copyright.golden"), c.Bytes())
	out := c.String()
	for _, want := range []string{
		"\nFiles: vendor/example.com/a/*\nCopyright: Copyright (c) 2020 A Person\n Copyright (c) 2021 Another\nLicense: Expat\n MIT License\n .\n",
		"\nFiles: vendor/example.com/B/c/*\nCopyright: the authors of example.com/B/c\nLicense: Apache-2.0 and BSD-3-Clause\n This module's licence file (Apache-2.0, BSD-3-Clause) is in full in\n",
		" the Apache-2.0 licence is also in /usr/share/common-licenses/Apache-2.0.\n\nLicense: Expat\n Permission",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("copyright lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\n \n") || strings.Contains(out, "\n    \n") {
		t.Errorf("copyright has a blank continuation line:\n%s", out)
	}
}

func TestMitBody(t *testing.T) {
	if got := mitBody("MIT License\n\nCopyright (c) 2026 VisiQuate\n\nPermission is hereby granted, free"); got != "Permission is hereby granted, free" {
		t.Errorf("mitBody = %q", got)
	}
}
