package config

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// valueKind tells `config set` how to write a value in TOML.
type valueKind int

const (
	kindString valueKind = iota
	kindInt
	kindBool
	kindSize     // integer bytes or a string such as "512MiB"
	kindDuration // integer seconds or a string such as "90s"
	kindUSD      // a number of US dollars
)

// setting describes one configuration key: where it comes from, its default,
// how to parse it into a Config and how to print it back.
type setting struct {
	key      string
	env      string
	doc      string
	kind     valueKind
	def      func(Paths) string
	parse    func(raw string, c *Config) error // the error names no key; the caller adds it
	format   func(c *Config) string
	envValue func(string) string // maps the env text to a value; nil means identity
}

// Key describes one configuration key for help and listings.
type Key struct {
	Name string // dotted, as in config.toml
	Env  string // environment variable, if any
	Doc  string
}

// Keys lists every configuration key in display order.
func Keys() []Key {
	keys := make([]Key, len(settings))
	for i, s := range settings {
		keys[i] = Key{Name: s.key, Env: s.env, Doc: s.doc}
	}
	return keys
}

func lookup(key string) (*setting, bool) {
	for i := range settings {
		if settings[i].key == key {
			return &settings[i], true
		}
	}
	return nil, false
}

func constant(s string) func(Paths) string { return func(Paths) string { return s } }

