package cli

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

func manCommand(sys *System) *cli.Command {
	return &cli.Command{
		Name:  "man",
		Usage: "print the manual page (roff), as the packages install it as cco.1",
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return runMan(sys.Stdout, c.App)
		},
	}
}

func runMan(w io.Writer, app *cli.App) error {
	page, err := app.ToManWithSection(1)
	if err != nil {
		return fmt.Errorf("render man page: %w", err)
	}
	_, err = io.WriteString(w, page)
	return err
}
