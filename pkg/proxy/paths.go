package proxy

import (
	"net/url"
	"path"
	"strings"
)

// forwardPath decides the path the upstream gets for a request the /v1/*
// route handed to the proxy, and whether it may be forwarded at all.
//
// The path is cleaned with path.Clean semantics (dot segments resolved,
// repeated slashes collapsed, a trailing slash kept) on its decoded form,
// so that %2e%2e and an encoded slash around dots count as the dot
// segments an upstream may take them for, and a backslash counts as a
// slash, as some servers treat it. What is left must still be under /v1/;
// anything else would carry the injected API key to another part of the
// upstream, so it is refused.
//
// A path that cleaning leaves as it was, and whose /v1/ the client did not
// encode, is forwarded exactly as the client encoded it (raw is its
// RawPath). One that cleaning changed is forwarded in
// its cleaned, decoded form, re-encoded by net/url: an upstream then sees
// no dot segment however it decodes the path.
func forwardPath(u *url.URL) (p, raw string, ok bool) {
	decoded := u.Path
	slashed := strings.ReplaceAll(decoded, `\`, "/")
	cleaned := path.Clean(slashed)
	if strings.HasSuffix(slashed, "/") && cleaned != "/" {
		cleaned += "/"
	}
	if !strings.HasPrefix(cleaned, "/v1/") {
		return "", "", false
	}
	// The client's encoding is kept only where its /v1/ is literal: in
	// /v1%2Fmessages the upstream may see one segment, "v1/messages", and
	// that is not under /v1/.
	if cleaned == decoded && (u.RawPath == "" || strings.HasPrefix(u.RawPath, "/v1/")) {
		return decoded, u.RawPath, true
	}
	return cleaned, "", true
}