var settings = []setting{
	{
		key: "server.host", env: "CCO_HOST", doc: "address to listen on", def: constant("127.0.0.1"),
		parse: func(raw string, c *Config) error {
			h := strings.TrimSuffix(strings.TrimPrefix(raw, "["), "]")
			if h == "" || strings.ContainsAny(h, " /") {
				return fmt.Errorf("%q is not a host name or IP address", raw)
			}
			c.Server.Host = h
			return nil
		},
		format: func(c *Config) string { return c.Server.Host },
	},
	intSetting("server.port", "CCO_PORT", "3000", "port to listen on; 0 picks a free port", 0, 65535,
		func(c *Config) *int { return &c.Server.Port }),
	durationSetting("server.shutdown_timeout", "", "30s", "how long in-flight requests may finish on shutdown", time.Second,
		func(c *Config) *time.Duration { return &c.Server.ShutdownTimeout }),
	func() setting {
		s := boolSetting("server.open_browser", "NO_BROWSER", "true", "open the dashboard when run on a terminal (NO_BROWSER=1 turns it off)",
			func(c *Config) *bool { return &c.Server.OpenBrowser })
		s.envValue = func(string) string { return "false" }
		return s
	}(),
	boolSetting("server.allow_remote", "CCO_ALLOW_REMOTE", "false", "allow listening beyond loopback (exposes the gateway to the network)",
		func(c *Config) *bool { return &c.Server.AllowRemote }),
	{
		key: "server.allowed_hosts", env: "CCO_ALLOWED_HOSTS", doc: "Host names accepted besides localhost and loopback addresses (comma-separated)", def: constant(""),
		parse: func(raw string, c *Config) error {
			var hosts []string
			for h := range strings.SplitSeq(raw, ",") {
				h = strings.ToLower(strings.TrimSpace(h))
				if h == "" {
					continue
				}
				if strings.ContainsAny(h, " /:@") {
					return fmt.Errorf("%q is not a host name (no port or scheme)", h)
				}
				hosts = append(hosts, h)
			}
			c.Server.AllowedHosts = hosts
			return nil
		},
		format: func(c *Config) string { return strings.Join(c.Server.AllowedHosts, ",") },
	},
	{
		key: "server.trusted_proxies", env: "CCO_TRUSTED_PROXIES", doc: "reverse proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For names the client; none by default. Their clients count as remote: an access token is needed", def: constant(""),
		parse: func(raw string, c *Config) error {
			var ps []netip.Prefix
			for f := range strings.SplitSeq(raw, ",") {
				f = strings.TrimSpace(f)
				if f == "" {
					continue
				}
				p, err := netip.ParsePrefix(f)
				if err != nil {
					a, aerr := netip.ParseAddr(f)
					if aerr != nil {
						return fmt.Errorf("%q is neither an address nor a CIDR range", f)
					}
					p = netip.PrefixFrom(a, a.BitLen())
				}
				ps = append(ps, p.Masked())
			}
			c.Server.TrustedProxies = ps
			return nil
		},
		format: func(c *Config) string {
			out := make([]string, len(c.Server.TrustedProxies))
			for i, p := range c.Server.TrustedProxies {
				out[i] = p.String()
			}
			return strings.Join(out, ",")
		},
	},
	{
		key: "server.replica", env: "CCO_REPLICA", doc: "this cco's name in the analytics, to tell replicas apart (empty: host name:port)", def: constant(""),
		parse: func(raw string, c *Config) error {
			if len(raw) > 128 || strings.IndexFunc(raw, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
				return fmt.Errorf("%q is not a name: at most 128 characters, none of them control characters", raw)
			}
			c.Server.Replica = raw
			return nil
		},
		format: func(c *Config) string { return c.Server.Replica },
	},
	sizeSetting("server.max_body_size", "CCO_MAX_BODY_SIZE", "32MiB", "largest request body accepted (413 above)", 1024,
		func(c *Config) *int64 { return &c.Server.MaxBodySize }),
	durationSetting("server.body_timeout", "CCO_BODY_TIMEOUT", "1m", "how long a request body may take to arrive (408 after)", time.Second,
		func(c *Config) *time.Duration { return &c.Server.BodyTimeout }),
	{
		key: "upstream.url", env: "CCO_UPSTREAM_URL", doc: "Anthropic API base URL", def: constant("https://api.anthropic.com"),
		parse: func(raw string, c *Config) error {
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("%q is not an http(s) URL", raw)
			}
			if u.RawQuery != "" || u.Fragment != "" {
				return fmt.Errorf("%q must not carry a query or fragment", raw)
			}
			c.Upstream.URL = strings.TrimSuffix(raw, "/")
			return nil
		},
		format: func(c *Config) string { return c.Upstream.URL },
	},
	durationSetting("upstream.header_timeout", "CCO_UPSTREAM_HEADER_TIMEOUT", "10m", "how long to wait for the upstream's response headers (504 after)", time.Second,
		func(c *Config) *time.Duration { return &c.Upstream.HeaderTimeout }),
	durationSetting("upstream.idle_timeout", "CCO_UPSTREAM_IDLE_TIMEOUT", "5m", "longest silence inside a response body before it is cut off", time.Second,
		func(c *Config) *time.Duration { return &c.Upstream.IdleTimeout }),
	boolSetting("cache.enabled", "CCO_CACHE_ENABLED", "true", "serve repeated requests from the response cache",
		func(c *Config) *bool { return &c.Cache.Enabled }),
	sizeSetting("cache.size", "CCO_CACHE_SIZE", "1GiB", "response cache bound in bytes (512MiB, 1GiB, ...)", 0,
		func(c *Config) *int64 { return &c.Cache.Size }),
	durationSetting("cache.ttl", "CCO_CACHE_TTL", "1h", "how long a cached answer lives (seconds or 90s, 1h, ...)", time.Second,
		func(c *Config) *time.Duration { return &c.Cache.TTL }),
	{
		key: "cache.url", env: "CCO_CACHE_URL", doc: "empty for the cache in this process, or a Redis (redis://[user:password@]host:6379/0) that replicas share; the password never shown",
		def: func(Paths) string { return "" },
		parse: func(raw string, c *Config) error {
			if raw != "" && !strings.HasPrefix(raw, "redis://") && !strings.HasPrefix(raw, "rediss://") {
				return fmt.Errorf("%s is not a redis:// or rediss:// URL", RedactURL(raw))
			}
			if raw != "" {
				if u, err := url.Parse(raw); err != nil || u.Host == "" {
					return fmt.Errorf("%s is not a redis:// URL with a host (want redis://host:6379/0)", RedactURL(raw))
				}
			}
			c.Cache.URL = raw
			return nil
		},
		format: func(c *Config) string {
			if c.Cache.URL == "" {
				return ""
			}
			return RedactURL(c.Cache.URL)
		},
	},
	{
		key: "database.url", env: "CCO_DATABASE_URL", doc: "analytics database: a SQLite file (sqlite:///path/to/analytics.db) or PostgreSQL (postgres://user@host/db; the password from PGPASSWORD or ~/.pgpass, or in the URL, never shown)",
		def: func(p Paths) string { return SQLiteURL(filepath.Join(p.DataDir, "analytics.db")) },
		parse: func(raw string, c *Config) error {
			if IsPostgresURL(raw) {
				u, err := url.Parse(raw)
				if err != nil || u.Host == "" {
					return fmt.Errorf("%s is not a postgres:// URL with a host (want postgres://user@host:5432/db)", RedactURL(raw))
				}
			} else if _, err := SQLitePath(raw); err != nil {
				return fmt.Errorf("%w, or postgres://user@host/db", err)
			}
			c.Database.URL = raw
			return nil
		},
		format: func(c *Config) string { return RedactURL(c.Database.URL) },
	},
	durationSetting("database.retention", "CCO_DATABASE_RETENTION", "365d", "how long analytics rows are kept (0 keeps them all)", 0,
		func(c *Config) *time.Duration { return &c.Database.Retention }),
	{
		key: "pricing.file", env: "CCO_PRICING_FILE", doc: "a prices.json whose models override or extend the built-in price table",
		def: func(p Paths) string { return filepath.Join(filepath.Dir(p.ConfigFile), "prices.json") },
		parse: func(raw string, c *Config) error {
			c.Pricing.File = raw
			return nil
		},
		format: func(c *Config) string { return c.Pricing.File },
	},
	oneOfSetting("log.level", "CCO_LOG_LEVEL", "info", "log level", []string{"trace", "debug", "info", "warn", "error"},
		func(c *Config) *string { return &c.Log.Level }),
	oneOfSetting("log.format", "CCO_LOG_FORMAT", "text", "log format", []string{"text", "json"},
		func(c *Config) *string { return &c.Log.Format }),
	sizeSetting("log.max_size", "", "10MiB", "size at which an instance log file is rotated", 1<<20,
		func(c *Config) *int64 { return &c.Log.MaxSize }),
	intSetting("log.max_backups", "", "5", "rotated log files kept per instance", 1, 1000,
		func(c *Config) *int { return &c.Log.MaxBackups }),
	boolSetting("log.compress", "", "true", "gzip rotated log files",
		func(c *Config) *bool { return &c.Log.Compress }),
	boolSetting("updates.enabled", "CCO_UPDATES_ENABLED", "true", "check for new releases",
		func(c *Config) *bool { return &c.Updates.Enabled }),
	oneOfSetting("updates.channel", "CCO_UPDATES_CHANNEL", "stable", "release channel", []string{"stable", "beta"},
		func(c *Config) *string { return &c.Updates.Channel }),
	durationSetting("updates.interval", "", "24h", "time between update checks", time.Hour,
		func(c *Config) *time.Duration { return &c.Updates.Interval }),
	boolSetting("updates.auto_install", "CCO_UPDATES_AUTO_INSTALL", "false", "let `cco run` install updates it finds (manual installs only)",
		func(c *Config) *bool { return &c.Updates.AutoInstall }),
	oneOfSetting("credentials.backend", "CCO_CREDENTIALS_BACKEND", "auto", "where `cco credentials` keeps secrets: the OS keychain, an encrypted file, or auto (keychain when reachable)", []string{"auto", "keychain", "file"},
		func(c *Config) *string { return &c.Credentials.Backend }),
	intSetting("rate_limit.api_rpm", "", "100", "requests per minute per client to /api/* and control routes (0 = off)", 0, math.MaxInt32,
		func(c *Config) *int { return &c.RateLimit.APIRequestsPerMinute }),
	intSetting("rate_limit.api_concurrent", "", "10", "concurrent requests per client to /api/* and control routes (0 = off)", 0, math.MaxInt32,
		func(c *Config) *int { return &c.RateLimit.APIConcurrent }),
	intSetting("rate_limit.proxy_rpm", "CCO_RATE_LIMIT_RPM", "0", "requests per minute per loopback client to /v1/* (0 = off)", 0, math.MaxInt32,
		func(c *Config) *int { return &c.RateLimit.ProxyRequestsPerMinute }),
	intSetting("rate_limit.proxy_concurrent", "CCO_RATE_LIMIT_CONCURRENT", "0", "concurrent requests per loopback client to /v1/* (0 = off)", 0, math.MaxInt32,
		func(c *Config) *int { return &c.RateLimit.ProxyConcurrent }),
	usdSetting("limits.daily_usd", "CCO_LIMITS_DAILY_USD", "spend limit for a day (local midnight to midnight) in USD; new /v1/messages requests get 429 once it is reached (0 = none)",
		func(c *Config) *float64 { return &c.Limits.DailyUSD }),
	usdSetting("limits.monthly_usd", "CCO_LIMITS_MONTHLY_USD", "spend limit for a calendar month (local time) in USD (0 = none)",
		func(c *Config) *float64 { return &c.Limits.MonthlyUSD }),
	usdSetting("limits.block_usd", "CCO_LIMITS_BLOCK_USD", "spend limit for Claude's active 5-hour block in USD (0 = none)",
		func(c *Config) *float64 { return &c.Limits.BlockUSD }),
}

