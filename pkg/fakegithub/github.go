// Package fakegithub is a fake GitHub for the tests of install.sh,
// install.ps1 and `cco update`: the few REST API routes and the download
// route they use (through go-selfupdate for cco), answering in GitHub's JSON
// shape from releases held in memory (github.go), and release building:
// archives, checksums and cosign signatures as the release pipeline makes
// them (releases.go).
//
// It imports ccoproc, to build the cco binaries a release holds.
package fakegithub

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults of the fake GitHub.
const (
	// DefaultOwner and DefaultRepo name the repository the fake serves when
	// GitHubOptions leaves them empty.
	DefaultOwner = "visiquate"
	DefaultRepo  = "cco"
	// DefaultPerPage and MaxPerPage bound the list of releases, as on GitHub.
	DefaultPerPage = 30
	MaxPerPage     = 100
)

// defaultPublished is the publication time, in Unix seconds, of a release
// whose Published is zero: 2025-01-01T00:00:00Z.
const defaultPublished = 1735689600

// Fault is a failure the fake GitHub injects into the downloads of one asset
// (see [GitHub.SetFault]).
type Fault int

const (
	// FaultNone serves the asset as it is.
	FaultNone Fault = iota
	// FaultCutHalfway announces the asset's full Content-Length, sends the
	// first half of its bytes and closes the connection.
	FaultCutHalfway
	// FaultNotFound answers 404 to every download of the asset; the asset
	// stays listed in its release.
	FaultNotFound
)

