package daemon

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/fakeapi"
)

// /metrics on a running instance parses with Prometheus's text parser and
// its request counter and histograms move by exactly the requests sent.
func TestMetricsCountRequests(t *testing.T) {
	up := fakeapi.NewUpstream(t, fakeapi.Options{})
	in := start(t, func(c *config.Config) { c.Upstream.URL = up.URL; c.Cache.Enabled = false })
	scrape := func() (requests, durations, inputTokens float64) {
		t.Helper()
		resp, err := http.Get(in.URL() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		parser := expfmt.NewTextParser(model.UTF8Validation)
		f, err := parser.TextToMetricFamilies(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if f["cco_build_info"] == nil || f["cco_requests_in_flight"] == nil || f["cco_analytics_queue_length"] == nil {
			t.Fatalf("families missing: %v", keys(f))
		}
		for _, m := range f["cco_requests_total"].GetMetric() {
			requests += m.GetCounter().GetValue()
		}
		for _, m := range f["cco_request_duration_seconds"].GetMetric() {
			durations += float64(m.GetHistogram().GetSampleCount())
		}
		for _, m := range f["cco_tokens_total"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == "input" {
					inputTokens += m.GetCounter().GetValue()
				}
			}
		}
		return
	}
	r0, d0, i0 := scrape()
	const n = 7
	for range n {
		if got := send(in.URL()); got != "200 OK message" {
			t.Fatalf("request: %s", got)
		}
	}
	// The request is counted as its answer ends, just after the client has
	// it: wait for the last one.
	deadline := time.Now().Add(5 * time.Second)
	for {
		r1, d1, i1 := scrape()
		if r1-r0 == n && d1-d0 == n && i1-i0 == n*fakeapi.DefaultInputTokens {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d requests: requests +%v, durations +%v, input tokens +%v", n, r1-r0, d1-d0, i1-i0)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func keys[V any](m map[string]V) string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	return strings.Join(s, " ")
}