// maxUSD bounds a spend limit: far above any real one, and small enough
// for nano-dollars to fit in an int64.
const maxUSD = 1e9

// ParseUSD reads a spend limit in US dollars ("10", "12.50", "$12.50"); 0
// means none. Negative, non-finite and absurdly large amounts are refused.
func ParseUSD(s string) (float64, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "$")
	v, err := strconv.ParseFloat(strings.ReplaceAll(t, "_", ""), 64)
	switch {
	case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("%q is not an amount of US dollars (such as 10 or 12.50)", s)
	case v < 0:
		return 0, fmt.Errorf("%q: a spend limit cannot be negative (0 means no limit)", s)
	case v > maxUSD:
		return 0, fmt.Errorf("%q is above the largest limit, %.0f", s, float64(maxUSD))
	}
	return v, nil
}

func usdSetting(key, env, doc string, field func(*Config) *float64) setting {
	return setting{
		key: key, env: env, doc: doc, kind: kindUSD, def: constant("0"),
		parse: func(raw string, c *Config) error {
			v, err := ParseUSD(raw)
			if err != nil {
				return err
			}
			*field(c) = v
			return nil
		},
		format: func(c *Config) string { return strconv.FormatFloat(*field(c), 'f', -1, 64) },
	}
}

func intSetting(key, env, def, doc string, lo, hi int, field func(*Config) *int) setting {
	return setting{
		key: key, env: env, doc: doc, kind: kindInt, def: constant(def),
		parse: func(raw string, c *Config) error {
			n, err := strconv.ParseInt(strings.ReplaceAll(raw, "_", ""), 0, 64)
			if err != nil {
				return fmt.Errorf("%q is not an integer", raw)
			}
			if n < int64(lo) || n > int64(hi) {
				return fmt.Errorf("%d is out of range (%d-%d)", n, lo, hi)
			}
			*field(c) = int(n)
			return nil
		},
		format: func(c *Config) string { return strconv.Itoa(*field(c)) },
	}
}

