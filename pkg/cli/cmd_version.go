package cli

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/visiquate/cco/pkg/version"
)

type versionOptions struct {
	json bool
}

func versionCommand(info version.Info, sys *System) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, commit, build date and platform",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return runVersion(sys.Stdout, info, versionOptions{json: c.Bool("json")})
		},
	}
}

func runVersion(w io.Writer, info version.Info, opts versionOptions) error {
	if opts.json {
		return writeJSON(w, info)
	}
	commit := info.Commit
	if info.Modified {
		commit += " (modified)"
	}
	_, err := fmt.Fprintf(w, "cco %s\ncommit:   %s\nbuilt:    %s\ngo:       %s\nplatform: %s/%s\n",
		info.Version, commit, info.Date, info.GoVersion, info.OS, info.Arch)
	if err == nil && info.ManagedBy != "" {
		_, err = fmt.Fprintf(w, "package:  %s (update it with the package manager)\n", info.ManagedBy)
	}
	return err
}
