package daemon

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/fakeapi"
)

// The dashboard's data on a running instance: each proxied request arrives
// on /api/events as it finishes and is then listed by /api/requests,
// newest first; /api/instance tells where things are; and an open event
// stream does not hold up a graceful stop.
func TestDashboardRoutes(t *testing.T) {
	up := fakeapi.NewUpstream(t, fakeapi.Options{})
	in := start(t, func(c *config.Config) {
		c.Upstream.URL = up.URL
		c.Cache.Enabled = false
		c.Server.ShutdownTimeout = time.Minute
	})
	resp, err := http.Get(in.URL() + control.EventsPath)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("events: %v %v", resp, err)
	}
	defer resp.Body.Close()
	events := bufio.NewReader(resp.Body)
	next := func() control.Request {
		t.Helper()
		for {
			line, err := events.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var r control.Request
				if err := json.Unmarshal([]byte(data), &r); err != nil {
					t.Fatal(err)
				}
				return r
			}
		}
	}
	const n = 3
	for i := range n {
		if got := send(in.URL()); got != "200 OK message" {
			t.Fatalf("request %d: %s", i, got)
		}
		ev := next()
		if ev.Model != "claude-haiku-4-5" || ev.Status != 200 || ev.RequestID == "" || ev.InputTokens != fakeapi.DefaultInputTokens || ev.CostUSD <= 0 || ev.LatencyMS <= 0 {
			t.Errorf("event %d: %+v", i, ev)
		}
	}

	var page control.Requests
	deadline := time.Now().Add(5 * time.Second)
	for len(page.Requests) < n && time.Now().Before(deadline) {
		r, err := http.Get(in.URL() + control.RequestsPath + "?limit=2")
		if err != nil {
			t.Fatal(err)
		}
		page = control.Requests{}
		json.NewDecoder(r.Body).Decode(&page)
		r.Body.Close()
		if len(page.Requests) == 2 && page.NextBefore != 0 {
			r, _ := http.Get(in.URL() + control.RequestsPath + "?limit=2&before=" + itoa(page.NextBefore))
			var rest control.Requests
			json.NewDecoder(r.Body).Decode(&rest)
			r.Body.Close()
			page.Requests = append(page.Requests, rest.Requests...)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(page.Requests) != n {
		t.Fatalf("/api/requests listed %d, want %d", len(page.Requests), n)
	}
	for i := 1; i < n; i++ {
		if page.Requests[i].ID >= page.Requests[i-1].ID || page.Requests[i].Time.After(page.Requests[i-1].Time) {
			t.Errorf("not newest first: %+v", page.Requests)
		}
	}

	r, err := http.Get(in.URL() + control.InstancePath)
	if err != nil {
		t.Fatal(err)
	}
	var inst control.Instance
	json.NewDecoder(r.Body).Decode(&inst)
	r.Body.Close()
	if inst.Listen != in.URL() || inst.Upstream != up.URL || !strings.HasSuffix(inst.Database, ".db") || inst.PID == 0 || inst.Cache == nil || inst.Cache.Enabled {
		t.Errorf("instance %+v", inst)
	}

	// The stream stays open; the stop does not wait the minute of
	// shutdown_timeout for it (wait fails after 20 s).
	in.sigs <- syscall.SIGTERM
	if err := in.wait(t); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