func boolSetting(key, env, def, doc string, field func(*Config) *bool) setting {
	return setting{
		key: key, env: env, doc: doc, kind: kindBool, def: constant(def),
		parse: func(raw string, c *Config) error {
			b, err := strconv.ParseBool(raw)
			if err != nil {
				return fmt.Errorf("%q is not true or false", raw)
			}
			*field(c) = b
			return nil
		},
		format: func(c *Config) string { return strconv.FormatBool(*field(c)) },
	}
}

func oneOfSetting(key, env, def, doc string, choices []string, field func(*Config) *string) setting {
	return setting{
		key: key, env: env, doc: doc + " (" + strings.Join(choices, ", ") + ")", def: constant(def),
		parse: func(raw string, c *Config) error {
			v := strings.ToLower(raw)
			if v == "warning" {
				v = "warn"
			}
			for _, ch := range choices {
				if v == ch {
					*field(c) = v
					return nil
				}
			}
			return fmt.Errorf("%q is not one of %s", raw, strings.Join(choices, ", "))
		},
		format: func(c *Config) string { return *field(c) },
	}
}

func sizeSetting(key, env, def, doc string, lo int64, field func(*Config) *int64) setting {
	return setting{
		key: key, env: env, doc: doc, kind: kindSize, def: constant(def),
		parse: func(raw string, c *Config) error {
			n, err := ParseSize(raw)
			if err != nil {
				return err
			}
			if n < lo {
				return fmt.Errorf("%s is below the minimum of %s", raw, FormatSize(lo))
			}
			*field(c) = n
			return nil
		},
		format: func(c *Config) string { return FormatSize(*field(c)) },
	}
}