// String returns the name of the fault, such as "FaultCutHalfway".
func (f Fault) String() string {
	switch f {
	case FaultNone:
		return "FaultNone"
	case FaultCutHalfway:
		return "FaultCutHalfway"
	case FaultNotFound:
		return "FaultNotFound"
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// Release is one release the fake GitHub serves.
type Release struct {
	// Tag is the release's tag, such as v2025.11.2. It is also its name.
	Tag string
	// Prerelease marks a prerelease (GitHub's flag, not the tag's suffix).
	Prerelease bool
	// Draft marks an unpublished release. The fake lists drafts, as GitHub
	// does for a token with push access, but does not serve them by tag,
	// as latest, or on the download route.
	Draft bool
	// Published orders the releases, newest first; the zero time stands
	// for 2025-01-01T00:00:00Z. Releases published at the same time keep
	// the order they were given in.
	Published time.Time
	// Body is the release notes (Markdown); it may be empty.
	Body string
	// Assets maps each asset's file name to its content. The fake keeps
	// the map and the slices: do not change them while it serves them.
	Assets map[string][]byte
}

// GitHubOptions configures a fake GitHub.
type GitHubOptions struct {
	// Owner and Repo name the one repository served; empty means
	// visiquate/cco. Requests match them without regard to case, as on
	// GitHub.
	Owner, Repo string
	// Compact answers JSON on one line. GitHub indents its JSON by two
	// spaces, and so does the fake unless Compact is set, so that clients
	// can be tested against both.
	Compact bool
	// ErrorLog receives the server's own errors; nil discards them.
	ErrorLog *log.Logger
}

// GitHub is a running fake of GitHub's releases: the REST API routes
// (also under the /api/v3 prefix of GitHub Enterprise, which go-selfupdate
// uses for any custom URL) and the browser download route. Its methods are
// safe for concurrent use.
//
// Routes, with {o}/{r} the served repository:
//
//	GET /repos/{o}/{r}/releases              newest first; per_page, page and a Link header
//	GET /repos/{o}/{r}/releases/latest       newest release that is neither draft nor prerelease
//	GET /repos/{o}/{r}/releases/tags/{tag}   a published release by tag
//	GET /repos/{o}/{r}/releases/{id}         a release by id
//	GET /repos/{o}/{r}/releases/assets/{id}  asset metadata; with Accept: application/octet-stream,
//	                                         a 302 to the download route (a draft's asset: the bytes)
//	GET /{o}/{r}/releases/download/{tag}/{name}  the bytes of a published release's asset
//	GET /{o}/{r}/releases/latest/download/{name} a 302 to that asset of the latest release
//
// Everything else is a 404 with GitHub's {"message":"Not Found"} body. HEAD
// is answered like GET, without a body.
type GitHub struct {
	// URL is the base URL, http://127.0.0.1:PORT, without a trailing slash.
	URL string

	opts   GitHubOptions
	srv    *http.Server
	served chan struct{} // closed when Serve has returned

	closeOnce sync.Once

	mu       sync.Mutex
	releases []*servedRelease // newest first
	ids      map[string]int64 // "tag" or "tag\x00name" -> id, kept across SetReleases
	nextID   int64
	faults   map[string]Fault
	requests []string
	headers  []http.Header
}

// servedRelease is a Release as the fake serves it: with ids and its assets
// in name order.
type servedRelease struct {
	Release
	id        int64
	published time.Time
	assets    []servedAsset
}

// servedAsset is one asset of a servedRelease.
type servedAsset struct {
	id   int64
	name string
	data []byte
}

// StartGitHub starts a fake GitHub on 127.0.0.1 and a free port, serving
// releases. The caller must Close it. It fails if two releases share a tag or
// a tag is empty.
func StartGitHub(opts GitHubOptions, releases ...Release) (*GitHub, error) {
	if opts.Owner == "" {
		opts.Owner = DefaultOwner
	}
	if opts.Repo == "" {
		opts.Repo = DefaultRepo
	}
	g := &GitHub{
		opts:   opts,
		served: make(chan struct{}),
		ids:    make(map[string]int64),
		nextID: 1,
		faults: make(map[string]Fault),
	}
	if err := g.setReleases(releases); err != nil {
		return nil, err
	}
	errorLog := opts.ErrorLog
	if errorLog == nil {
		errorLog = log.New(io.Discard, "", 0)
	}
	g.srv = &http.Server{
		Handler:           http.HandlerFunc(g.serveHTTP),
		ReadHeaderTimeout: time.Minute,
		ErrorLog:          errorLog,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakegithub: listen on 127.0.0.1: %w", err)
	}
	g.URL = "http://" + ln.Addr().String()
	go func() {
		defer close(g.served)
		_ = g.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return g, nil
}

// NewGitHub starts a fake GitHub for visiquate/cco serving releases and
// closes it when t ends. It fails t if the fake cannot start.
func NewGitHub(t testing.TB, releases ...Release) *GitHub {
	t.Helper()
	g, err := StartGitHub(GitHubOptions{}, releases...)
	if err != nil {
		t.Fatalf("start fake GitHub: %v", err)
	}
	t.Cleanup(g.Close)
	return g
}

// Close stops the server and cuts the connections in flight. Calling it
// again does nothing.
func (g *GitHub) Close() {
	g.closeOnce.Do(func() {
		_ = g.srv.Close()
		<-g.served
	})
}

// SetReleases replaces the releases served. A release keeps its id, and an
// asset its id, for as long as its tag (and name) stays. It panics if two
// releases share a tag or a tag is empty, a mistake in the calling test.
func (g *GitHub) SetReleases(releases ...Release) {
	if err := g.setReleases(releases); err != nil {
		panic(err)
	}
}

// SetFault makes every download of the asset called name, in any release,
// fail with f from now on; FaultNone clears it.
func (g *GitHub) SetFault(name string, f Fault) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f == FaultNone {
		delete(g.faults, name)
		return
	}
	g.faults[name] = f
}

// Requests returns the requests received so far, in arrival order, one
// "METHOD /path?query" line each, such as
// "GET /repos/visiquate/cco/releases/latest".
func (g *GitHub) Requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.requests)
}

// RequestHeaders returns the headers of the requests received so far, in
// the order of [GitHub.Requests]: to check, say, where a token was sent.
func (g *GitHub) RequestHeaders() []http.Header {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]http.Header, len(g.headers))
	for i, h := range g.headers {
		out[i] = h.Clone()
	}
	return out
}

// Reset forgets the requests recorded so far.
func (g *GitHub) Reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests = nil
	g.headers = nil
}

// APIURL returns the base of API calls, the fake's counterpart of
// https://api.github.com (what CCO_GITHUB_API_URL is set to). go-selfupdate
// cannot take it: give its GitHubConfig.EnterpriseBaseURL URL+"/", and it
// calls the same routes under /api/v3.
func (g *GitHub) APIURL() string { return g.URL }

// DownloadURL returns the base of browser downloads, the counterpart of
// https://github.com/visiquate/cco/releases/download (what CCO_DOWNLOAD_URL
// is set to): an asset is at DownloadURL()+"/"+tag+"/"+name.
func (g *GitHub) DownloadURL() string {
	return g.URL + "/" + g.opts.Owner + "/" + g.opts.Repo + "/releases/download"
}

