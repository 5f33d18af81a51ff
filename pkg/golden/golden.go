// Package golden compares test output with files kept under testdata, and
// rewrites them when the tests run with -update. Golden files are never
// edited by hand: change the code, run `go test ./PKG -update`, read the
// diff, commit.
//
// Only tests import it; it imports no cco package. It registers the -update
// flag, so a test package that imports it must not define its own.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// Update is -update: rewrite the golden files (and, in pkg/cli, the
// testscript expectations) from the actual output.
var Update = flag.Bool("update", false, "rewrite the golden files in testdata from the actual output")

// Check compares got with the file at path, or writes it there with
// -update.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it, if the change is intended):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}
