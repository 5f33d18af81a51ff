package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/fakeapi"
)

// rawExchange sends a request as written and reads the answer's status.
func rawExchange(t *testing.T, base, request string) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to %q: %v", strings.SplitN(request, "\r\n", 2)[0], err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Through the whole instance (echo, its middleware, the proxy): a slow
// body gets 408 after server.body_timeout, a path leaving /v1/ gets 400, a
// cross-site browser request gets 403, and none of them reaches the
// upstream; an ordinary request still passes.
func TestHardeningThroughTheInstance(t *testing.T) {
	up := fakeapi.NewUpstream(t, fakeapi.Options{})
	in := start(t, func(c *config.Config) {
		c.Upstream.URL = up.URL
		c.Server.BodyTimeout = 500 * time.Millisecond
	})
	t.Cleanup(func() { in.Stop(context.Background()) })
	base := in.URL()
	host := strings.TrimPrefix(base, "http://")

	slow := fmt.Sprintf("POST /v1/messages HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n{", host, 32<<20)
	if code := rawExchange(t, base, slow); code != http.StatusRequestTimeout {
		t.Errorf("slow body: %d, want 408", code)
	}
	for _, target := range []string{"/v1/../api/stats", "/v1/%2e%2e/api/stats", "/v1/messages/../../x"} {
		req := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", target, host)
		if code := rawExchange(t, base, req); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", target, code)
		}
	}
	for _, site := range []string{"cross-site", "same-site"} {
		req := fmt.Sprintf("GET /v1/models HTTP/1.1\r\nHost: %s\r\nSec-Fetch-Site: %s\r\nConnection: close\r\n\r\n", host, site)
		if code := rawExchange(t, base, req); code != http.StatusForbidden {
			t.Errorf("Sec-Fetch-Site %s: %d, want 403", site, code)
		}
	}
	if got := up.Requests(); len(got) != 0 {
		t.Fatalf("refused requests reached the upstream: %+v", got)
	}
	if got := send(base); !strings.HasPrefix(got, "200") {
		t.Errorf("an ordinary request: %s", got)
	}
}
