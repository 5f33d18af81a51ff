package config

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

var testPaths = Paths{ConfigFile: "/home/u/.config/cco/config.toml", DataDir: "/home/u/.local/share/cco", CacheDir: "/home/u/.cache/cco"}

func envOf(kv ...string) (func(string) (string, bool), []string) {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	var environ []string
	for k, v := range m {
		environ = append(environ, k+"="+v)
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }, environ
}

func TestDefaults(t *testing.T) {
	r, err := Resolve(Input{Paths: testPaths})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Config
	if c.Server.Host != "127.0.0.1" || c.Server.Port != 3000 || !c.Server.OpenBrowser || c.Server.BodyTimeout != time.Minute {
		t.Errorf("server defaults: %+v", c.Server)
	}
	if c.Upstream.URL != "https://api.anthropic.com" {
		t.Errorf("upstream default: %q", c.Upstream.URL)
	}
	if !c.Cache.Enabled || c.Cache.Size != 1<<30 || c.Cache.TTL != time.Hour {
		t.Errorf("cache defaults: %+v", c.Cache)
	}
	if c.Database.URL != "sqlite:///home/u/.local/share/cco/analytics.db" {
		t.Errorf("database default: %q", c.Database.URL)
	}
	if c.Log.Level != "info" || c.Log.Format != "text" || c.Log.MaxSize != 10<<20 || c.Log.MaxBackups != 5 || !c.Log.Compress {
		t.Errorf("log defaults: %+v", c.Log)
	}
	if !c.Updates.Enabled || c.Updates.Channel != "stable" || c.Updates.Interval != 24*time.Hour {
		t.Errorf("update defaults: %+v", c.Updates)
	}
	if c.RateLimit != (RateLimit{APIRequestsPerMinute: 100, APIConcurrent: 10}) {
		t.Errorf("rate limit defaults: %+v", c.RateLimit)
	}
	for _, s := range settings {
		if src := r.Sources[s.key]; src.Kind != FromDefault {
			t.Errorf("%s: source %v, want default", s.key, src)
		}
	}
}

