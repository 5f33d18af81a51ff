package daemon

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/fakeapi"
	"github.com/visiquate/cco/pkg/realdb"
)

// An instance on PostgreSQL keeps proxying while the database is down,
// says so in /health (status degraded, the error, the rows waiting) and in
// /ready (still ready, with the problem named), and writes every waiting
// row once the database is back.
func TestDatabaseOutage(t *testing.T) {
	pg := realdb.StartPostgres(t)
	up := fakeapi.NewUpstream(t, fakeapi.Options{})
	in := start(t, func(c *config.Config) {
		c.Upstream.URL = up.URL
		c.Cache.Enabled = false
		c.Database.URL = pg.URL("")
	})
	get := func(path string, v any) int {
		t.Helper()
		resp, err := http.Get(in.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	health := func() control.Health {
		t.Helper()
		var h control.Health
		get("/health", &h)
		return h
	}
	ask := func(n int) {
		t.Helper()
		for range n {
			if got := send(in.URL()); !strings.Contains(got, "200") {
				t.Fatalf("a request while the database is down: %s", got)
			}
		}
	}
	if h := health(); h.Status != "ok" || h.Database == nil || !h.Database.OK || !strings.HasPrefix(h.Database.Name, "postgres://cco@127.0.0.1") {
		t.Fatalf("/health before: %+v %+v", h, h.Database)
	}

	pg.Stop()
	ask(5)
	deadline := time.Now().Add(30 * time.Second)
	for health().Status != "degraded" {
		if time.Now().After(deadline) {
			t.Fatalf("/health never said degraded: %+v", health().Database)
		}
		time.Sleep(20 * time.Millisecond)
	}
	h := health()
	// Queued is 5, or 0 while the writer holds the rows for an attempt.
	if h.Database.OK || h.Database.Error == "" || h.Database.Since == nil || h.Database.Queued > 5 {
		t.Errorf("/health database while down: %+v", h.Database)
	}
	var ready control.Ready
	if code := get("/ready", &ready); code != 200 || !ready.Ready || len(ready.Problems) != 1 || !strings.Contains(ready.Problems[0], "rows waiting") {
		t.Errorf("/ready while the database is down: %d %+v", code, ready)
	}
	ask(3)

	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		h = health()
		if h.Status == "ok" && h.Database.Queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health after the database came back: %s %+v", h.Status, h.Database)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if h.Database.Dropped != 0 {
		t.Errorf("%d rows dropped", h.Database.Dropped)
	}
	var st control.Stats
	get("/api/stats?range=all", &st)
	if st.Totals.Requests != 8 {
		t.Errorf("/api/stats counts %d requests, want the 8 sent while the database was down", st.Totals.Requests)
	}
}
