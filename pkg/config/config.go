// Package config resolves cco's settings: embedded defaults < config.toml <
// CCO_* environment < command-line flags, in one pure function (Resolve) that
// records where every value came from. It also knows the platform paths and
// edits config.toml in place without losing comments.
//
// It imports only the standard library, go-toml and go-humanize.
package config

import (
	"fmt"
	"net/netip"
	"time"
)

// Config is the effective configuration of cco.
type Config struct {
	Server      Server
	Upstream    Upstream
	Cache       Cache
	Database    Database
	Pricing     Pricing
	Log         Log
	Updates     Updates
	RateLimit   RateLimit
	Credentials Credentials
	Limits      Limits
}

// Server configures the local listener.
type Server struct {
	Host            string
	Port            int // 0 picks a free port
	ShutdownTimeout time.Duration
	OpenBrowser     bool
	// AllowRemote permits listening on an address other machines can reach.
	AllowRemote bool
	// AllowedHosts are Host header names accepted besides loopback ones.
	AllowedHosts []string
	// TrustedProxies are the addresses (CIDR ranges) of reverse proxies
	// whose X-Forwarded-For names the client; none by default.
	TrustedProxies []netip.Prefix
	// Replica names this cco in the analytics (empty: host name:port).
	Replica string
	// MaxBodySize bounds a request body; larger ones get 413.
	MaxBodySize int64
	// BodyTimeout bounds the time to read a request body; a slower one
	// gets 408.
	BodyTimeout time.Duration
}

// Upstream is the Anthropic API that cco forwards to.
type Upstream struct {
	URL string
	// HeaderTimeout bounds the wait for the upstream's response headers.
	HeaderTimeout time.Duration
	// IdleTimeout bounds the silence between two reads of a response body;
	// a stream as a whole has no time limit.
	IdleTimeout time.Duration
}

// Cache configures the response cache.
type Cache struct {
	Enabled bool
	Size    int64 // bytes (in this process; with URL, the largest entry kept)
	TTL     time.Duration
	URL     string // "" for the in-process cache, or redis://... to share one
}

// Database locates the analytics store.
type Database struct {
	URL       string        // sqlite:///absolute/path.db
	Retention time.Duration // rows older than this are deleted; 0 keeps all
}

// Pricing locates the user's price overrides.
type Pricing struct {
	File string // prices.json; a missing file is no override
}

// Log configures logging and the rotation of instance log files.
type Log struct {
	Level      string // trace, debug, info, warn, error
	Format     string // text or json
	MaxSize    int64  // bytes before a log file is rotated
	MaxBackups int    // rotated files kept
	Compress   bool   // gzip rotated files
}

// Updates configures the self-updater.
type Updates struct {
	Enabled     bool
	Channel     string // stable or beta
	Interval    time.Duration
	AutoInstall bool // install found updates by itself (manual installs only)
}

// RateLimit holds per-client-IP limits. Zero means no limit.
type RateLimit struct {
	APIRequestsPerMinute   int // /api/* and control routes
	APIConcurrent          int
	ProxyRequestsPerMinute int // /v1/* from loopback clients
	ProxyConcurrent        int
}

// Limits are the spend limits a user sets for themselves, in USD; 0 means
// no limit. The day and month are the instance's local calendar, the block
// Claude's active 5-hour block.
type Limits struct {
	DailyUSD   float64
	MonthlyUSD float64
	BlockUSD   float64
}

// Credentials configures where `cco credentials` keeps secrets.
type Credentials struct {
	// Backend is auto (the OS keychain when one answers, else the
	// encrypted file), keychain or file.
	Backend string
}

// SourceKind says which layer supplied a value.
type SourceKind int

// The layers, lowest precedence first.
const (
	FromDefault SourceKind = iota
	FromFile
	FromEnv
	FromFlag
)

func (k SourceKind) String() string {
	return [...]string{"default", "file", "env", "flag"}[k]
}

// Source records where a value came from.
type Source struct {
	Kind SourceKind
	Name string // "config.toml:12", "CCO_PORT", "--port"; empty for defaults
	Raw  string // the text that was parsed
}

func (s Source) String() string {
	if s.Name == "" {
		return s.Kind.String()
	}
	return s.Kind.String() + " " + s.Name
}

// Error is a configuration mistake. It names the file and line when the
// mistake is in config.toml, and the key when one is at fault.
type Error struct {
	Path string // config file, when the mistake is in it
	Line int    // 1-based; 0 when unknown
	Key  string // dotted key, when one is at fault
	From string // "CCO_PORT" or "--port" when the value came from there
	Msg  string
}

func (e *Error) Error() string {
	var s string
	switch {
	case e.Path != "" && e.Line > 0:
		s = fmt.Sprintf("config %s:%d: ", e.Path, e.Line)
	case e.Path != "":
		s = fmt.Sprintf("config %s: ", e.Path)
	case e.From != "":
		s = e.From + ": "
	}
	if e.Key != "" {
		s += e.Key + ": "
	}
	return s + e.Msg
}