// ReleaseFromDir returns a release with tag, prerelease flag and, as its
// assets, every regular file directly in dir (such as a GoReleaser dist/).
// Folders and symbolic links are left out.
func ReleaseFromDir(tag string, prerelease bool, dir string) (Release, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Release{}, fmt.Errorf("read release assets: %w", err)
	}
	rel := Release{Tag: tag, Prerelease: prerelease, Assets: make(map[string][]byte)}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return Release{}, fmt.Errorf("read release asset: %w", err)
		}
		rel.Assets[e.Name()] = data
	}
	return rel, nil
}

// setReleases checks releases and makes them the ones served.
func (g *GitHub) setReleases(releases []Release) error {
	seen := make(map[string]bool, len(releases))
	for _, r := range releases {
		if r.Tag == "" {
			return errors.New("fakegithub: a release without a tag")
		}
		if seen[r.Tag] {
			return fmt.Errorf("fakegithub: two releases tagged %s", r.Tag)
		}
		seen[r.Tag] = true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	served := make([]*servedRelease, 0, len(releases))
	for _, r := range releases {
		s := &servedRelease{Release: r, id: g.idLocked(r.Tag), published: r.Published}
		if s.published.IsZero() {
			s.published = time.Unix(defaultPublished, 0).UTC()
		}
		names := make([]string, 0, len(r.Assets))
		for name := range r.Assets {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			s.assets = append(s.assets, servedAsset{
				id:   g.idLocked(r.Tag + "\x00" + name),
				name: name,
				data: r.Assets[name],
			})
		}
		served = append(served, s)
	}
	slices.SortStableFunc(served, func(a, b *servedRelease) int {
		return b.published.Compare(a.published)
	})
	g.releases = served
	return nil
}

// idLocked returns the id of key, giving it the next one if it has none.
func (g *GitHub) idLocked(key string) int64 {
	id, ok := g.ids[key]
	if !ok {
		id = g.nextID
		g.nextID++
		g.ids[key] = id
	}
	return id
}

// current returns the releases served now, newest first. The slice is
// never changed, only replaced.
func (g *GitHub) current() []*servedRelease {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.releases
}

// fault returns the fault set for the asset called name.
func (g *GitHub) fault(name string) Fault {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.faults[name]
}

// record notes a request.
func (g *GitHub) record(r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests = append(g.requests, r.Method+" "+r.URL.RequestURI())
	g.headers = append(g.headers, r.Header.Clone())
}

// serveHTTP routes a request.
func (g *GitHub) serveHTTP(w http.ResponseWriter, r *http.Request) {
	g.record(r)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		g.notFound(w)
		return
	}
	path := r.URL.Path
	if rest, ok := strings.CutPrefix(path, "/api/v3/repos/"); ok {
		g.serveAPI(w, r, g.URL+"/api/v3", rest)
		return
	}
	if rest, ok := strings.CutPrefix(path, "/repos/"); ok {
		g.serveAPI(w, r, g.URL, rest)
		return
	}
	if path == "/api/v3" || strings.HasPrefix(path, "/api/v3/") {
		g.notFound(w)
		return
	}
	g.serveDownload(w, r, strings.TrimPrefix(path, "/"))
}

// matchRepo reports whether owner and repo name the served repository, and
// returns the rest of parts.
func (g *GitHub) matchRepo(parts []string) ([]string, bool) {
	if len(parts) < 2 || !strings.EqualFold(parts[0], g.opts.Owner) || !strings.EqualFold(parts[1], g.opts.Repo) {
		return nil, false
	}
	return parts[2:], true
}

