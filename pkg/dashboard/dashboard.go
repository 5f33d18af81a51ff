// Package dashboard holds cco's embedded web pages. For now that is one
// status page; the analytics dashboard moves in here later.
//
// It imports only the standard library.
package dashboard

import (
	_ "embed"
	"net/http"
)

//go:embed index.html
var index []byte

// Handler serves the dashboard.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(index)
		}
	})
}
