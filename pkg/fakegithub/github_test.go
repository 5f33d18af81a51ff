package fakegithub_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/fakegithub"
)

// ghRelease is the part of GitHub's release object the tests read.
type ghRelease struct {
	URL         string    `json:"url"`
	HTMLURL     string    `json:"html_url"`
	ID          int64     `json:"id"`
	TagName     string    `json:"tag_name"`
	Name        string    `json:"name"`
	Draft       bool      `json:"draft"`
	Prerelease  bool      `json:"prerelease"`
	CreatedAt   time.Time `json:"created_at"`
	PublishedAt *string   `json:"published_at"`
	Assets      []ghAsset `json:"assets"`
	TarballURL  string    `json:"tarball_url"`
	ZipballURL  string    `json:"zipball_url"`
	Body        string    `json:"body"`
	Author      struct {
		Login string `json:"login"`
	} `json:"author"`
}

// ghAsset is the part of GitHub's release-asset object the tests read.
type ghAsset struct {
	URL                string `json:"url"`
	ID                 int64  `json:"id"`
	Name               string `json:"name"`
	Size               int    `json:"size"`
	ContentType        string `json:"content_type"`
	State              string `json:"state"`
	Digest             string `json:"digest"`
	BrowserDownloadURL string `json:"browser_download_url"`
}