// serveAPI answers /repos/... (rest is what follows it); api is the base of
// the URLs in the answer: the fake's URL, with /api/v3 when the request had
// it.
func (g *GitHub) serveAPI(w http.ResponseWriter, r *http.Request, api, rest string) {
	parts, ok := g.matchRepo(strings.Split(rest, "/"))
	if !ok || len(parts) == 0 || parts[0] != "releases" {
		g.notFound(w)
		return
	}
	parts = parts[1:]
	releases := g.current()
	switch {
	case len(parts) == 0 || len(parts) == 1 && parts[0] == "":
		g.serveList(w, r, api, releases)
	case len(parts) == 1 && parts[0] == "latest":
		if rel := latest(releases); rel != nil {
			g.writeJSON(w, http.StatusOK, g.releaseJSON(api, rel))
			return
		}
		g.notFound(w)
	case len(parts) >= 2 && parts[0] == "tags":
		tag := strings.Join(parts[1:], "/")
		for _, rel := range releases {
			if rel.Tag == tag && !rel.Draft {
				g.writeJSON(w, http.StatusOK, g.releaseJSON(api, rel))
				return
			}
		}
		g.notFound(w)
	case len(parts) == 2 && parts[0] == "assets":
		g.serveAssetAPI(w, r, api, releases, parts[1])
	case len(parts) == 1:
		id, err := strconv.ParseInt(parts[0], 10, 64)
		if err == nil {
			for _, rel := range releases {
				if rel.id == id {
					g.writeJSON(w, http.StatusOK, g.releaseJSON(api, rel))
					return
				}
			}
		}
		g.notFound(w)
	default:
		g.notFound(w)
	}
}

// serveList answers the list of releases, one page of it.
func (g *GitHub) serveList(w http.ResponseWriter, r *http.Request, api string, releases []*servedRelease) {
	q := r.URL.Query()
	perPage := queryInt(q, "per_page", DefaultPerPage)
	perPage = min(perPage, MaxPerPage)
	page := queryInt(q, "page", 1)
	last := max(1, (len(releases)+perPage-1)/perPage)
	start := min((page-1)*perPage, len(releases))
	end := min(start+perPage, len(releases))
	out := make([]releaseJSON, 0, end-start)
	for _, rel := range releases[start:end] {
		out = append(out, g.releaseJSON(api, rel))
	}
	if len(releases) > 0 {
		w.Header().Set("Link", linkHeader(g.URL+r.URL.Path, q, page, last))
	}
	g.writeJSON(w, http.StatusOK, out)
}

// queryInt returns the positive integer q[key], or def when it is missing
// or not one (GitHub, too, falls back to the default).
func queryInt(q url.Values, key string, def int) int {
	n, err := strconv.Atoi(q.Get(key))
	if err != nil || n < 1 {
		return def
	}
	return n
}

// linkHeader returns GitHub's Link header for page of last pages of the list
// at base with query q: prev, next, last and first, as they apply.
func linkHeader(base string, q url.Values, page, last int) string {
	link := func(p int, rel string) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(p))
		return "<" + base + "?" + v.Encode() + `>; rel="` + rel + `"`
	}
	var links []string
	if page > 1 {
		links = append(links, link(min(page-1, last), "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	return strings.Join(links, ", ")
}

// latest returns the newest release that is neither a draft nor a
// prerelease, or nil.
func latest(releases []*servedRelease) *servedRelease {
	for _, rel := range releases {
		if !rel.Draft && !rel.Prerelease {
			return rel
		}
	}
	return nil
}

// serveAssetAPI answers /repos/{o}/{r}/releases/assets/{id}.
func (g *GitHub) serveAssetAPI(w http.ResponseWriter, r *http.Request, api string, releases []*servedRelease, idText string) {
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		g.notFound(w)
		return
	}
	for _, rel := range releases {
		for _, a := range rel.assets {
			if a.id != id {
				continue
			}
			if !strings.Contains(r.Header.Get("Accept"), "application/octet-stream") {
				g.writeJSON(w, http.StatusOK, g.assetJSON(api, rel, a))
				return
			}
			if rel.Draft {
				// A draft's assets have no public download URL: GitHub
				// streams them from the API.
				g.serveBytes(w, r, rel, a, true)
				return
			}
			http.Redirect(w, r, g.browserURL(rel, a.name), http.StatusFound)
			return
		}
	}
	g.notFound(w)
}

// serveDownload answers the browser routes ({o}/{r}/releases/download/...
// and {o}/{r}/releases/latest/download/...); path has no leading slash.
func (g *GitHub) serveDownload(w http.ResponseWriter, r *http.Request, path string) {
	parts, ok := g.matchRepo(strings.Split(path, "/"))
	if !ok || len(parts) < 3 || parts[0] != "releases" {
		g.notFoundPage(w)
		return
	}
	releases := g.current()
	if len(parts) == 4 && parts[1] == "latest" && parts[2] == "download" {
		rel := latest(releases)
		if rel == nil {
			g.notFoundPage(w)
			return
		}
		http.Redirect(w, r, g.browserURL(rel, parts[3]), http.StatusFound)
		return
	}
	if len(parts) < 4 || parts[1] != "download" {
		g.notFoundPage(w)
		return
	}
	tag, name := strings.Join(parts[2:len(parts)-1], "/"), parts[len(parts)-1]
	for _, rel := range releases {
		if rel.Tag != tag || rel.Draft {
			continue
		}
		for _, a := range rel.assets {
			if a.name == name {
				g.serveBytes(w, r, rel, a, false)
				return
			}
		}
	}
	g.notFoundPage(w)
}

// serveBytes sends an asset's content, applying its fault. api says whether
// the request came to the API (which answers errors in JSON).
func (g *GitHub) serveBytes(w http.ResponseWriter, r *http.Request, rel *servedRelease, a servedAsset, api bool) {
	switch g.fault(a.name) {
	case FaultNotFound:
		if api {
			g.notFound(w)
		} else {
			g.notFoundPage(w)
		}
		return
	case FaultCutHalfway:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(a.data)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(a.data[:len(a.data)/2])
		_ = http.NewResponseController(w).Flush()
		// Ends the handler and closes the connection, with no log.
		panic(http.ErrAbortHandler)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", "attachment; filename="+strconv.Quote(a.name))
	http.ServeContent(w, r, a.name, rel.published, bytes.NewReader(a.data))
}

// notFound answers 404 as GitHub's API does.
func (g *GitHub) notFound(w http.ResponseWriter) {
	g.writeJSON(w, http.StatusNotFound, map[string]string{
		"message":           "Not Found",
		"documentation_url": "https://docs.github.com/rest",
		"status":            "404",
	})
}

// notFoundPage answers 404 as GitHub's web pages do (not in JSON).
func (g *GitHub) notFoundPage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, "Not Found\n")
}

