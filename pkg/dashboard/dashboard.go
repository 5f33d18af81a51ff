// Package dashboard holds cco's embedded web page and its assets: the
// analytics dashboard at / (spend, cost over time, models, token kinds,
// caches, sessions, live recent requests, the instance's facts) and the
// files under /assets/. The page reads the JSON routes of package server
// (/api/stats, /api/requests, /api/events, /api/instance).
//
// Everything is embedded (the page works offline and loads nothing from
// elsewhere), and every answer carries a strict Content-Security-Policy:
// scripts and styles only from cco itself, no inline code, no frames.
//
// It imports only the standard library.
package dashboard

import (
	"bytes"
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed web
var files embed.FS

// web is the page's files, index.html at the top.
var web, _ = fs.Sub(files, "web")

// CSP is the Content-Security-Policy of every answer.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// AssetsPrefix is where the page's scripts and styles are served.
const AssetsPrefix = "/assets/"

// Handler serves the page at / and its assets under AssetsPrefix; anything
// else is not found.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := "index.html"
		if r.URL.Path != "/" {
			rest, ok := strings.CutPrefix(r.URL.Path, AssetsPrefix)
			if !ok || rest == "" || rest == "index.html" || path.Clean(rest) != rest || !fs.ValidPath(rest) {
				http.NotFound(w, r)
				return
			}
			name = rest
		}
		data, err := fs.ReadFile(web, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		h.Set("Content-Type", ctype)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", CSP)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
	})
}

// Files lists the embedded files by name, for size budgets and checks.
func Files() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(web, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(web, p)
		out[p] = data
		return err
	})
	return out, err
}