func TestPrecedence(t *testing.T) {
	file := []byte(`
[server]
host = "localhost"
port = 4000

[cache]
ttl = 600
size = "256MiB"
`)
	tests := []struct {
		name       string
		file       []byte
		env        []string
		flags      []Flag
		key        string
		want       string
		wantSource string
	}{
		{name: "default", key: "server.port", want: "3000", wantSource: "default"},
		{name: "file over default", file: file, key: "server.port", want: "4000", wantSource: "file c.toml:4"},
		{name: "env over file", file: file, env: []string{"CCO_PORT", "5000"}, key: "server.port", want: "5000", wantSource: "env CCO_PORT"},
		{name: "flag over env", file: file, env: []string{"CCO_PORT", "5000"}, flags: []Flag{{"server.port", "--port", "0"}}, key: "server.port", want: "0", wantSource: "flag --port"},
		{name: "empty env is unset", file: file, env: []string{"CCO_PORT", ""}, key: "server.port", want: "4000", wantSource: "file c.toml:4"},
		{name: "file keeps untouched keys", file: file, env: []string{"CCO_PORT", "5000"}, key: "server.host", want: "localhost", wantSource: "file c.toml:3"},
		{name: "ttl seconds in file", file: file, key: "cache.ttl", want: "10m", wantSource: "file c.toml:7"},
		{name: "ttl env", file: file, env: []string{"CCO_CACHE_TTL", "2h"}, key: "cache.ttl", want: "2h", wantSource: "env CCO_CACHE_TTL"},
		{name: "size env", env: []string{"CCO_CACHE_SIZE", "512MB"}, key: "cache.size", want: "500000KiB", wantSource: "env CCO_CACHE_SIZE"},
		{name: "size file", file: file, key: "cache.size", want: "256MiB", wantSource: "file c.toml:8"},
		{name: "NO_BROWSER", env: []string{"NO_BROWSER", "1"}, key: "server.open_browser", want: "false", wantSource: "env NO_BROWSER"},
		{name: "database env", env: []string{"CCO_DATABASE_URL", "sqlite:///tmp/x.db"}, key: "database.url", want: "sqlite:///tmp/x.db", wantSource: "env CCO_DATABASE_URL"},
		{name: "log level env", env: []string{"CCO_LOG_LEVEL", "DEBUG"}, key: "log.level", want: "debug", wantSource: "env CCO_LOG_LEVEL"},
		{name: "upstream env", env: []string{"CCO_UPSTREAM_URL", "http://127.0.0.1:9/"}, key: "upstream.url", want: "http://127.0.0.1:9", wantSource: "env CCO_UPSTREAM_URL"},
		{name: "host env", env: []string{"CCO_HOST", "::1"}, key: "server.host", want: "::1", wantSource: "env CCO_HOST"},
		{name: "rate env", env: []string{"CCO_RATE_LIMIT_RPM", "60"}, key: "rate_limit.proxy_rpm", want: "60", wantSource: "env CCO_RATE_LIMIT_RPM"},
		{name: "concurrent env", env: []string{"CCO_RATE_LIMIT_CONCURRENT", "4"}, key: "rate_limit.proxy_concurrent", want: "4", wantSource: "env CCO_RATE_LIMIT_CONCURRENT"},
		{name: "remote with opt-in", env: []string{"CCO_HOST", "0.0.0.0", "CCO_ALLOW_REMOTE", "true"}, key: "server.host", want: "0.0.0.0", wantSource: "env CCO_HOST"},
		{name: "allowed hosts", env: []string{"CCO_ALLOWED_HOSTS", " Cco.Example , ,b.lan"}, key: "server.allowed_hosts", want: "cco.example,b.lan", wantSource: "env CCO_ALLOWED_HOSTS"},
		{name: "header timeout", env: []string{"CCO_UPSTREAM_HEADER_TIMEOUT", "90"}, key: "upstream.header_timeout", want: "1m30s", wantSource: "env CCO_UPSTREAM_HEADER_TIMEOUT"},
		{name: "body timeout default", key: "server.body_timeout", want: "1m", wantSource: "default"},
		{name: "trusted proxies", env: []string{"CCO_TRUSTED_PROXIES", " 127.0.0.1, 10.1.2.3/8,,::1 "}, key: "server.trusted_proxies", want: "127.0.0.1/32,10.0.0.0/8,::1/128", wantSource: "env CCO_TRUSTED_PROXIES"},
		{name: "trusted proxies default", key: "server.trusted_proxies", want: "", wantSource: "default"},
		{name: "body timeout file", file: []byte("[server]\nbody_timeout = \"20s\"\n"), key: "server.body_timeout", want: "20s", wantSource: "file c.toml:2"},
		{name: "body timeout env", file: []byte("[server]\nbody_timeout = \"20s\"\n"), env: []string{"CCO_BODY_TIMEOUT", "90"}, key: "server.body_timeout", want: "1m30s", wantSource: "env CCO_BODY_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookupEnv, environ := envOf(tt.env...)
			r, err := Resolve(Input{Paths: testPaths, ConfigPath: "c.toml", ConfigData: tt.file, LookupEnv: lookupEnv, Environ: environ, Flags: tt.flags})
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Value(tt.key)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("%s = %q, want %q", tt.key, got, tt.want)
			}
			if src := r.Sources[tt.key].String(); src != tt.wantSource {
				t.Errorf("%s source = %q, want %q", tt.key, src, tt.wantSource)
			}
			if len(r.Warnings) > 0 {
				t.Errorf("unexpected warnings %q", r.Warnings)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   []string
		flags []Flag
		want  string
	}{
		{name: "syntax", file: "[server]\nport = 3000\nhost = \n", want: "config c.toml:3: "},
		{name: "unclosed table", file: "[server\n", want: "config c.toml:1: "},
		{name: "duplicate key", file: "[server]\nport = 1\nport = 2\n", want: "config c.toml:3: "},
		{name: "port range file", file: "[server]\n\nport = 70000\n", want: "config c.toml:3: server.port: 70000 is out of range (0-65535)"},
		{name: "port type", file: "[server]\nport = \"abc\"\n", want: `config c.toml:2: server.port: "abc" is not an integer`},
		{name: "port float", file: "[server]\nport = 3000.5\n", want: `server.port: "3000.5" is not an integer`},
		{name: "negative size", file: "[cache]\nsize = -5\n", want: `config c.toml:2: cache.size: "-5": a size cannot be negative`},
		{name: "negative size string", env: []string{"CCO_CACHE_SIZE", "-1GiB"}, want: `CCO_CACHE_SIZE: cache.size: "-1GiB": a size cannot be negative`},
		{name: "bad size unit", env: []string{"CCO_CACHE_SIZE", "12 parsecs"}, want: `cache.size: "12 parsecs" is not a size`},
		{name: "negative ttl", env: []string{"CCO_CACHE_TTL", "-3"}, want: `CCO_CACHE_TTL: cache.ttl: "-3": a duration cannot be negative`},
		{name: "channel", file: "[updates]\nchannel = \"nightly\"\n", want: `config c.toml:2: updates.channel: "nightly" is not one of stable, beta`},
		{name: "channel env", env: []string{"CCO_UPDATES_CHANNEL", "alpha"}, want: `CCO_UPDATES_CHANNEL: updates.channel: "alpha" is not one of stable, beta`},
		{name: "port env", env: []string{"CCO_PORT", "70000"}, want: "CCO_PORT: server.port: 70000 is out of range"},
		{name: "port flag", flags: []Flag{{"server.port", "--port", "-1"}}, want: "--port: server.port: -1 is out of range"},
		{name: "array value", file: "[server]\nport = [1, 2]\n", want: "config c.toml:2: server.port: expected a single value, not an array"},
		{name: "date value", file: "[server]\nhost = 1979-05-27\n", want: "config c.toml:2: server.host: expected a string, number or boolean"},
		{name: "inline table value", file: "server = { port = 99999 }\n", want: "config c.toml:1: server.port: 99999 is out of range"},
		{name: "bool", file: "[cache]\nenabled = \"maybe\"\n", want: `cache.enabled: "maybe" is not true or false`},
		{name: "log level", env: []string{"CCO_LOG_LEVEL", "loud"}, want: `CCO_LOG_LEVEL: log.level: "loud" is not one of trace, debug, info, warn, error`},
		{name: "upstream", env: []string{"CCO_UPSTREAM_URL", "ftp://x"}, want: `upstream.url: "ftp://x" is not an http(s) URL`},
		{name: "trusted proxy not an address", env: []string{"CCO_TRUSTED_PROXIES", "nginx.lan"}, want: `server.trusted_proxies: "nginx.lan" is neither an address nor a CIDR range`},
		{name: "cache scheme", env: []string{"CCO_CACHE_URL", "memcached://u:s3cret@x"}, want: `cache.url: memcached://u:xxxxx@x is not a redis:// or rediss:// URL`},
		{name: "cache without a host", env: []string{"CCO_CACHE_URL", "redis:///0"}, want: `cache.url: redis:///0 is not a redis:// URL with a host`},
		{name: "database scheme", env: []string{"CCO_DATABASE_URL", "mysql://x"}, want: `database.url: "mysql://x" is not a sqlite:// URL (want sqlite:///path/to/analytics.db), or postgres://user@host/db`},
		{name: "postgres without a host", env: []string{"CCO_DATABASE_URL", "postgres://:s3cret@/cco"}, want: `database.url: postgres://:xxxxx@/cco is not a postgres:// URL with a host`},
		{name: "database relative", env: []string{"CCO_DATABASE_URL", "sqlite://a.db"}, want: `the path must be absolute`},
		{name: "log size minimum", file: "[log]\nmax_size = 1000\n", want: "log.max_size: 1000 is below the minimum of 1MiB"},
		{name: "shutdown timeout minimum", file: "[server]\nshutdown_timeout = \"10ms\"\n", want: "server.shutdown_timeout: 10ms is below the minimum of 1s"},
		{name: "array of tables", file: "[[server]]\nport = 1\n", want: "config c.toml:1: server: expected a table of settings"},
		{name: "remote host from file", file: "[server]\n\nhost = \"0.0.0.0\"\n", want: "config c.toml:3: server.host: 0.0.0.0 is not a loopback address"},
		{name: "remote host from flag", flags: []Flag{{"server.host", "--host", "192.168.1.5"}}, want: "--host: server.host: 192.168.1.5 is not a loopback address"},
		{name: "remote host name", env: []string{"CCO_HOST", "myhost.lan"}, want: "CCO_HOST: server.host: myhost.lan is not a loopback address"},
		{name: "allowed host with port", env: []string{"CCO_ALLOWED_HOSTS", "a.example:3000"}, want: `server.allowed_hosts: "a.example:3000" is not a host name`},
		{name: "tiny body limit", env: []string{"CCO_MAX_BODY_SIZE", "10"}, want: "server.max_body_size: 10 is below the minimum of 1KiB"},
		{name: "body timeout minimum", env: []string{"CCO_BODY_TIMEOUT", "100ms"}, want: "server.body_timeout: 100ms is below the minimum of 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookupEnv, environ := envOf(tt.env...)
			in := Input{Paths: testPaths, ConfigPath: "c.toml", LookupEnv: lookupEnv, Environ: environ, Flags: tt.flags}
			if tt.file != "" {
				in.ConfigData = []byte(tt.file)
			}
			_, err := Resolve(in)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not *config.Error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestUnknownKeysWarn(t *testing.T) {
	lookupEnv, environ := envOf("CCO_PROT", "1", "CCO_CONFIG", "/x", "CCO_PORT", "3001", "HOME", "/h")
	r, err := Resolve(Input{
		Paths:      testPaths,
		ConfigPath: "c.toml",
		ConfigData: []byte("[server]\nprot = 4000\n\n[cahce]\nsize = 1\n[extra]\nwhatever = true\n"),
		LookupEnv:  lookupEnv,
		Environ:    environ,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`config c.toml:2: unknown key "server.prot" (did you mean "server.port"?)`,
		`config c.toml:5: unknown key "cahce.size" (did you mean "cache.size"?)`,
		`config c.toml:7: unknown key "extra.whatever"`,
		`unknown environment variable CCO_PROT (did you mean "CCO_PORT"?)`,
	}
	if strings.Join(r.Warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(r.Warnings, "\n"), strings.Join(want, "\n"))
	}
	if r.Config.Server.Port != 3001 {
		t.Errorf("known keys still apply: port %d", r.Config.Server.Port)
	}
}

func TestSettingsListing(t *testing.T) {
	lookupEnv, environ := envOf("CCO_PORT", "0")
	r, err := Resolve(Input{Paths: testPaths, ConfigPath: "c.toml", ConfigData: []byte("[log]\nlevel = \"debug\"\n"), LookupEnv: lookupEnv, Environ: environ})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Setting{}
	for _, s := range r.Settings() {
		got[s.Key] = s
	}
	if len(got) != len(Keys()) {
		t.Fatalf("Settings lists %d keys, Keys %d", len(got), len(Keys()))
	}
	if s := got["server.port"]; s.Value != "0" || s.Source != "env CCO_PORT" || s.Env != "CCO_PORT" {
		t.Errorf("server.port: %+v", s)
	}
	if s := got["log.level"]; s.Value != "debug" || s.Source != "file c.toml:2" {
		t.Errorf("log.level: %+v", s)
	}
	if s := got["cache.size"]; s.Value != "1GiB" || s.Source != "default" {
		t.Errorf("cache.size: %+v", s)
	}
	if _, err := r.Value("nope.key"); err == nil || !strings.Contains(err.Error(), `unknown key "nope.key"`) {
		t.Errorf("Value of unknown key: %v", err)
	}
}

// A PostgreSQL or Redis URL is taken as given, and shown without its
// password.
func TestDatabaseURLRedacted(t *testing.T) {
	const u = "postgres://cco:s3cret@db.internal:5432/cco?sslmode=require"
	lookupEnv, environ := envOf("CCO_DATABASE_URL", u, "CCO_CACHE_URL", "redis://:s3cret@cache.internal:6379/0")
	r, err := Resolve(Input{Paths: testPaths, LookupEnv: lookupEnv, Environ: environ})
	if err != nil {
		t.Fatal(err)
	}
	if r.Config.Database.URL != u {
		t.Errorf("Database.URL = %q, want %q", r.Config.Database.URL, u)
	}
	got, err := r.Value("database.url")
	if err != nil {
		t.Fatal(err)
	}
	if want := "postgres://cco:xxxxx@db.internal:5432/cco?sslmode=require"; got != want {
		t.Errorf("config get database.url = %q, want %q", got, want)
	}
	if got, _ := r.Value("cache.url"); got != "redis://:xxxxx@cache.internal:6379/0" {
		t.Errorf("config get cache.url = %q", got)
	}
	for _, st := range r.Settings() {
		if strings.Contains(st.Value, "s3cret") {
			t.Errorf("config show: %s = %q", st.Key, st.Value)
		}
	}
}

// Every default and every formatted value parses back to itself, so `config
// get` output can be fed to `config set`.
func TestFormatRoundTrip(t *testing.T) {
	r, err := Resolve(Input{Paths: testPaths})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		text := s.format(&r.Config)
		var c Config
		if err := s.parse(text, &c); err != nil {
			t.Errorf("%s: formatted %q does not parse: %v", s.key, text, err)
			continue
		}
		if again := s.format(&c); again != text {
			t.Errorf("%s: %q became %q", s.key, text, again)
		}
	}
}

func TestSizesAndDurations(t *testing.T) {
	sizes := map[string]int64{"0": 0, "1024": 1024, "1KiB": 1024, "512MiB": 512 << 20, "1 GiB": 1 << 30, "1GB": 1e9, "2g": 2e9}
	for in, want := range sizes {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "abc", "1 parsec"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) succeeded", bad)
		}
	}
	for n, want := range map[int64]string{0: "0", 1 << 30: "1GiB", 3 << 20: "3MiB", 1536: "1536", 1 << 40: "1TiB", 1000: "1000"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
	durs := map[string]time.Duration{"3600": time.Hour, "90s": 90 * time.Second, "1h30m": 90 * time.Minute, "0": 0, "30d": 30 * 24 * time.Hour}
	for in, want := range durs {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-5", "-1h", "soon", "99999999999999999999", "-3d", "1.5d", "d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
	for d, want := range map[time.Duration]string{time.Hour: "1h", 90 * time.Minute: "1h30m", 45 * time.Second: "45s", 24 * time.Hour: "24h", 61 * time.Second: "1m1s", 90 * 24 * time.Hour: "90d", 49 * time.Hour: "49h"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestSQLiteURL(t *testing.T) {
	cases := map[string]string{
		"sqlite:///home/u/a.db":       filepath.FromSlash("/home/u/a.db"),
		"sqlite:///C:/Users/u/a.db":   filepath.FromSlash("C:/Users/u/a.db"),
		"sqlite:///tmp/a.db?mode=rwc": filepath.FromSlash("/tmp/a.db"),
	}
	for in, want := range cases {
		if got, err := SQLitePath(in); err != nil || got != want {
			t.Errorf("SQLitePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"sqlite://", "sqlite:///", "file:///a.db", "sqlite://rel.db"} {
		if _, err := SQLitePath(bad); err == nil {
			t.Errorf("SQLitePath(%q) succeeded", bad)
		}
	}
	if got := SQLiteURL("/var/lib/cco/a.db"); got != "sqlite:///var/lib/cco/a.db" {
		t.Errorf("SQLiteURL = %q", got)
	}
	if runtime.GOOS == "windows" {
		if got := SQLiteURL(`C:\Users\u\a.db`); got != "sqlite:///C:/Users/u/a.db" {
			t.Errorf("SQLiteURL windows = %q", got)
		}
	}
}

func TestDefaultPaths(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name, goos, home string
		env              map[string]string
		want             Paths
		pid              string
	}{
		{
			name: "linux", goos: "linux", home: "/home/u",
			want: Paths{ConfigFile: "/home/u/.config/cco/config.toml", DataDir: "/home/u/.local/share/cco", CacheDir: "/home/u/.cache/cco"},
			pid:  "/home/u/.local/share/cco/pids",
		},
		{
			name: "darwin", goos: "darwin", home: "/Users/u",
			want: Paths{ConfigFile: "/Users/u/.config/cco/config.toml", DataDir: "/Users/u/.local/share/cco", CacheDir: "/Users/u/.cache/cco"},
		},
		{
			name: "xdg", goos: "linux", home: "/home/u",
			env:  map[string]string{"XDG_CONFIG_HOME": "/cfg", "XDG_DATA_HOME": "/data", "XDG_CACHE_HOME": "/cache"},
			want: Paths{ConfigFile: "/cfg/cco/config.toml", DataDir: "/data/cco", CacheDir: "/cache/cco"},
		},
		{
			name: "relative xdg ignored", goos: "linux", home: "/home/u",
			env:  map[string]string{"XDG_CONFIG_HOME": "rel"},
			want: Paths{ConfigFile: "/home/u/.config/cco/config.toml", DataDir: "/home/u/.local/share/cco", CacheDir: "/home/u/.cache/cco"},
		},
		{
			name: "windows", goos: "windows", home: `C:\Users\u`,
			env:  map[string]string{"APPDATA": `C:\Users\u\AppData\Roaming`, "LOCALAPPDATA": `C:\Users\u\AppData\Local`},
			want: Paths{ConfigFile: `C:\Users\u\AppData\Roaming\cco\config.toml`, DataDir: `C:\Users\u\AppData\Local\cco`, CacheDir: `C:\Users\u\AppData\Local\cco\cache`},
		},
		{
			name: "windows without env", goos: "windows", home: `C:\Users\u`,
			want: Paths{ConfigFile: `C:\Users\u\AppData\Roaming\cco\config.toml`, DataDir: `C:\Users\u\AppData\Local\cco`, CacheDir: `C:\Users\u\AppData\Local\cco\cache`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DefaultPaths(tt.goos, env(tt.env), tt.home)
			if err != nil {
				t.Fatal(err)
			}
			if tt.goos != "windows" {
				tt.want = Paths{filepath.FromSlash(tt.want.ConfigFile), filepath.FromSlash(tt.want.DataDir), filepath.FromSlash(tt.want.CacheDir)}
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			if tt.pid != "" && got.PidDir() != filepath.FromSlash(tt.pid) {
				t.Errorf("PidDir = %q", got.PidDir())
			}
		})
	}
	if _, err := DefaultPaths("linux", env(nil), ""); err == nil {
		t.Error("no HOME: want an error")
	}
}

func TestSetValue(t *testing.T) {
	orig := `# cco settings, tuned by hand
[server]
  # the port Claude Code talks to
  port = 4000   # keep
  host = "127.0.0.1"

[cache] # response cache
ttl = "2h"

[log]
`
	tests := []struct {
		name, in, key, value, want string
	}{
		{
			name: "replace keeps comments", in: orig, key: "server.port", value: "5000",
			want: strings.Replace(orig, "port = 4000", "port = 5000", 1),
		},
		{
			name: "replace string", in: orig, key: "cache.ttl", value: "90s",
			want: strings.Replace(orig, `ttl = "2h"`, `ttl = "90s"`, 1),
		},
		{
			name: "add to section keeps indentation", in: orig, key: "server.open_browser", value: "false",
			want: strings.Replace(orig, "  host = \"127.0.0.1\"\n", "  host = \"127.0.0.1\"\n  open_browser = false\n", 1),
		},
		{
			name: "add to empty table", in: orig, key: "log.level", value: "debug",
			want: orig + "level = \"debug\"\n",
		},
		{
			name: "new section", in: orig, key: "updates.channel", value: "beta",
			want: orig + "\n[updates]\nchannel = \"beta\"\n",
		},
		{
			name: "new file", in: "", key: "cache.size", value: "512MiB",
			want: "[cache]\nsize = \"512MiB\"\n",
		},
		{
			name: "bare integer size", in: "", key: "cache.size", value: "1048576",
			want: "[cache]\nsize = 1048576\n",
		},
		{
			name: "dotted keys at top level", in: "server.port = 1\n", key: "server.host", value: "localhost",
			want: "server.port = 1\nserver.host = \"localhost\"\n",
		},
		{
			name: "no trailing newline", in: "[server]\nport = 1", key: "server.host", value: "::1",
			want: "[server]\nport = 1\nhost = \"::1\"\n",
		},
		{
			name: "quotes escaped", in: "", key: "upstream.url", value: `http://127.0.0.1:9/"x"`,
			want: "[upstream]\nurl = \"http://127.0.0.1:9/\\\"x\\\"\"\n",
		},
		{
			name: "replace inside inline table", in: "server = { port = 1, host = \"::1\" }\n", key: "server.port", value: "2",
			want: "server = { port = 2, host = \"::1\" }\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in []byte
			if tt.in != "" {
				in = []byte(tt.in)
			}
			got, err := SetValue("c.toml", in, tt.key, tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			r, err := Resolve(Input{Paths: testPaths, ConfigPath: "c.toml", ConfigData: got})
			if err != nil {
				t.Fatalf("result does not resolve: %v", err)
			}
			if v, _ := r.Value(tt.key); r.Sources[tt.key].Kind != FromFile {
				t.Errorf("%s = %q from %v, want it from the file", tt.key, v, r.Sources[tt.key])
			}
		})
	}
}

func TestSetValueErrors(t *testing.T) {
	tests := []struct{ in, key, value, want string }{
		{"", "server.prot", "1", `unknown key "server.prot" (did you mean "server.port"?)`},
		{"", "server.port", "70000", "server.port: 70000 is out of range"},
		{"", "updates.channel", "nightly", `updates.channel: "nightly" is not one of stable, beta`},
		{"[server\n", "server.port", "1", "config c.toml:1:"},
		{"server = { host = \"a\" }\n", "server.port", "1", "cannot set server.port in c.toml automatically"},
	}
	for _, tt := range tests {
		var in []byte
		if tt.in != "" {
			in = []byte(tt.in)
		}
		_, err := SetValue("c.toml", in, tt.key, tt.value)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SetValue(%q, %s=%s) error %v, want %q", tt.in, tt.key, tt.value, err, tt.want)
		}
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "config.toml")
	if data, err := ReadFile(path); err != nil || data != nil {
		t.Fatalf("missing file: %q, %v", data, err)
	}
	if err := WriteFile(path, []byte("a = 1\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("new file mode %v, want 0600", fi.Mode().Perm())
	}
	if runtime.GOOS != "windows" {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteFile(path, []byte("a = 2\n")); err != nil {
		t.Fatal(err)
	}
	data, err := ReadFile(path)
	if err != nil || string(data) != "a = 2\n" {
		t.Fatalf("read back %q, %v", data, err)
	}
	if fi, _ := os.Stat(path); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o644 {
		t.Errorf("mode not kept: %v", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
	if data, err := ReadFile(filepath.Join(dir, "empty.toml")); err != nil || data != nil {
		t.Errorf("missing: %q %v", data, err)
	}
	empty := filepath.Join(dir, "empty2.toml")
	os.WriteFile(empty, nil, 0o600)
	if data, err := ReadFile(empty); err != nil || data == nil {
		t.Errorf("an empty file is a file: %v %v", data, err)
	}
}

// The README's configuration table names every key and its variable.
func TestREADMEListsEveryKey(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Resolve(Input{Paths: testPaths})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		row := ""
		for _, line := range strings.Split(string(readme), "\n") {
			if strings.HasPrefix(line, "| `"+s.key+"` |") {
				row = line
			}
		}
		if row == "" {
			t.Errorf("README has no table row for %s", s.key)
			continue
		}
		if s.env != "" && !strings.Contains(row, "`"+s.env+"`") {
			t.Errorf("README row for %s does not name %s", s.key, s.env)
		}
		def := "`" + s.format(&r.Config) + "`"
		if def == "``" {
			def = "(empty)"
		}
		if s.key != "database.url" && s.key != "pricing.file" && !strings.Contains(row, def) {
			t.Errorf("README row for %s does not show the default %s", s.key, def)
		}
	}
}
