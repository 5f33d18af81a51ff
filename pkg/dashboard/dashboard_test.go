package dashboard

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// The page and every asset it references are served with the right type
// and the strict policy; nothing else is.
func TestServesPageAndAssets(t *testing.T) {
	page := get(t, "/")
	if page.Code != 200 || !strings.HasPrefix(page.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("/: %d %s", page.Code, page.Header().Get("Content-Type"))
	}
	refs := regexp.MustCompile(`(?:src|href)="(/[^"]*)"`).FindAllStringSubmatch(page.Body.String(), -1)
	if len(refs) == 0 {
		t.Fatal("the page references no assets")
	}
	types := map[string]string{".js": "text/javascript", ".css": "text/css"}
	for _, m := range refs {
		rec := get(t, m[1])
		if rec.Code != 200 {
			t.Errorf("%s: %d", m[1], rec.Code)
			continue
		}
		for ext, want := range types {
			if strings.HasSuffix(m[1], ext) && !strings.HasPrefix(rec.Header().Get("Content-Type"), want) {
				t.Errorf("%s: Content-Type %q", m[1], rec.Header().Get("Content-Type"))
			}
		}
		if rec.Header().Get("Content-Security-Policy") != CSP || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", m[1], rec.Header())
		}
	}
	for _, p := range []string{"/assets/", "/assets/missing.js", "/assets/../dashboard.go", "/assets/index.html", "/other", "/assets//app.js"} {
		if rec := get(t, p); rec.Code != 404 {
			t.Errorf("%s: %d, want 404", p, rec.Code)
		}
	}
}

// No inline script or style: the policy allows neither, and the page has
// none to need them.
func TestStrictPolicy(t *testing.T) {
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
		if strings.Contains(CSP, bad) {
			t.Errorf("CSP allows %q: %s", bad, CSP)
		}
	}
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	html := string(files["index.html"])
	if regexp.MustCompile(`<script[^>]*>\s*[^<\s]`).MatchString(html) || strings.Contains(html, "<style") ||
		regexp.MustCompile(`\s(style|on[a-z]+)=`).MatchString(html) {
		t.Error("index.html has inline script, style or event handlers")
	}
	if regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).MatchString(html) {
		t.Error("index.html loads something from elsewhere")
	}
}

// The page and all its assets stay within the 150 KB budget.
func TestPageWeight(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, data := range files {
		total += len(data)
	}
	if total > 150_000 {
		t.Errorf("the page weighs %d bytes, over the 150 KB budget", total)
	}
}
