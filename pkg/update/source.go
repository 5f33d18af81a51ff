package update

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/creativeprojects/go-selfupdate"
)

// DefaultAPIURL is GitHub's REST API.
const DefaultAPIURL = "https://api.github.com"

// maxAssetSize bounds any download; a cco archive is about 12 MB.
const maxAssetSize = 256 << 20

// githubSource lists releases and downloads assets over GitHub's REST API
// with cco's own HTTP client. go-selfupdate's GitHubSource cannot take a
// client (it downloads with http.DefaultClient, which has no timeout) and
// sends $GITHUB_TOKEN to whatever base URL it is given; this source sends a
// token only where it belongs and reports download progress.
type githubSource struct {
	api    string // base URL without a trailing slash
	owner  string // the repository assets are downloaded from
	repo   string
	token  string
	client *http.Client
	// prerelease: whether prereleases are listed at all; stable never sees
	// them, whatever go-selfupdate's own filter does.
	prerelease bool
	// progress, when set, wraps each archive download.
	progress  func(name string, size int64, r io.Reader) io.Reader
	userAgent string
}

type ghRelease struct {
	ID          int64     `json:"id"`
	TagName     string    `json:"tag_name"`
	Name        string    `json:"name"`
	Draft       bool      `json:"draft"`
	Prerelease  bool      `json:"prerelease"`
	PublishedAt time.Time `json:"published_at"`
	Body        string    `json:"body"`
	HTMLURL     string    `json:"html_url"`
	Assets      []ghAsset `json:"assets"`
}

type ghAsset struct {
	ID                 int64  `json:"id"`
	Name               string `json:"name"`
	Size               int    `json:"size"`
	BrowserDownloadURL string `json:"browser_download_url"`
}

func (r *ghRelease) GetID() int64              { return r.ID }
func (r *ghRelease) GetTagName() string        { return r.TagName }
func (r *ghRelease) GetDraft() bool            { return r.Draft }
func (r *ghRelease) GetPrerelease() bool       { return r.Prerelease }
func (r *ghRelease) GetPublishedAt() time.Time { return r.PublishedAt }
func (r *ghRelease) GetReleaseNotes() string   { return r.Body }
func (r *ghRelease) GetName() string           { return r.Name }
func (r *ghRelease) GetURL() string            { return r.HTMLURL }
func (r *ghRelease) GetAssets() []selfupdate.SourceAsset {
	out := make([]selfupdate.SourceAsset, len(r.Assets))
	for i := range r.Assets {
		out[i] = &r.Assets[i]
	}
	return out
}

func (a *ghAsset) GetID() int64                  { return a.ID }
func (a *ghAsset) GetName() string               { return a.Name }
func (a *ghAsset) GetSize() int                  { return a.Size }
func (a *ghAsset) GetBrowserDownloadURL() string { return a.BrowserDownloadURL }

// ListReleases returns the newest 100 releases that are not drafts, and
// not prereleases unless the source is for the beta channel.
func (s *githubSource) ListReleases(ctx context.Context, repo selfupdate.Repository) ([]selfupdate.SourceRelease, error) {
	owner, name, err := repo.GetSlug()
	if err != nil {
		return nil, err
	}
	u := fmt.Sprintf("%s/repos/%s/%s/releases?per_page=100", s.api, url.PathEscape(owner), url.PathEscape(name))
	resp, err := s.get(ctx, u, "application/vnd.github+json")
	if err != nil {
		return nil, fmt.Errorf("list releases of %s/%s: %w", owner, name, err)
	}
	defer resp.Body.Close()
	var rels []*ghRelease
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(&rels); err != nil {
		return nil, fmt.Errorf("list releases of %s/%s: read %s: %w", owner, name, u, err)
	}
	out := make([]selfupdate.SourceRelease, 0, len(rels))
	for _, r := range rels {
		if r.Draft || (r.Prerelease || strings.Contains(r.TagName, "-")) && !s.prerelease {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// DownloadReleaseAsset fetches an asset's bytes through the API's asset
// route, which answers with a redirect to the file.
func (s *githubSource) DownloadReleaseAsset(ctx context.Context, rel *selfupdate.Release, assetID int64) (io.ReadCloser, error) {
	if rel == nil {
		return nil, selfupdate.ErrInvalidRelease
	}
	owner, name := s.owner, s.repo
	assetName := fmt.Sprintf("asset %d", assetID)
	if assetID == rel.AssetID {
		assetName = rel.AssetName
	}
	for _, v := range rel.ValidationChain {
		if v.ValidationAssetID == assetID {
			assetName = v.ValidationAssetName
		}
	}
	u := fmt.Sprintf("%s/repos/%s/%s/releases/assets/%d", s.api, url.PathEscape(owner), url.PathEscape(name), assetID)
	resp, err := s.get(ctx, u, "application/octet-stream")
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", assetName, err)
	}
	if resp.ContentLength > maxAssetSize {
		resp.Body.Close()
		return nil, fmt.Errorf("download %s: %d bytes is more than a release asset can be", assetName, resp.ContentLength)
	}
	var body io.Reader = io.LimitReader(resp.Body, maxAssetSize)
	if s.progress != nil && assetID == rel.AssetID {
		body = s.progress(assetName, resp.ContentLength, body)
	}
	return &checkedBody{r: body, c: resp.Body, want: resp.ContentLength, name: assetName}, nil
}

// checkedBody fails a download that ends before its Content-Length.
// net/http reports that as io.ErrUnexpectedEOF already; this also covers a
// limit reached and keeps the message plain.
type checkedBody struct {
	r    io.Reader
	c    io.Closer
	want int64
	n    int64
	name string
}

func (b *checkedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if errors.Is(err, io.EOF) && b.want >= 0 && b.n != b.want {
		return n, fmt.Errorf("download %s: got %d of %d bytes", b.name, b.n, b.want)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("download %s: cut off after %d bytes: %w", b.name, b.n, err)
	}
	return n, err
}

func (b *checkedBody) Close() error { return b.c.Close() }

func (s *githubSource) get(ctx context.Context, u, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", s.userAgent)
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp, nil
}

// tokenFor picks the GitHub token to send: CCO_GITHUB_TOKEN to any API,
// GITHUB_TOKEN only to GitHub's own. A mirror set with CCO_GITHUB_API_URL
// never sees a token meant for GitHub.
func tokenFor(api string, getenv func(string) string) string {
	if t := getenv("CCO_GITHUB_TOKEN"); t != "" {
		return t
	}
	if strings.TrimRight(api, "/") == DefaultAPIURL {
		return getenv("GITHUB_TOKEN")
	}
	return ""
}