// httpClient returns a client that never uses a proxy, so that the tests
// stay on 127.0.0.1, and follows redirects only if follow is set.
func httpClient(t *testing.T, follow bool) *http.Client {
	transport := &http.Transport{Proxy: nil}
	t.Cleanup(transport.CloseIdleConnections)
	c := &http.Client{Transport: transport}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

// day returns noon UTC of 2025-11-d.
func day(d int) time.Time { return time.Date(2025, time.November, d, 12, 0, 0, 0, time.UTC) }

// sampleReleases returns, in no particular order: a stable v2025.11.1, a
// stable v2025.11.2, a prerelease v2025.12.1-beta.1 and a draft
// v2025.12.1, each newer than the one before.
func sampleReleases() []fakegithub.Release {
	return []fakegithub.Release{
		{Tag: "v2025.12.1-beta.1", Prerelease: true, Published: day(20), Assets: map[string][]byte{
			"cco-v2025.12.1-beta.1-linux-x86_64.tar.gz": []byte("beta archive"),
		}},
		{Tag: "v2025.11.1", Published: day(1), Assets: map[string][]byte{
			"checksums.sha256": []byte("old sums\n"),
		}},
		{Tag: "v2025.12.1", Draft: true, Published: day(25), Assets: map[string][]byte{
			"draft.bin": []byte("draft bytes"),
		}},
		{Tag: "v2025.11.2", Published: day(10), Body: "Fixes <everything> & more", Assets: map[string][]byte{
			"cco-v2025.11.2-linux-x86_64.tar.gz": []byte("stable archive bytes"),
			"checksums.sha256":                   []byte("sums\n"),
		}},
	}
}

// get fetches url with headers (name, value pairs) through c and returns
// the response and its whole body.
func get(t *testing.T, c *http.Client, url string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp, body
}

// getJSON fetches url, wants status, and decodes the body into v.
func getJSON(t *testing.T, url string, status int, v any) http.Header {
	t.Helper()
	resp, body := get(t, httpClient(t, true), url, "Accept", "application/vnd.github+json")
	if resp.StatusCode != status {
		t.Fatalf("GET %s: status %d, want %d; body %s", url, resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: Content-Type %q, want application/json", url, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: decode %s: %v", url, body, err)
	}
	return resp.Header
}

// tags returns the tag names of releases.
func tags(releases []ghRelease) []string {
	var out []string
	for _, r := range releases {
		out = append(out, r.TagName)
	}
	return out
}

// wantNotFound checks that url answers GitHub's API 404.
func wantNotFound(t *testing.T, url string) {
	t.Helper()
	var msg struct {
		Message string `json:"message"`
	}
	getJSON(t, url, http.StatusNotFound, &msg)
	if msg.Message != "Not Found" {
		t.Fatalf("GET %s: message %q, want Not Found", url, msg.Message)
	}
}

func TestGitHubListReleases(t *testing.T) {
	g := fakegithub.NewGitHub(t, sampleReleases()...)
	repo := g.APIURL() + "/repos/visiquate/cco"

	var list []ghRelease
	getJSON(t, repo+"/releases", http.StatusOK, &list)
	want := []string{"v2025.12.1", "v2025.12.1-beta.1", "v2025.11.2", "v2025.11.1"}
	if got := tags(list); !slices.Equal(got, want) {
		t.Fatalf("releases %v, want newest first %v", got, want)
	}

	draft, beta, stable := list[0], list[1], list[2]
	if !draft.Draft || draft.Prerelease || draft.PublishedAt != nil {
		t.Errorf("draft: draft %v prerelease %v published_at %v, want true false null", draft.Draft, draft.Prerelease, draft.PublishedAt)
	}
	if !strings.Contains(draft.Assets[0].BrowserDownloadURL, "/untagged-") {
		t.Errorf("draft asset URL %s, want an untagged- one", draft.Assets[0].BrowserDownloadURL)
	}
	if beta.Draft || !beta.Prerelease {
		t.Errorf("beta: draft %v prerelease %v, want false true", beta.Draft, beta.Prerelease)
	}
	if stable.Name != "v2025.11.2" || stable.PublishedAt == nil || *stable.PublishedAt != "2025-11-10T12:00:00Z" ||
		!stable.CreatedAt.Equal(day(10)) {
		t.Errorf("stable: name %q created_at %v published_at %v", stable.Name, stable.CreatedAt, stable.PublishedAt)
	}
	if stable.URL != fmt.Sprintf("%s/releases/%d", repo, stable.ID) || stable.ID == 0 {
		t.Errorf("stable: url %s, id %d", stable.URL, stable.ID)
	}
	if stable.HTMLURL != g.URL+"/visiquate/cco/releases/tag/v2025.11.2" {
		t.Errorf("stable: html_url %s", stable.HTMLURL)
	}
	if stable.TarballURL != repo+"/tarball/v2025.11.2" || stable.ZipballURL != repo+"/zipball/v2025.11.2" {
		t.Errorf("stable: tarball_url %s zipball_url %s", stable.TarballURL, stable.ZipballURL)
	}
	if stable.Body != "Fixes <everything> & more" || stable.Author.Login == "" {
		t.Errorf("stable: body %q author %q", stable.Body, stable.Author.Login)
	}

	if len(stable.Assets) != 2 {
		t.Fatalf("stable has %d assets, want 2", len(stable.Assets))
	}
	a := stable.Assets[0] // assets are in name order
	content := []byte("stable archive bytes")
	sum := sha256.Sum256(content)
	switch {
	case a.Name != "cco-v2025.11.2-linux-x86_64.tar.gz":
		t.Errorf("first asset %q", a.Name)
	case a.Size != len(content), a.State != "uploaded", a.ContentType != "application/gzip":
		t.Errorf("asset: size %d state %q content_type %q", a.Size, a.State, a.ContentType)
	case a.Digest != "sha256:"+hex.EncodeToString(sum[:]):
		t.Errorf("asset digest %s", a.Digest)
	case a.BrowserDownloadURL != g.DownloadURL()+"/v2025.11.2/"+a.Name:
		t.Errorf("asset browser_download_url %s", a.BrowserDownloadURL)
	case a.URL != fmt.Sprintf("%s/releases/assets/%d", repo, a.ID):
		t.Errorf("asset url %s, id %d", a.URL, a.ID)
	}
	if stable.Assets[1].Name != "checksums.sha256" || stable.Assets[1].ContentType != "text/plain" {
		t.Errorf("second asset %+v", stable.Assets[1])
	}
}

func TestGitHubJSONLayout(t *testing.T) {
	client := httpClient(t, true)
	rel := fakegithub.Release{Tag: "v2025.11.2", Body: "a < b"}
	g := fakegithub.NewGitHub(t, rel)
	_, body := get(t, client, g.APIURL()+"/repos/visiquate/cco/releases/latest")
	if !bytes.Contains(body, []byte("\n  \"tag_name\": \"v2025.11.2\",\n")) {
		t.Errorf("JSON is not indented like GitHub's:\n%s", body)
	}
	if !bytes.Contains(body, []byte(`"a < b"`)) {
		t.Errorf("JSON escapes HTML characters, which GitHub does not:\n%s", body)
	}

	compact, err := fakegithub.StartGitHub(fakegithub.GitHubOptions{Compact: true}, rel)
	if err != nil {
		t.Fatal(err)
	}
	defer compact.Close()
	_, body = get(t, client, compact.APIURL()+"/repos/visiquate/cco/releases/latest")
	if bytes.Count(body, []byte("\n")) != 1 || !bytes.Contains(body, []byte(`"tag_name":"v2025.11.2"`)) {
		t.Errorf("Compact JSON is not on one line:\n%s", body)
	}
}

func TestGitHubLatest(t *testing.T) {
	g := fakegithub.NewGitHub(t, sampleReleases()...)
	url := g.APIURL() + "/repos/visiquate/cco/releases/latest"
	var rel ghRelease
	getJSON(t, url, http.StatusOK, &rel)
	if rel.TagName != "v2025.11.2" {
		t.Fatalf("latest is %s, want v2025.11.2 (newer draft and prerelease skipped)", rel.TagName)
	}

	g.SetReleases(
		fakegithub.Release{Tag: "v2025.12.1-beta.1", Prerelease: true},
		fakegithub.Release{Tag: "v2025.12.1", Draft: true},
	)
	wantNotFound(t, url)
	g.SetReleases()
	wantNotFound(t, url)
}

func TestGitHubReleaseByTagAndID(t *testing.T) {
	g := fakegithub.NewGitHub(t, sampleReleases()...)
	repo := g.APIURL() + "/repos/visiquate/cco/releases"
	var rel ghRelease
	getJSON(t, repo+"/tags/v2025.12.1-beta.1", http.StatusOK, &rel)
	if rel.TagName != "v2025.12.1-beta.1" || !rel.Prerelease {
		t.Fatalf("by tag: %s prerelease %v", rel.TagName, rel.Prerelease)
	}
	var byID ghRelease
	getJSON(t, fmt.Sprintf("%s/%d", repo, rel.ID), http.StatusOK, &byID)
	if byID.TagName != rel.TagName {
		t.Fatalf("by id %d: %s, want %s", rel.ID, byID.TagName, rel.TagName)
	}
	wantNotFound(t, repo+"/tags/v2025.12.1") // a draft
	wantNotFound(t, repo+"/tags/v1999.1.1")
	wantNotFound(t, repo+"/999999")
}

func TestGitHubIDsAreStable(t *testing.T) {
	g := fakegithub.NewGitHub(t, sampleReleases()...)
	url := g.APIURL() + "/repos/visiquate/cco/releases/tags/v2025.11.2"
	var before, after ghRelease
	getJSON(t, url, http.StatusOK, &before)
	g.SetReleases(sampleReleases()[3], fakegithub.Release{Tag: "v2026.1.1", Published: day(30)})
	getJSON(t, url, http.StatusOK, &after)
	if before.ID != after.ID || before.Assets[0].ID != after.Assets[0].ID {
		t.Fatalf("ids changed with SetReleases: release %d -> %d, asset %d -> %d",
			before.ID, after.ID, before.Assets[0].ID, after.Assets[0].ID)
	}
}

func TestGitHubPaging(t *testing.T) {
	var releases []fakegithub.Release
	for i := 1; i <= 5; i++ {
		releases = append(releases, fakegithub.Release{Tag: fmt.Sprintf("v2025.11.%d", i), Published: day(i)})
	}
	g := fakegithub.NewGitHub(t, releases...)
	base := g.APIURL() + "/repos/visiquate/cco/releases"

	var seen []string
	for page, want := range []int{2, 2, 1, 0} {
		var list []ghRelease
		h := getJSON(t, fmt.Sprintf("%s?per_page=2&page=%d", base, page+1), http.StatusOK, &list)
		if len(list) != want {
			t.Fatalf("page %d has %d releases, want %d", page+1, len(list), want)
		}
		seen = append(seen, tags(list)...)
		link := h.Get("Link")
		if hasNext := strings.Contains(link, `rel="next"`); hasNext != (page+1 < 3) {
			t.Errorf("page %d: Link %q", page+1, link)
		}
		if page == 0 && !strings.Contains(link, "<"+base+"?page=2&per_page=2>; rel=\"next\"") {
			t.Errorf("page 1: Link %q", link)
		}
	}
	want := []string{"v2025.11.5", "v2025.11.4", "v2025.11.3", "v2025.11.2", "v2025.11.1"}
	if !slices.Equal(seen, want) {
		t.Fatalf("pages gave %v, want %v", seen, want)
	}

	for _, query := range []string{"", "?per_page=0", "?per_page=x&page=-1", "?per_page=1000"} {
		var list []ghRelease
		getJSON(t, base+query, http.StatusOK, &list)
		if len(list) != 5 {
			t.Errorf("%s: %d releases, want all 5", query, len(list))
		}
	}

	releases = nil
	for i := range 130 {
		releases = append(releases, fakegithub.Release{Tag: fmt.Sprintf("v2020.1.%d", i)})
	}
	g.SetReleases(releases...)
	for query, want := range map[string]int{"": 30, "?per_page=1000": 100, "?per_page=100&page=2": 30} {
		var list []ghRelease
		getJSON(t, base+query, http.StatusOK, &list)
		if len(list) != want {
			t.Errorf("%s: %d releases, want %d", query, len(list), want)
		}
	}
	var first []ghRelease
	getJSON(t, base+"?per_page=1", http.StatusOK, &first)
	if first[0].TagName != "v2020.1.0" {
		t.Errorf("releases published together: first is %s, want the first given", first[0].TagName)
	}
}

func TestGitHubEnterprisePrefix(t *testing.T) {
	client := httpClient(t, true)
	g := fakegithub.NewGitHub(t, sampleReleases()...)
	api := g.URL + "/api/v3/repos/visiquate/cco/releases"
	var list []ghRelease
	getJSON(t, api, http.StatusOK, &list)
	if len(list) != 4 {
		t.Fatalf("%d releases under /api/v3, want 4", len(list))
	}
	stable := list[2]
	asset := stable.Assets[0]
	if !strings.HasPrefix(stable.URL, api+"/") || asset.URL != fmt.Sprintf("%s/assets/%d", api, asset.ID) {
		t.Errorf("URLs under /api/v3 do not keep the prefix: %s, %s", stable.URL, asset.URL)
	}
	var latest ghRelease
	getJSON(t, api+"/latest", http.StatusOK, &latest)
	if latest.TagName != "v2025.11.2" {
		t.Errorf("/api/v3 latest is %s", latest.TagName)
	}
	var byTag ghRelease
	getJSON(t, api+"/tags/v2025.11.1", http.StatusOK, &byTag)
	if byTag.TagName != "v2025.11.1" {
		t.Errorf("/api/v3 by tag is %s", byTag.TagName)
	}
	// What go-selfupdate does: the asset API with Accept: octet-stream,
	// following the redirect.
	resp, body := get(t, client, asset.URL, "Accept", "application/octet-stream")
	if resp.StatusCode != http.StatusOK || string(body) != "stable archive bytes" {
		t.Fatalf("asset download under /api/v3: %d %q", resp.StatusCode, body)
	}
	wantNotFound(t, g.URL+"/api/v3/repos/other/repo/releases")
	wantNotFound(t, g.URL+"/api/v3/releases")
}

func TestGitHubAssetAPI(t *testing.T) {
	client := httpClient(t, true)
	noRedirect := httpClient(t, false)
	g := fakegithub.NewGitHub(t, sampleReleases()...)
	var list []ghRelease
	getJSON(t, g.APIURL()+"/repos/visiquate/cco/releases", http.StatusOK, &list)
	asset := list[2].Assets[0]

	var meta ghAsset
	getJSON(t, asset.URL, http.StatusOK, &meta)
	if meta != asset {
		t.Fatalf("asset metadata %+v, want %+v", meta, asset)
	}

	resp, _ := get(t, noRedirect, asset.URL, "Accept", "application/octet-stream")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != asset.BrowserDownloadURL {
		t.Fatalf("asset bytes: %d Location %q, want 302 to %s", resp.StatusCode, resp.Header.Get("Location"), asset.BrowserDownloadURL)
	}
	resp, body := get(t, client, asset.URL, "Accept", "application/octet-stream")
	if resp.StatusCode != http.StatusOK || string(body) != "stable archive bytes" {
		t.Fatalf("asset bytes after redirect: %d %q", resp.StatusCode, body)
	}

	// A draft's asset comes straight from the API.
	draftAsset := list[0].Assets[0]
	resp, body = get(t, noRedirect, draftAsset.URL, "Accept", "application/octet-stream")
	if resp.StatusCode != http.StatusOK || string(body) != "draft bytes" {
		t.Fatalf("draft asset bytes: %d %q", resp.StatusCode, body)
	}

	wantNotFound(t, g.APIURL()+"/repos/visiquate/cco/releases/assets/424242")
	wantNotFound(t, g.APIURL()+"/repos/visiquate/cco/releases/assets/x")
}

func TestGitHubBrowserDownload(t *testing.T) {
	client := httpClient(t, true)
	noRedirect := httpClient(t, false)
	g := fakegithub.NewGitHub(t, sampleReleases()...)
	url := g.DownloadURL() + "/v2025.11.2/cco-v2025.11.2-linux-x86_64.tar.gz"
	resp, body := get(t, client, url)
	if resp.StatusCode != http.StatusOK || string(body) != "stable archive bytes" {
		t.Fatalf("GET %s: %d %q", url, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type %q, want application/octet-stream", ct)
	}
	if cl := resp.Header.Get("Content-Length"); cl != fmt.Sprint(len(body)) {
		t.Errorf("Content-Length %q, want %d", cl, len(body))
	}

	// Prereleases download like any published release.
	resp, body = get(t, client, g.DownloadURL()+"/v2025.12.1-beta.1/cco-v2025.12.1-beta.1-linux-x86_64.tar.gz")
	if resp.StatusCode != http.StatusOK || string(body) != "beta archive" {
		t.Errorf("prerelease download: %d %q", resp.StatusCode, body)
	}

	// releases/latest/download/NAME goes to the latest stable release.
	resp, _ = get(t, noRedirect, g.URL+"/visiquate/cco/releases/latest/download/checksums.sha256")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != g.DownloadURL()+"/v2025.11.2/checksums.sha256" {
		t.Errorf("latest/download: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	for _, missing := range []string{
		g.DownloadURL() + "/v2025.11.2/nothing.tar.gz",
		g.DownloadURL() + "/v2025.12.1/draft.bin", // drafts have no public download
		g.DownloadURL() + "/v1999.1.1/checksums.sha256",
		g.URL + "/other/repo/releases/download/v2025.11.2/checksums.sha256",
		g.URL + "/",
	} {
		if resp, _ := get(t, client, missing); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", missing, resp.StatusCode)
		}
	}
}

func TestGitHubFaults(t *testing.T) {
	client := httpClient(t, true)
	content := bytes.Repeat([]byte("0123456789"), 100_000) // 1 MB: more than one write
	name := "cco-v2025.11.2-linux-x86_64.tar.gz"
	g := fakegithub.NewGitHub(t, fakegithub.Release{Tag: "v2025.11.2", Assets: map[string][]byte{name: content}})
	url := g.DownloadURL() + "/v2025.11.2/" + name

	g.SetFault(name, fakegithub.FaultCutHalfway)
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(content)) {
		t.Fatalf("cut download: status %d Content-Length %d, want 200 and %d", resp.StatusCode, resp.ContentLength, len(content))
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut download: read error %v, want unexpected EOF", err)
	}
	if len(got) != len(content)/2 || !bytes.Equal(got, content[:len(got)]) {
		t.Fatalf("cut download: got %d bytes, want the first %d", len(got), len(content)/2)
	}

	// Through the API too, after the redirect.
	var rel ghRelease
	getJSON(t, g.APIURL()+"/repos/visiquate/cco/releases/latest", http.StatusOK, &rel)
	req, _ := http.NewRequest(http.MethodGet, rel.Assets[0].URL, nil)
	req.Header.Set("Accept", "application/octet-stream")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut API download: read error %v, want unexpected EOF", err)
	}
	resp.Body.Close()

	g.SetFault(name, fakegithub.FaultNotFound)
	if resp, _ := get(t, client, url); resp.StatusCode != http.StatusNotFound {
		t.Errorf("FaultNotFound: status %d, want 404", resp.StatusCode)
	}
	getJSON(t, g.APIURL()+"/repos/visiquate/cco/releases/latest", http.StatusOK, &rel)
	if len(rel.Assets) != 1 {
		t.Errorf("FaultNotFound removed the asset from its release")
	}

	g.SetFault(name, fakegithub.FaultNone)
	if resp, body := get(t, client, url); resp.StatusCode != http.StatusOK || !bytes.Equal(body, content) {
		t.Errorf("FaultNone: status %d, %d bytes", resp.StatusCode, len(body))
	}
	if s := fakegithub.FaultCutHalfway.String(); s != "FaultCutHalfway" {
		t.Errorf("String: %q", s)
	}
}

