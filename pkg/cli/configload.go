package cli

import (
	"fmt"

	"github.com/visiquate/cco/pkg/config"
)

// loadedConfig is the configuration a command works with.
type loadedConfig struct {
	paths    config.Paths
	path     string // config.toml in use
	data     []byte // its contents; nil when it does not exist
	resolved *config.Resolved
}

// configPaths finds cco's folders and the config file: --config, else
// CCO_CONFIG, else the platform default.
func configPaths(sys *System, flagPath string) (config.Paths, string, bool, error) {
	getenv := func(k string) string { v, _ := sys.LookupEnv(k); return v }
	paths, err := config.DefaultPaths(sys.GOOS, getenv, sys.Home)
	if err != nil {
		return config.Paths{}, "", false, err
	}
	switch {
	case flagPath != "":
		return paths, flagPath, true, nil
	case getenv("CCO_CONFIG") != "":
		return paths, getenv("CCO_CONFIG"), true, nil
	}
	return paths, paths.ConfigFile, false, nil
}

// loadConfig reads and resolves the configuration, printing warnings about
// unknown keys. A config file named explicitly must exist unless
// mayBeMissing is set.
func loadConfig(sys *System, flagPath string, flags []config.Flag, mayBeMissing bool) (*loadedConfig, error) {
	paths, path, explicit, err := configPaths(sys, flagPath)
	if err != nil {
		return nil, err
	}
	data, err := config.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if data == nil && explicit && !mayBeMissing {
		return nil, &config.Error{Path: path, Msg: "no such file"}
	}
	r, err := config.Resolve(config.Input{
		Paths:      paths,
		ConfigPath: path,
		ConfigData: data,
		LookupEnv:  sys.LookupEnv,
		Environ:    sys.Environ(),
		Flags:      flags,
	})
	if err != nil {
		return nil, err
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(sys.Stderr, "cco: warning: %s\n", w)
	}
	return &loadedConfig{paths: paths, path: path, data: data, resolved: r}, nil
}
