package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sync/atomic"

	"github.com/visiquate/cco/pkg/cache"
)

// UserHeader names the user a request is for in the analytics. Like every
// x-cco-* field, it is addressed to cco and never forwarded.
const UserHeader = "X-Cco-User"

// maxUserLen bounds the x-cco-user value kept; longer ones are cut.
const maxUserLen = 128

// user is the request's x-cco-user, trimmed to maxUserLen bytes.
func user(h http.Header) string {
	u := h.Get(UserHeader)
	if len(u) > maxUserLen {
		u = u[:maxUserLen]
	}
	return u
}

// credentials names credentials without revealing them: the first 16 hex
// digits of a SHA-256 of what authenticates a request (the same on every
// replica, so a team's figures group by key). It remembers the last one,
// since nearly every request of a client carries the same key.
type credentials struct {
	last atomic.Pointer[[2]string] // the credential and its name
}

// id names the credential of a request whose headers are h, fallback
// being the key cco adds; "" when there is none.
func (c *credentials) id(h http.Header, fallback string) string {
	cred := cache.Credential(h, fallback)
	if cred == "cco:" {
		return "" // no credential sent and none added
	}
	if last := c.last.Load(); last != nil && last[0] == cred {
		return last[1]
	}
	sum := sha256.Sum256([]byte("cco credential\x00" + cred))
	name := hex.EncodeToString(sum[:8])
	c.last.Store(&[2]string{cred, name})
	return name
}
