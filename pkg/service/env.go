package service

import (
	"net/url"
	"sort"
	"strings"
)

// CarriedEnv picks from environ (NAME=VALUE) what a service of scope should
// inherit from the shell that installs it: cco's settings (CCO_*), proxy
// settings and, for a launchd agent, PATH and the XDG folders. It never
// carries a secret: API keys, tokens and passwords (a proxy URL with one
// included) are returned in dropped, by name, for the user to store with
// `cco credentials` instead. Both lists are sorted.
func CarriedEnv(environ []string, goos string, scope Scope) (carry, dropped []string) {
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		upper := strings.ToUpper(name)
		if goos == "windows" {
			name = upper // Windows names are case-insensitive
		}
		switch {
		case secretName(upper) && (strings.HasPrefix(upper, "CCO_") || strings.HasPrefix(upper, "ANTHROPIC_")):
			dropped = append(dropped, name)
		case upper == "CCO_SERVICE":
			// set by the service definition itself
		case upper == "CCO_CONFIG" && scope == System:
			// a machine-wide service reads the machine's config
		case strings.HasPrefix(upper, "CCO_"):
			carry = append(carry, name+"="+value)
		case isProxy(upper):
			if u, err := url.Parse(value); err == nil && u.User != nil {
				if _, has := u.User.Password(); has {
					dropped = append(dropped, name)
					continue
				}
			}
			carry = append(carry, name+"="+value)
		case goos == "darwin" && scope == User && upper == "PATH",
			goos != "windows" && scope == User && (upper == "XDG_CONFIG_HOME" || upper == "XDG_DATA_HOME" || upper == "XDG_CACHE_HOME"):
			carry = append(carry, name+"="+value)
		}
	}
	sort.Strings(carry)
	sort.Strings(dropped)
	return carry, dropped
}

func secretName(upper string) bool {
	for _, s := range []string{"KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL"} {
		if strings.Contains(upper, s) {
			return true
		}
	}
	return false
}

func isProxy(upper string) bool {
	switch upper {
	case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY":
		return true
	}
	return false
}

// serviceEnv is the environment a definition sets: CCO_SERVICE (so that
// `cco status` and `cco update` know the service manager), the folders of a
// machine-wide service, then the carried variables.
func serviceEnv(service string, folders map[string]string, carried []string) []string {
	env := []string{"CCO_SERVICE=" + service}
	keys := make([]string, 0, len(folders))
	for k := range folders {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+folders[k])
	}
	return append(env, carried...)
}