func durationSetting(key, env, def, doc string, lo time.Duration, field func(*Config) *time.Duration) setting {
	return setting{
		key: key, env: env, doc: doc, kind: kindDuration, def: constant(def),
		parse: func(raw string, c *Config) error {
			d, err := ParseDuration(raw)
			if err != nil {
				return err
			}
			if d < lo {
				return fmt.Errorf("%s is below the minimum of %s", raw, FormatDuration(lo))
			}
			*field(c) = d
			return nil
		},
		format: func(c *Config) string { return FormatDuration(*field(c)) },
	}
}

// ParseSize reads a byte count: a plain integer or a number with a unit
// (KiB, MiB, GiB, KB, MB, GB, ...). Negative sizes are refused.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "-") {
		return 0, fmt.Errorf("%q: a size cannot be negative", s)
	}
	n, err := humanize.ParseBytes(t)
	if err != nil || t == "" {
		return 0, fmt.Errorf("%q is not a size (use bytes or a unit: 512MiB, 1GiB)", s)
	}
	if n > math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(n), nil
}

// FormatSize prints n in the largest binary unit that divides it exactly,
// so that the result parses back to the same number.
func FormatSize(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// ParseDuration reads a Go duration ("90s", "1h30m"), a whole number of
// seconds ("3600") or of days ("90d"). Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "-") {
		return 0, fmt.Errorf("%q: a duration cannot be negative", s)
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n > int64(math.MaxInt64/time.Second) {
			return 0, fmt.Errorf("%q is too long", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	if days, ok := strings.CutSuffix(t, "d"); ok {
		if n, err := strconv.ParseInt(days, 10, 64); err == nil {
			if n > int64(math.MaxInt64/(24*time.Hour)) {
				return 0, fmt.Errorf("%q is too long", s)
			}
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use seconds or a unit: 90s, 15m, 1h, 30d)", s)
	}
	return d, nil
}

// FormatDuration prints d compactly: "1h", "1h30m", "45s", "90d".
func FormatDuration(d time.Duration) string {
	if day := 24 * time.Hour; d >= 2*day && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// IsPostgresURL reports whether u names a PostgreSQL database.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// RedactURL is u with any password (user:password@, or a password
// parameter) replaced by xxxxx, for output and logs.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(a URL that does not parse)"
	}
	if q := p.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		p.RawQuery = q.Encode()
	}
	return p.Redacted()
}

// SQLiteURL turns a file path into a sqlite:// database URL.
func SQLiteURL(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/Users/... becomes sqlite:///C:/Users/...
	}
	return "sqlite://" + p
}

// SQLitePath extracts the file path from a sqlite:// database URL.
// "sqlite:///home/u/a.db" names /home/u/a.db; "sqlite:///C:/u/a.db" names
// C:/u/a.db on Windows.
func SQLitePath(u string) (string, error) {
	rest, ok := strings.CutPrefix(u, "sqlite://")
	if !ok {
		return "", fmt.Errorf("%q is not a sqlite:// URL (want sqlite:///path/to/analytics.db)", u)
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	switch {
	case rest == "" || rest == "/":
		return "", errors.New("the sqlite:// URL names no file")
	case len(rest) >= 3 && rest[0] == '/' && rest[2] == ':': // /C:/...
		rest = rest[1:]
	case rest[0] != '/':
		return "", fmt.Errorf("%q: the path must be absolute (sqlite:///path/to/analytics.db)", u)
	}
	return filepath.FromSlash(rest), nil
}
