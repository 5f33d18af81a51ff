package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/visiquate/cco/pkg/config"
)

type configOptions struct {
	path  string // --config
	json  bool
	key   string
	value string
}

func configCommand(sys *System) *cli.Command {
	opts := func(c *cli.Context) configOptions {
		return configOptions{path: c.String("config"), json: c.Bool("json")}
	}
	return &cli.Command{
		Name:  "config",
		Usage: "show and change settings (config.toml)",
		Description: "Settings come from, lowest first: built-in defaults, config.toml, CCO_* environment\n" +
			"variables, and the flags of `cco run`.",
		Subcommands: []*cli.Command{
			{
				Name:  "show",
				Usage: "print every setting, its effective value and where it came from",
				Flags: []cli.Flag{configFlag(), &cli.BoolFlag{Name: "json", Usage: "print JSON"}},
				Action: func(c *cli.Context) error {
					if err := noArgs(c); err != nil {
						return err
					}
					return runConfigShow(sys, opts(c))
				},
			},
			{
				Name:  "path",
				Usage: "print the path of the config file in use",
				Flags: []cli.Flag{configFlag()},
				Action: func(c *cli.Context) error {
					if err := noArgs(c); err != nil {
						return err
					}
					return runConfigPath(sys, opts(c))
				},
			},
			{
				Name:      "get",
				Usage:     "print the effective value of one setting",
				ArgsUsage: "KEY",
				Flags:     []cli.Flag{configFlag()},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usagef("config get needs one KEY, such as server.port")
					}
					o := opts(c)
					o.key = c.Args().First()
					return runConfigGet(sys, o)
				},
			},
			{
				Name:      "set",
				Usage:     "set one setting in config.toml, keeping the rest of the file and its comments",
				ArgsUsage: "KEY VALUE",
				Flags:     []cli.Flag{configFlag()},
				Action: func(c *cli.Context) error {
					if c.NArg() != 2 {
						return usagef("config set needs a KEY and a VALUE, such as: cco config set server.port 3001")
					}
					o := opts(c)
					o.key, o.value = c.Args().Get(0), c.Args().Get(1)
					return runConfigSet(sys, o)
				},
			},
		},
	}
}

func runConfigShow(sys *System, o configOptions) error {
	lc, err := loadConfig(sys, o.path, nil, false)
	if err != nil {
		return err
	}
	rows := lc.resolved.Settings()
	// Where cco run would find its credentials; never their values.
	rs, err := loadRunSecrets(sys, lc)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	if o.json {
		return writeJSON(sys.Stdout, struct {
			Path        string            `json:"path"`
			Exists      bool              `json:"exists"`
			Settings    []config.Setting  `json:"settings"`
			Credentials credentialSources `json:"credentials"`
		}{lc.path, lc.data != nil, rows, credentialSources{rs.Store, rs.APIKeySource, rs.TokenSource}})
	}
	exists := ""
	if lc.data == nil {
		exists = " (not present: defaults apply)"
	}
	fmt.Fprintf(sys.Stdout, "# config file: %s%s\n", lc.path, exists)
	tw := tabwriter.NewWriter(sys.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Key, r.Value, r.Source)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return printCredentialSources(sys.Stdout, rs)
}

// credentialSources says where cco run finds its credentials.
type credentialSources struct {
	Store       string `json:"store"`
	APIKey      string `json:"anthropic_api_key"`
	AccessToken string `json:"access_token"`
}

func printCredentialSources(w io.Writer, rs runSecrets) error {
	fmt.Fprintf(w, "\n# credentials (store: %s; values are never shown)\n", rs.Store)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CREDENTIAL\tSOURCE")
	fmt.Fprintf(tw, "anthropic api key\t%s\n", rs.APIKeySource)
	fmt.Fprintf(tw, "access token\t%s\n", rs.TokenSource)
	return tw.Flush()
}

func runConfigPath(sys *System, o configOptions) error {
	_, path, _, err := configPaths(sys, o.path)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(sys.Stdout, path)
	return err
}

func runConfigGet(sys *System, o configOptions) error {
	lc, err := loadConfig(sys, o.path, nil, false)
	if err != nil {
		return err
	}
	v, err := lc.resolved.Value(o.key)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(sys.Stdout, v)
	return err
}

func runConfigSet(sys *System, o configOptions) error {
	// Only the file is read: a set must work even when another value in
	// the file is wrong, since it may be how the user fixes it.
	paths, path, _, err := configPaths(sys, o.path)
	if err != nil {
		return err
	}
	data, err := config.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := config.SetValue(path, data, o.key, o.value)
	if err != nil {
		return err
	}
	if err := config.WriteFile(path, out); err != nil {
		return err
	}
	fmt.Fprintf(sys.Stdout, "set %s = %s in %s\n", o.key, o.value, path)
	r, err := config.Resolve(config.Input{Paths: paths, ConfigPath: path, ConfigData: out, LookupEnv: sys.LookupEnv})
	switch {
	case err != nil:
		fmt.Fprintf(sys.Stderr, "cco: warning: the file still has a problem: %v\n", err)
	case r.Sources[o.key].Kind > config.FromFile:
		fmt.Fprintf(sys.Stderr, "cco: warning: %s is overridden by %s\n", o.key, r.Sources[o.key])
	}
	return nil
}
