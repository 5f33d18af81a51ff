package config

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// Input is everything Resolve reads. It holds no file handles or process
// state, so Resolve is a pure function and is table-tested as one.
type Input struct {
	Paths      Paths
	ConfigPath string                      // the config file's path, for messages
	ConfigData []byte                      // its contents; nil when there is no file
	LookupEnv  func(string) (string, bool) // the environment; nil means empty
	Environ    []string                    // KEY=VALUE pairs, to warn about unknown CCO_* variables
	Flags      []Flag                      // flags the user set, in any order
}

// Flag is a command-line flag that sets a configuration key.
type Flag struct {
	Key   string // dotted key, such as "server.port"
	Name  string // as typed, such as "--port"
	Value string
}

// Resolved is the effective configuration and how it came about.
type Resolved struct {
	Config   Config
	Sources  map[string]Source // by dotted key
	Warnings []string          // unknown keys and variables, for the user to see
}

// Value returns the effective value of key as text, as `config get` prints it.
func (r *Resolved) Value(key string) (string, error) {
	s, ok := lookup(key)
	if !ok {
		return "", unknownKey(key)
	}
	return s.format(&r.Config), nil
}

// Setting is one resolved key for listings.
type Setting struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source"`
	Env    string `json:"env,omitempty"`
}

// Settings lists every key's effective value and source in display order.
func (r *Resolved) Settings() []Setting {
	out := make([]Setting, len(settings))
	for i, s := range settings {
		out[i] = Setting{Key: s.key, Value: s.format(&r.Config), Source: r.Sources[s.key].String(), Env: s.env}
	}
	return out
}

// Envs not read as settings but known to cco's tools, so they raise no warning.
var otherEnvs = map[string]bool{
	"CCO_CONFIG":      true, // the config file's path
	"CCO_VERSION":     true, // install.sh
	"CCO_INSTALL_DIR": true, // install.sh
	"CCO_CHANNEL":     true, // install.sh
	// install.sh, install.ps1 and cco update: where releases come from.
	"CCO_GITHUB_API_URL":  true,
	"CCO_DOWNLOAD_URL":    true,
	"CCO_UPDATE_REPO":     true,
	"CCO_GITHUB_TOKEN":    true,
	"CCO_NO_UPDATE_CHECK": true, // cco run: no background update check
	"CCO_SERVICE":         true, // cco run: the service manager running it (set by cco's units)
	"CCO_SERVER_TOKEN":    true, // cco run: the access token, when not kept with cco credentials
}

// Resolve layers defaults < config file < environment < flags and validates
// every value. A mistake comes back as *Error naming the key and, for the
// file, its path and line.
func Resolve(in Input) (*Resolved, error) {
	r := &Resolved{Sources: make(map[string]Source, len(settings))}
	set := func(s *setting, raw string, src Source) error {
		if err := s.parse(raw, &r.Config); err != nil {
			return err
		}
		src.Raw = raw
		r.Sources[s.key] = src
		return nil
	}
	for i := range settings {
		s := &settings[i]
		if err := set(s, s.def(in.Paths), Source{Kind: FromDefault}); err != nil {
			panic(fmt.Sprintf("config: default for %s: %v", s.key, err)) // a bug in the table
		}
	}

	if in.ConfigData != nil {
		doc, err := parseDocument(in.ConfigPath, in.ConfigData)
		if err != nil {
			return nil, err
		}
		for _, e := range doc.entries {
			fail := func(msg string) error { return &Error{Path: in.ConfigPath, Line: e.line, Key: e.key, Msg: msg} }
			s, ok := lookup(e.key)
			if e.problem != "" && (ok || isSection(e.key)) {
				return nil, fail(e.problem)
			}
			if !ok {
				r.Warnings = append(r.Warnings, fmt.Sprintf("config %s:%d: unknown key %q%s", in.ConfigPath, e.line, e.key, suggestKey(e.key)))
				continue
			}
			if err := set(s, e.raw, Source{Kind: FromFile, Name: in.ConfigPath + ":" + strconv.Itoa(e.line)}); err != nil {
				return nil, fail(err.Error())
			}
		}
	}

	for i := range settings {
		s := &settings[i]
		if s.env == "" || in.LookupEnv == nil {
			continue
		}
		v, ok := in.LookupEnv(s.env)
		if !ok || v == "" {
			continue
		}
		if s.envValue != nil {
			v = s.envValue(v)
		}
		if err := set(s, v, Source{Kind: FromEnv, Name: s.env}); err != nil {
			return nil, &Error{From: s.env, Key: s.key, Msg: err.Error()}
		}
	}
	r.Warnings = append(r.Warnings, unknownEnvs(in.Environ)...)

	for _, f := range in.Flags {
		s, ok := lookup(f.Key)
		if !ok {
			panic("config: flag " + f.Name + " sets unknown key " + f.Key) // a bug in the CLI
		}
		if err := set(s, f.Value, Source{Kind: FromFlag, Name: f.Name}); err != nil {
			return nil, &Error{From: f.Name, Key: f.Key, Msg: err.Error()}
		}
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return r, nil
}

// check validates what no single value can: combinations.
func (r *Resolved) check() error {
	c := &r.Config
	if !c.Server.AllowRemote && !IsLoopbackHost(c.Server.Host) {
		src := r.Sources["server.host"]
		from := src.Name
		if src.Kind == FromFile {
			from = "config " + from
		}
		return &Error{From: from, Key: "server.host", Msg: fmt.Sprintf(
			"%s is not a loopback address: other machines could use the gateway and its API key; "+
				"set server.allow_remote = true (or pass --allow-remote) to listen there anyway", c.Server.Host)}
	}
	return nil
}

// IsLoopbackHost reports whether host (a name or IP, without port) can only
// be reached from this machine.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func unknownEnvs(environ []string) []string {
	known := map[string]bool{}
	var names []string
	for _, s := range settings {
		if strings.HasPrefix(s.env, "CCO_") {
			known[s.env] = true
			names = append(names, s.env)
		}
	}
	var warnings []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "CCO_") || known[name] || otherEnvs[name] {
			continue
		}
		warnings = append(warnings, fmt.Sprintf("unknown environment variable %s%s", name, suggest(name, names)))
	}
	sort.Strings(warnings)
	return warnings
}

func isSection(name string) bool {
	for _, s := range settings {
		if strings.HasPrefix(s.key, name+".") {
			return true
		}
	}
	return false
}

func unknownKey(key string) error {
	return &Error{Msg: fmt.Sprintf("unknown key %q%s; `cco config show` lists them", key, suggestKey(key))}
}

func suggestKey(key string) string {
	names := make([]string, len(settings))
	for i, s := range settings {
		names[i] = s.key
	}
	return suggest(key, names)
}

// suggest returns ` (did you mean "x"?)` for the candidate nearest to name,
// or "" when none is near enough to be a likely typo.
func suggest(name string, candidates []string) string {
	best, bestDist := "", len(name)/3+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d <= bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" || best == name {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
