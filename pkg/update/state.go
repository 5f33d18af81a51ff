package update

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// State is the outcome of the last background check, kept in the cache
// folder so that a daemon restarted often still asks GitHub at most once
// per interval.
type State struct {
	CheckedAt time.Time `json:"checked_at"`
	Current   string    `json:"current"`
	Channel   string    `json:"channel"`
	Latest    string    `json:"latest,omitempty"`
	Available bool      `json:"update_available"`
	Method    Method    `json:"install_method,omitempty"`
	Command   string    `json:"command,omitempty"`
}

// ReadState reads a state file; ok is false when there is none or it is
// unreadable (the check then simply runs).
func ReadState(path string) (st State, ok bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return State{}, false
	}
	if json.Unmarshal(data, &st) != nil {
		return State{}, false
	}
	return st, true
}

// WriteState records st atomically, readable by the user only.
func WriteState(path string, st State) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".update-check-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err = tmp.Write(append(data, '\n')); err == nil {
		err = tmp.Chmod(0o600)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// CheckCached answers from the state file at path when it is younger than
// interval and about the same version and channel; otherwise it checks
// GitHub and records the answer. fresh says whether GitHub was asked.
func (u *Updater) CheckCached(ctx context.Context, req Request, path string, interval time.Duration, now time.Time) (st State, fresh bool, err error) {
	req, err = req.Validate()
	if err != nil {
		return State{}, false, err
	}
	if old, ok := ReadState(path); ok && old.Current == u.cfg.Info.Version && old.Channel == req.Channel &&
		!old.CheckedAt.After(now) && now.Sub(old.CheckedAt) < interval {
		return old, false, nil
	}
	plan, err := u.Check(ctx, req)
	if err != nil {
		return State{}, true, err
	}
	st = State{
		CheckedAt: now.UTC(), Current: u.cfg.Info.Version, Channel: req.Channel,
		Latest: plan.Latest, Available: plan.Available, Method: plan.Method, Command: plan.Command,
	}
	if err := WriteState(path, st); err != nil && !errors.Is(err, fs.ErrPermission) {
		return st, true, fmt.Errorf("record the update check in %s: %w", path, err)
	}
	return st, true, nil
}
