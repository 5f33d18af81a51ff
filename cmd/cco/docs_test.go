package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestPackageDocsNameImports: each package's doc comment names every cco
// package it imports, so a reader learns a package's place from its doc.
func TestPackageDocsNameImports(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for rel := range layers {
		dir := filepath.Join(root, filepath.FromSlash(rel))
		fset := token.NewFileSet()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var doc strings.Builder
		imports := map[string]bool{}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments|parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			if f.Doc != nil {
				doc.WriteString(f.Doc.Text())
			}
			for _, imp := range f.Imports {
				if dep, ok := strings.CutPrefix(strings.Trim(imp.Path.Value, `"`), module); ok {
					imports[dep] = true
				}
			}
		}
		var missing []string
		for dep := range imports {
			base := dep[strings.LastIndex(dep, "/")+1:]
			if !regexp.MustCompile(`\b` + regexp.QuoteMeta(base) + `\b`).MatchString(doc.String()) {
				missing = append(missing, base)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s: its package doc does not name %s, which it imports", rel, strings.Join(missing, ", "))
		}
	}
}