// writeJSON answers v in JSON: indented by two spaces, as GitHub does,
// unless the options say Compact, and without escaping <, > and &.
func (g *GitHub) writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if !g.opts.Compact {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// userJSON is GitHub's simple-user object.
type userJSON struct {
	Login     string `json:"login"`
	ID        int64  `json:"id"`
	NodeID    string `json:"node_id"`
	AvatarURL string `json:"avatar_url"`
	URL       string `json:"url"`
	HTMLURL   string `json:"html_url"`
	Type      string `json:"type"`
	SiteAdmin bool   `json:"site_admin"`
}

// releaseJSON is GitHub's release object, its fields in GitHub's order.
type releaseJSON struct {
	URL             string      `json:"url"`
	AssetsURL       string      `json:"assets_url"`
	UploadURL       string      `json:"upload_url"`
	HTMLURL         string      `json:"html_url"`
	ID              int64       `json:"id"`
	Author          userJSON    `json:"author"`
	NodeID          string      `json:"node_id"`
	TagName         string      `json:"tag_name"`
	TargetCommitish string      `json:"target_commitish"`
	Name            string      `json:"name"`
	Draft           bool        `json:"draft"`
	Prerelease      bool        `json:"prerelease"`
	CreatedAt       string      `json:"created_at"`
	PublishedAt     *string     `json:"published_at"`
	Assets          []assetJSON `json:"assets"`
	TarballURL      string      `json:"tarball_url"`
	ZipballURL      string      `json:"zipball_url"`
	Body            string      `json:"body"`
}

// assetJSON is GitHub's release-asset object, its fields in GitHub's order.
type assetJSON struct {
	URL                string   `json:"url"`
	ID                 int64    `json:"id"`
	NodeID             string   `json:"node_id"`
	Name               string   `json:"name"`
	Label              string   `json:"label"`
	Uploader           userJSON `json:"uploader"`
	ContentType        string   `json:"content_type"`
	State              string   `json:"state"`
	Size               int      `json:"size"`
	Digest             string   `json:"digest"`
	DownloadCount      int      `json:"download_count"`
	CreatedAt          string   `json:"created_at"`
	UpdatedAt          string   `json:"updated_at"`
	BrowserDownloadURL string   `json:"browser_download_url"`
}

// bot returns the user that publishes releases from GitHub Actions.
func bot(api, web string) userJSON {
	const login = "github-actions[bot]"
	return userJSON{
		Login:     login,
		ID:        41898282,
		NodeID:    "MDM6Qm90NDE4OTgyODI=",
		AvatarURL: "https://avatars.githubusercontent.com/in/15368?v=4",
		URL:       api + "/users/" + url.PathEscape(login),
		HTMLURL:   web + "/apps/github-actions",
		Type:      "Bot",
	}
}

// releaseJSON returns rel as GitHub shows it, with API URLs under api.
func (g *GitHub) releaseJSON(api string, rel *servedRelease) releaseJSON {
	repoAPI := api + "/repos/" + g.opts.Owner + "/" + g.opts.Repo
	repoWeb := g.URL + "/" + g.opts.Owner + "/" + g.opts.Repo
	id := strconv.FormatInt(rel.id, 10)
	stamp := rel.published.UTC().Format(time.RFC3339)
	out := releaseJSON{
		URL:             repoAPI + "/releases/" + id,
		AssetsURL:       repoAPI + "/releases/" + id + "/assets",
		UploadURL:       g.URL + "/api/uploads/repos/" + g.opts.Owner + "/" + g.opts.Repo + "/releases/" + id + "/assets{?name,label}",
		HTMLURL:         repoWeb + "/releases/tag/" + url.PathEscape(g.publicTag(rel)),
		ID:              rel.id,
		Author:          bot(api, g.URL),
		NodeID:          "RE_" + id,
		TagName:         rel.Tag,
		TargetCommitish: "main",
		Name:            rel.Tag,
		Draft:           rel.Draft,
		Prerelease:      rel.Prerelease,
		CreatedAt:       stamp,
		Assets:          make([]assetJSON, 0, len(rel.assets)),
		TarballURL:      repoAPI + "/tarball/" + url.PathEscape(rel.Tag),
		ZipballURL:      repoAPI + "/zipball/" + url.PathEscape(rel.Tag),
		Body:            rel.Body,
	}
	if !rel.Draft {
		out.PublishedAt = &stamp
	}
	for _, a := range rel.assets {
		out.Assets = append(out.Assets, g.assetJSON(api, rel, a))
	}
	return out
}

// assetJSON returns asset a of rel as GitHub shows it.
func (g *GitHub) assetJSON(api string, rel *servedRelease, a servedAsset) assetJSON {
	id := strconv.FormatInt(a.id, 10)
	stamp := rel.published.UTC().Format(time.RFC3339)
	sum := sha256.Sum256(a.data)
	return assetJSON{
		URL:                api + "/repos/" + g.opts.Owner + "/" + g.opts.Repo + "/releases/assets/" + id,
		ID:                 a.id,
		NodeID:             "RA_" + id,
		Name:               a.name,
		Uploader:           bot(api, g.URL),
		ContentType:        contentType(a.name),
		State:              "uploaded",
		Size:               len(a.data),
		Digest:             "sha256:" + hex.EncodeToString(sum[:]),
		CreatedAt:          stamp,
		UpdatedAt:          stamp,
		BrowserDownloadURL: g.browserURL(rel, a.name),
	}
}

// publicTag returns the tag in rel's public URLs: a draft has none yet, and
// GitHub shows it as untagged-ID.
func (g *GitHub) publicTag(rel *servedRelease) string {
	if rel.Draft {
		return "untagged-" + strconv.FormatInt(rel.id, 10)
	}
	return rel.Tag
}

// browserURL returns the download URL of the asset called name of rel.
func (g *GitHub) browserURL(rel *servedRelease, name string) string {
	return g.DownloadURL() + "/" + url.PathEscape(g.publicTag(rel)) + "/" + url.PathEscape(name)
}

// contentType returns the content type GitHub records for an asset upload
// called name.
func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".tar.gz"), strings.HasSuffix(name, ".tgz"), strings.HasSuffix(name, ".gz"):
		return "application/gzip"
	case strings.HasSuffix(name, ".zip"):
		return "application/zip"
	case strings.HasSuffix(name, ".deb"):
		return "application/vnd.debian.binary-package"
	case strings.HasSuffix(name, ".rpm"):
		return "application/x-rpm"
	case strings.HasSuffix(name, ".json"):
		return "application/json"
	case strings.HasSuffix(name, ".sha256"), strings.HasSuffix(name, ".sig"),
		strings.HasSuffix(name, ".pub"), strings.HasSuffix(name, ".txt"):
		return "text/plain"
	}
	return "application/octet-stream"
}
