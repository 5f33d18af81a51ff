package daemon

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/fakeapi"
	"github.com/visiquate/cco/pkg/server"
	"github.com/visiquate/cco/pkg/version"
)

// BenchmarkInstance drives a whole instance (server, proxy, usage tap,
// analytics store, response cache) in one process, for profiling:
//
//	go test -run '^$' -bench BenchmarkInstance -cpuprofile cpu.out ./pkg/daemon/
func BenchmarkInstance(b *testing.B) {
	up, err := fakeapi.Start(fakeapi.Options{NoRecord: true})
	if err != nil {
		b.Fatal(err)
	}
	defer up.Close()
	dir := b.TempDir()
	paths := config.Paths{ConfigFile: filepath.Join(dir, "config.toml"), DataDir: filepath.Join(dir, "data"), CacheDir: filepath.Join(dir, "cache")}
	r, err := config.Resolve(config.Input{Paths: paths, Flags: []config.Flag{{Key: "upstream.url", Name: "--upstream", Value: up.URL}}})
	if err != nil {
		b.Fatal(err)
	}
	log := logrus.New()
	log.Out = io.Discard
	log.Level = logrus.WarnLevel
	p, closeComponents, err := openComponents(context.Background(), r.Config, Options{Now: time.Now}, log, "bench:3000")
	if err != nil {
		b.Fatal(err)
	}
	defer closeComponents()
	srv := server.New(server.Options{Info: version.Info{Version: "bench"}, StartedAt: time.Now(), Now: time.Now, Logger: log,
		Proxy: p.proxy, Stats: p.stats(time.Now), CacheStats: p.cacheStats, ClearCache: p.clearCache})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

	for _, c := range []struct {
		name, body, bypass string
	}{
		{"miss/json", `{"model":"claude-haiku-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`, "bypass"},
		{"miss/stream", `{"model":"claude-haiku-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, "bypass"},
		{"hit/json", `{"model":"claude-haiku-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`, ""},
		{"hit/stream", `{"model":"claude-haiku-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("POST", ts.URL+"/v1/messages", bytes.NewReader([]byte(c.body)))
					req.Header.Set("X-Api-Key", "sk-ant-bench")
					req.Header.Set("Content-Type", "application/json")
					if c.bypass != "" {
						req.Header.Set("X-Cco-Cache", c.bypass)
					}
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}