func TestGitHubNotFound(t *testing.T) {
	client := httpClient(t, true)
	g := fakegithub.NewGitHub(t, sampleReleases()...)
	for _, path := range []string{
		"/repos/other/cco/releases",
		"/repos/visiquate/other/releases",
		"/repos/visiquate/cco",
		"/repos/visiquate/cco/releases/assets",
		"/repos/visiquate/cco/releases/latest/extra",
		"/api/v3",
		"/api/v3/user",
	} {
		wantNotFound(t, g.URL+path)
	}
	resp, err := client.Post(g.APIURL()+"/repos/visiquate/cco/releases", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST: status %d, want 404", resp.StatusCode)
	}
}

func TestGitHubOwnerRepo(t *testing.T) {
	g, err := fakegithub.StartGitHub(fakegithub.GitHubOptions{Owner: "acme", Repo: "tool"}, fakegithub.Release{
		Tag: "v1.0.0", Assets: map[string][]byte{"a.txt": []byte("a")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var rel ghRelease
	getJSON(t, g.APIURL()+"/repos/ACME/Tool/releases/latest", http.StatusOK, &rel) // names ignore case
	if rel.TagName != "v1.0.0" || !strings.HasPrefix(rel.Assets[0].BrowserDownloadURL, g.URL+"/acme/tool/releases/download/") {
		t.Fatalf("release %s, asset URL %s", rel.TagName, rel.Assets[0].BrowserDownloadURL)
	}
	if g.DownloadURL() != g.URL+"/acme/tool/releases/download" {
		t.Errorf("DownloadURL %s", g.DownloadURL())
	}
	wantNotFound(t, g.APIURL()+"/repos/visiquate/cco/releases")
}

func TestGitHubRequests(t *testing.T) {
	client := httpClient(t, true)
	g := fakegithub.NewGitHub(t, sampleReleases()...)
	get(t, client, g.APIURL()+"/repos/visiquate/cco/releases?per_page=5", "Authorization", "Bearer t0ken")
	get(t, client, g.DownloadURL()+"/v2025.11.2/checksums.sha256")
	want := []string{
		"GET /repos/visiquate/cco/releases?per_page=5",
		"GET /visiquate/cco/releases/download/v2025.11.2/checksums.sha256",
	}
	if got := g.Requests(); !slices.Equal(got, want) {
		t.Fatalf("Requests() = %q, want %q", got, want)
	}
	h := g.RequestHeaders()
	if len(h) != 2 || h[0].Get("Authorization") != "Bearer t0ken" || h[1].Get("Authorization") != "" {
		t.Fatalf("RequestHeaders() = %v", h)
	}
	g.Reset()
	if got := g.Requests(); len(got) != 0 {
		t.Fatalf("after Reset, Requests() = %q", got)
	}
}

func TestGitHubRejectsBadReleases(t *testing.T) {
	if _, err := fakegithub.StartGitHub(fakegithub.GitHubOptions{}, fakegithub.Release{Tag: "v1"}, fakegithub.Release{Tag: "v1"}); err == nil {
		t.Error("two releases with one tag: no error")
	}
	if _, err := fakegithub.StartGitHub(fakegithub.GitHubOptions{}, fakegithub.Release{}); err == nil {
		t.Error("a release without a tag: no error")
	}
	g := fakegithub.NewGitHub(t)
	defer func() {
		if recover() == nil {
			t.Error("SetReleases with two releases with one tag did not panic")
		}
	}()
	g.SetReleases(fakegithub.Release{Tag: "v1"}, fakegithub.Release{Tag: "v1"})
}

func TestGitHubConcurrentSetReleases(t *testing.T) {
	client := httpClient(t, true)
	g := fakegithub.NewGitHub(t, sampleReleases()...)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				resp, err := client.Get(g.APIURL() + "/repos/visiquate/cco/releases")
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	for i := 0; ; i++ {
		select {
		case <-done:
			if n := len(g.Requests()); n != 100 {
				t.Fatalf("%d requests recorded, want 100", n)
			}
			return
		default:
		}
		g.SetReleases(sampleReleases()[:1+i%4]...)
		g.SetFault("x", fakegithub.Fault(i%3))
	}
}

func TestGitHubClose(t *testing.T) {
	client := httpClient(t, true)
	g, err := fakegithub.StartGitHub(fakegithub.GitHubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g.Close()
	g.Close()
	if _, err := client.Get(g.APIURL() + "/repos/visiquate/cco/releases"); err == nil {
		t.Fatal("the fake still answers after Close")
	}
}

func TestReleaseFromDir(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"a.tar.gz": "archive", "checksums.sha256": "sums\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "cco_linux_amd64_v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.tar.gz", filepath.Join(dir, "link.tar.gz")); err != nil {
		t.Fatal(err)
	}
	rel, err := fakegithub.ReleaseFromDir("v2025.11.2", true, dir)
	if err != nil {
		t.Fatal(err)
	}
	if rel.Tag != "v2025.11.2" || !rel.Prerelease || rel.Draft {
		t.Errorf("release %s prerelease %v draft %v", rel.Tag, rel.Prerelease, rel.Draft)
	}
	if len(rel.Assets) != 2 || string(rel.Assets["a.tar.gz"]) != "archive" || string(rel.Assets["checksums.sha256"]) != "sums\n" {
		t.Errorf("assets %q, want a.tar.gz and checksums.sha256 only", rel.Assets)
	}
	if _, err := fakegithub.ReleaseFromDir("v1", false, filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing folder: no error")
	}
}
