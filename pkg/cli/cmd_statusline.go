package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
	"github.com/urfave/cli/v2"

	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/pricing"
	"github.com/visiquate/cco/pkg/runstate"
)

// statusLineCommand is the command Claude Code runs for its status line.
const statusLineCommand = "cco statusline"

// Budgets of `cco statusline`: Claude Code runs it after every message and
// waits for it, so it reads at most this long from stdin and asks the
// instance with this timeout, then prints what it has.
const (
	statusLineReadWait = 50 * time.Millisecond
	statusLineTimeout  = 80 * time.Millisecond
	statusLineMaxInput = 1 << 20
)

func statusLineCmd(sys *System) *cli.Command {
	return &cli.Command{
		Name:  "statusline",
		Usage: "print one line of cco's figures for Claude Code's status line",
		Description: "Claude Code runs it with its session's JSON on stdin (statusLine in\n" +
			"~/.claude/settings.json); it prints this session's cost through cco, today's, the\n" +
			"active 5-hour block's and cache savings, asking the running instance, and never fails.\n" +
			"--install adds it to Claude Code's settings (backing the file up first), --uninstall\n" +
			"takes it out again.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "install", Usage: "set it as Claude Code's status line"},
			&cli.BoolFlag{Name: "uninstall", Usage: "put back the status line there was before --install"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			switch {
			case c.Bool("install") && c.Bool("uninstall"):
				return usagef("--install and --uninstall together")
			case c.Bool("install"):
				return installStatusLine(sys)
			case c.Bool("uninstall"):
				return uninstallStatusLine(sys)
			}
			fmt.Fprintln(sys.Stdout, statusLine(c.Context, sys))
			return nil
		},
	}
}

// statusLine is the line to print: cco's figures, or a short fallback.
func statusLine(ctx context.Context, sys *System) string {
	session := readSession(sys.Stdin)
	dir, err := pidDir(sys)
	if err != nil {
		return "cco: ?"
	}
	running, _, err := runstate.List(dir)
	if err != nil || len(running) == 0 {
		return "cco: not running"
	}
	ctx, cancel := context.WithTimeout(ctx, statusLineTimeout)
	defer cancel()
	s, err := control.Client{HTTP: sys.HTTP, BaseURL: running[0].BaseURL()}.StatusLine(ctx, session)
	if err != nil {
		return "cco: no answer"
	}
	return formatStatusLine(s)
}

// formatStatusLine writes the figures in one short line.
func formatStatusLine(s control.StatusLine) string {
	usd := pricing.FormatUSD
	parts := []string{}
	if s.SessionRequests > 0 {
		parts = append(parts, "session "+usd(s.SessionCostNanoUSD))
	}
	parts = append(parts, "today "+usd(s.TodayCostNanoUSD))
	if s.BlockActive {
		left := time.Duration(s.BlockRemainingMinutes * float64(time.Minute)).Round(time.Minute)
		parts = append(parts, fmt.Sprintf("block %s (%s left)", usd(s.BlockCostNanoUSD), strings.TrimSuffix(left.String(), "0s")))
	}
	if s.TodaySavedNanoUSD > 0 {
		parts = append(parts, "saved "+usd(s.TodaySavedNanoUSD))
	}
	parts = append(parts, limitMarks(s.Limits)...)
	line := "cco " + strings.Join(parts, " · ")
	if s.UpdateAvailable {
		line += " · update available"
	}
	return line
}

// readSession reads Claude Code's JSON from r and returns its session_id;
// "" when there is none, it is not JSON, or nothing comes in time (run by
// hand at a terminal).
func readSession(r io.Reader) string {
	if r == nil {
		return ""
	}
	got := make(chan []byte, 1)
	go func() {
		data, _ := io.ReadAll(io.LimitReader(r, statusLineMaxInput))
		got <- data
	}()
	select {
	case data := <-got:
		return gjson.GetBytes(data, "session_id").String()
	case <-time.After(statusLineReadWait):
		return ""
	}
}

// claudeSettings is Claude Code's user settings file:
// $CLAUDE_CONFIG_DIR/settings.json, else ~/.claude/settings.json.
func claudeSettings(sys *System) string {
	if dir, ok := sys.LookupEnv("CLAUDE_CONFIG_DIR"); ok && dir != "" {
		return filepath.Join(dir, "settings.json")
	}
	return filepath.Join(sys.Home, ".claude", "settings.json")
}

// backupPath is where --install keeps the settings file as it was.
func backupPath(settings string) string { return settings + ".cco-backup" }

// installStatusLine sets statusLine in Claude Code's settings to cco's,
// changing nothing else in the file, after copying it to a backup.
func installStatusLine(sys *System) error {
	path := claudeSettings(sys)
	data, mode, err := readSettings(path)
	if err != nil {
		return err
	}
	if isOurs(data) {
		fmt.Fprintf(sys.Stdout, "%s already runs %q\n", path, statusLineCommand)
		return nil
	}
	existed := data != nil
	if existed {
		if err := os.WriteFile(backupPath(path), data, 0o600); err != nil {
			return fmt.Errorf("back up %s: %w", path, err)
		}
	} else {
		data = []byte("{}\n")
	}
	out, err := sjson.SetRawBytes(data, "statusLine", []byte(`{"type": "command", "command": "`+statusLineCommand+`"}`))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := writeSettings(path, out, mode); err != nil {
		return err
	}
	fmt.Fprintf(sys.Stdout, "Claude Code's status line is now %q (%s)\n", statusLineCommand, path)
	if existed {
		fmt.Fprintf(sys.Stdout, "the file as it was: %s\n", backupPath(path))
	}
	return nil
}

// uninstallStatusLine puts back the statusLine the backup holds (or none),
// if the file's is still cco's; the rest of the file stays as it is now.
func uninstallStatusLine(sys *System) error {
	path := claudeSettings(sys)
	data, mode, err := readSettings(path)
	if err != nil {
		return err
	}
	if !isOurs(data) {
		fmt.Fprintf(sys.Stdout, "%s has no cco status line; nothing to do\n", path)
		return nil
	}
	var out []byte
	backup, err := os.ReadFile(backupPath(path))
	if prev := gjson.GetBytes(backup, "statusLine"); err == nil && prev.Exists() {
		out, err = sjson.SetRawBytes(data, "statusLine", []byte(prev.Raw))
	} else {
		out, err = sjson.DeleteBytes(data, "statusLine")
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := writeSettings(path, out, mode); err != nil {
		return err
	}
	fmt.Fprintf(sys.Stdout, "Claude Code's status line is back as it was before (%s)\n", path)
	return nil
}

// readSettings reads the settings file: nil data when it does not exist.
func readSettings(path string) ([]byte, fs.FileMode, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0o600, nil
	}
	if err != nil {
		return nil, 0, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if !json.Valid(bytes.TrimSpace(data)) {
		return nil, 0, fmt.Errorf("%s is not JSON; cco leaves it alone", path)
	}
	return data, st.Mode().Perm(), nil
}

func isOurs(data []byte) bool {
	return gjson.GetBytes(data, "statusLine.command").String() == statusLineCommand
}

// writeSettings replaces the file whole (a new file renamed over it).
func writeSettings(path string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".settings-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
