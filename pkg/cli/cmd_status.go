package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/runstate"
)

type statusOptions struct {
	json bool
}

// instanceStatus is one line of `cco status`.
type instanceStatus struct {
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	Port      int       `json:"port"`
	URL       string    `json:"url"`
	Version   string    `json:"version"`
	StartedAt time.Time `json:"started_at"`
	Uptime    int64     `json:"uptime"` // seconds
	LogFile   string    `json:"log_file"`
	Service   string    `json:"service,omitempty"` // $CCO_SERVICE: who runs it; empty by hand
	Healthy   bool      `json:"healthy"`
	Status    string    `json:"status"` // from /health, or "unreachable"
	Error     string    `json:"error,omitempty"`
}

func statusCommand(sys *System) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "list running instances and check their health over HTTP",
		Description: "Exits 0 when every instance answers healthy, 1 when one does not,\n" +
			"and 3 when no instance is running.",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return runStatus(c.Context, sys, statusOptions{json: c.Bool("json")})
		},
	}
}

func runStatus(ctx context.Context, sys *System, o statusOptions) error {
	pidDir, err := pidDir(sys)
	if err != nil {
		return err
	}
	running, _, err := runstate.List(pidDir)
	if err != nil {
		return err
	}
	list := make([]instanceStatus, 0, len(running))
	healthy := true
	for _, st := range running {
		s := checkInstance(ctx, sys, st)
		healthy = healthy && s.Healthy
		list = append(list, s)
	}
	if o.json {
		if err := writeJSON(sys.Stdout, list); err != nil {
			return err
		}
	} else if len(list) > 0 {
		tw := tabwriter.NewWriter(sys.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PORT\tPID\tURL\tVERSION\tUPTIME\tRUN BY\tHEALTH")
		for _, s := range list {
			health := s.Status
			if s.Error != "" {
				health += " (" + s.Error + ")"
			}
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\n", s.Port, s.PID, s.URL, s.Version,
				(time.Duration(s.Uptime) * time.Second).String(), runBy(s.Service), health)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	switch {
	case len(list) == 0:
		if !o.json {
			fmt.Fprintln(sys.Stdout, "no cco instance is running")
		}
		return exitStatus{code: exitNotRunning}
	case !healthy:
		return exitStatus{code: exitFailure}
	}
	return nil
}

// checkInstance asks the instance for its health; the process merely
// existing is not enough.
func checkInstance(ctx context.Context, sys *System, st runstate.State) instanceStatus {
	s := instanceStatus{
		PID: st.PID, Host: st.Host, Port: st.Port, URL: st.BaseURL(), Version: st.Version,
		StartedAt: st.StartedAt, Uptime: int64(sys.Now().Sub(st.StartedAt) / time.Second), LogFile: st.LogFile,
		Service: st.Service,
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	h, err := control.Client{HTTP: sys.HTTP, BaseURL: st.BaseURL()}.Health(ctx)
	switch {
	case err != nil:
		s.Status, s.Error = "unreachable", err.Error()
	case h.PID != st.PID:
		s.Status, s.Error = "wrong process", fmt.Sprintf("port %d is answered by pid %d", st.Port, h.PID)
	default:
		s.Status, s.Healthy, s.Uptime, s.Version = h.Status, h.Status == "ok", h.Uptime, h.Version
	}
	return s
}

// runBy names who runs an instance: the service manager and unit from
// $CCO_SERVICE ("systemd-user:cco.service" reads "systemd --user
// (cco.service)"), or "by hand".
func runBy(service string) string {
	kind, unit, ok := strings.Cut(service, ":")
	if !ok || unit == "" {
		if service == "" {
			return "by hand"
		}
		return service
	}
	names := map[string]string{
		"systemd":        "systemd",
		"systemd-user":   "systemd --user",
		"launchd":        "launchd",
		"launchd-system": "launchd (system)",
		"windows":        "Windows service",
	}
	if n, ok := names[kind]; ok {
		kind = n
	}
	return kind + " (" + unit + ")"
}

func pidDir(sys *System) (string, error) {
	paths, _, _, err := configPaths(sys, "")
	if err != nil {
		return "", err
	}
	return paths.PidDir(), nil
}
