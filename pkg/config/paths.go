package config

import (
	"errors"
	"path/filepath"
)

// Paths are the places cco keeps its files on this machine.
type Paths struct {
	ConfigFile string // config.toml
	DataDir    string // analytics.db, pids/, logs/
	CacheDir   string
}

// PidDir holds one state file per running instance.
func (p Paths) PidDir() string { return filepath.Join(p.DataDir, "pids") }

// LogDir holds the instances' log files.
func (p Paths) LogDir() string { return filepath.Join(p.DataDir, "logs") }

// DefaultPaths returns the platform's locations for cco's files.
//
// On Linux and macOS they follow the XDG base directories:
// $XDG_CONFIG_HOME/cco/config.toml (~/.config), $XDG_DATA_HOME/cco
// (~/.local/share) and $XDG_CACHE_HOME/cco (~/.cache). On Windows the config
// lives in %APPDATA%\cco and the rest in %LOCALAPPDATA%\cco.
//
// goos, getenv and home are passed in so that every platform's answer can be
// tested anywhere; the CCO_CONFIG override is applied by Resolve's caller.
func DefaultPaths(goos string, getenv func(string) string, home string) (Paths, error) {
	if goos == "windows" {
		appData, localAppData := getenv("APPDATA"), getenv("LOCALAPPDATA")
		if appData == "" {
			appData = windowsJoin(home, `AppData\Roaming`)
		}
		if localAppData == "" {
			localAppData = windowsJoin(home, `AppData\Local`)
		}
		if appData == "" || localAppData == "" {
			return Paths{}, errors.New("cannot find the user's folders: APPDATA, LOCALAPPDATA and the home folder are unset")
		}
		return Paths{
			ConfigFile: windowsJoin(appData, `cco\config.toml`),
			DataDir:    windowsJoin(localAppData, "cco"),
			CacheDir:   windowsJoin(localAppData, `cco\cache`),
		}, nil
	}
	base := func(env, fallback string) (string, error) {
		// The XDG spec says relative values are invalid and must be ignored.
		if v := getenv(env); v != "" && filepath.IsAbs(v) {
			return v, nil
		}
		if home == "" {
			return "", errors.New("cannot find the home folder: HOME is unset")
		}
		return filepath.Join(home, fallback), nil
	}
	cfg, err := base("XDG_CONFIG_HOME", ".config")
	if err != nil {
		return Paths{}, err
	}
	data, err := base("XDG_DATA_HOME", ".local/share")
	if err != nil {
		return Paths{}, err
	}
	cache, err := base("XDG_CACHE_HOME", ".cache")
	if err != nil {
		return Paths{}, err
	}
	return Paths{
		ConfigFile: filepath.Join(cfg, "cco", "config.toml"),
		DataDir:    filepath.Join(data, "cco"),
		CacheDir:   filepath.Join(cache, "cco"),
	}, nil
}

// windowsJoin joins with backslashes whatever the host OS, so the Windows
// layout can be computed and tested on any machine.
func windowsJoin(dir, rest string) string {
	if dir == "" {
		return ""
	}
	if dir[len(dir)-1] == '\\' {
		return dir + rest
	}
	return dir + `\` + rest
}
