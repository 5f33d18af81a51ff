package proxy

import (
	"net/http"
	"strings"
	"testing"

	"github.com/visiquate/cco/pkg/fakeapi"
)

// TestAttribution: a request's x-cco-user and a hash of its credential
// reach the books, the header never reaches the upstream, and the same key
// gets the same name (on any replica: nothing of the instance goes in).
func TestAttribution(t *testing.T) {
	f := newCachedFront(t, func(*fakeapi.Request) fakeapi.Scenario { return fakeapi.Scenario{} })
	f.post(t, streamReq("a"), "X-Cco-User", "ana@example.com", "X-Claude-Code-Session-Id", "s-1")
	d := f.last()
	if d.User != "ana@example.com" || d.SessionID != "s-1" {
		t.Errorf("user %q session %q", d.User, d.SessionID)
	}
	if len(d.Credential) != 16 || strings.Contains(d.Credential, "sk-ant") {
		t.Errorf("credential named %q, want 16 hex digits", d.Credential)
	}
	for _, r := range f.up.Requests() {
		if r.Header.Get("X-Cco-User") != "" {
			t.Error("x-cco-user reached the upstream")
		}
	}
	var c credentials
	same := c.id(http.Header{"X-Api-Key": {"sk-ant-api03-cache-test"}}, "")
	if same != d.Credential {
		t.Errorf("the same key named %q and %q", same, d.Credential)
	}
	if c.id(http.Header{"X-Api-Key": {"sk-ant-api03-other"}}, "") == same {
		t.Error("two keys, one name")
	}
	if bearer := c.id(http.Header{"Authorization": {"Bearer sk-ant-oat01-x"}}, ""); bearer == "" || bearer == same {
		t.Errorf("a bearer token named %q", bearer)
	}
	if added := c.id(http.Header{}, "sk-ant-api03-configured"); added == "" {
		t.Error("the key cco adds has no name")
	}
	if none := c.id(http.Header{}, ""); none != "" {
		t.Errorf("no credential named %q", none)
	}
	long := strings.Repeat("u", 500)
	if got := user(http.Header{"X-Cco-User": {long}}); len(got) != maxUserLen {
		t.Errorf("a 500-byte user kept as %d bytes", len(got))
	}
}
