package store

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the package at the bottom of the house: the standard
// library, the SQLite drivers and PostgreSQL's, nothing of cco's.
func TestImports(t *testing.T) {
	allowed := map[string]bool{"modernc.org/sqlite": true, "github.com/mattn/go-sqlite3": true, "github.com/jackc/pgx/v5": true, "github.com/jackc/pgx/v5/stdlib": true, "github.com/jackc/pgx/v5/pgconn": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			std := !strings.Contains(strings.Split(p, "/")[0], ".")
			if !std && !allowed[p] {
				t.Errorf("%s imports %s: store may import the standard library and the database drivers only", name, p)
			}
		}
	}
}
