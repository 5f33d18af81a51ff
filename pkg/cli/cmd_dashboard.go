package cli

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"
)

type dashboardOptions struct {
	port int // 0: the only running instance
}

func dashboardCommand(sys *System) *cli.Command {
	return &cli.Command{
		Name:  "dashboard",
		Usage: "open the running instance's page in the browser",
		Description: "Opens the page of the running instance (or of the one on --port). It prints the URL\n" +
			"instead when not on a terminal or when NO_BROWSER is set.",
		Flags: []cli.Flag{&cli.IntFlag{Name: "port", Usage: "the instance on `PORT`"}},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			o := dashboardOptions{port: c.Int("port")}
			if c.IsSet("port") && (o.port < 1 || o.port > 65535) {
				return usagef("--port %d is not a port", o.port)
			}
			return runDashboard(c.Context, sys, o)
		},
	}
}

func runDashboard(_ context.Context, sys *System, o dashboardOptions) error {
	st, err := runningInstance(sys, o.port)
	if err != nil {
		return err
	}
	url := st.BaseURL() + "/"
	_, noBrowser := sys.LookupEnv("NO_BROWSER")
	if !shouldOpen(sys.Interactive, noBrowser, sys.OpenBrowser != nil) {
		fmt.Fprintln(sys.Stdout, url)
		return nil
	}
	fmt.Fprintf(sys.Stdout, "opening %s\n", url)
	sys.OpenBrowser(url)
	return nil
}

// shouldOpen decides whether to open a browser rather than print the URL:
// only for a person at a terminal who has not set NO_BROWSER.
func shouldOpen(interactive, noBrowser, canOpen bool) bool {
	return interactive && !noBrowser && canOpen
}
