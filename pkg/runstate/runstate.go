// Package runstate keeps one state file per running cco instance
// (pids/cco-<port>.pid: JSON with pid, address, version, start time, log
// file and the instance's control token, mode 0600), finds the instances
// that are running, and cleans up after those that died.
//
// It imports only the standard library and golang.org/x/sys.
package runstate

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// State describes a running instance. It holds the control token, so it is
// never logged; write it only with Write.
type State struct {
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	Port      int       `json:"port"`
	Version   string    `json:"version"`
	StartedAt time.Time `json:"started_at"`
	LogFile   string    `json:"log_file"`
	Token     string    `json:"token"`
	// Args are the options `cco run` was given, so that it can be started
	// again the same way (after an update).
	Args []string `json:"args,omitempty"`
	// Service names the service manager running the instance and its
	// unit, from $CCO_SERVICE (set by cco's unit files): "systemd:cco.service",
	// "systemd-user:cco.service" or "launchd:LABEL". Empty: started by hand.
	Service string `json:"service,omitempty"`

	Path string `json:"-"` // the state file it was read from
}

// FileName is the state file's name for an instance on port.
func FileName(port int) string { return "cco-" + strconv.Itoa(port) + ".pid" }

// BaseURL is where cco's own commands reach the instance: always over
// loopback, where they need no access token. A wildcard listen address is
// reached there, and an instance listening on one address beyond loopback
// also listens on 127.0.0.1 for them.
func (s State) BaseURL() string {
	host := s.Host
	switch {
	case host == "::":
		host = "::1"
	case host == "localhost":
	case !isLoopbackIP(host):
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(s.Port))
}

func isLoopbackIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewToken returns a random control token.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make control token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Write records st in dir atomically, readable by the user only.
func Write(dir string, st State) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create state folder: %w", err)
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, FileName(st.Port))
	tmp, err := os.CreateTemp(dir, ".cco-*.tmp")
	if err != nil {
		return "", fmt.Errorf("write state file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return "", fmt.Errorf("write state file %s: %w", path, err)
	}
	return path, nil
}

// Read loads one state file.
func Read(path string) (State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return State{}, err
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, fmt.Errorf("state file %s: %w", path, err)
	}
	if st.PID <= 0 || st.Port <= 0 {
		return State{}, fmt.Errorf("state file %s: no pid or port", path)
	}
	st.Path = path
	return st, nil
}

// ForPort loads the state file of the instance on port; ok is false when
// there is none.
func ForPort(dir string, port int) (st State, ok bool, err error) {
	st, err = Read(filepath.Join(dir, FileName(port)))
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	return st, err == nil, err
}

// List returns the instances whose process is running (see Live), by port.
// State files left by processes that are gone, whose pid now belongs to a
// newer process, that name the same process as a newer file, or that cannot
// be read, are removed and returned as stale.
func List(dir string) (running, stale []State, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list instances: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "cco-") || !strings.HasSuffix(name, ".pid") {
			continue
		}
		path := filepath.Join(dir, name)
		st, err := Read(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed while we looked
		}
		if err != nil || !Live(st) {
			if rmErr := os.Remove(path); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
				return nil, nil, fmt.Errorf("remove stale state file: %w", rmErr)
			}
			if err != nil {
				st = State{Path: path}
			}
			stale = append(stale, st)
			continue
		}
		running = append(running, st)
	}
	running, dups := newestPerPID(running)
	for _, st := range dups {
		if err := os.Remove(st.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("remove stale state file: %w", err)
		}
		stale = append(stale, st)
	}
	sort.Slice(running, func(i, j int) bool { return running[i].Port < running[j].Port })
	return running, stale, nil
}

// newestPerPID keeps, of state files naming the same process, the one
// written last: a process serves one port, so an older file naming it was
// left behind by an instance whose pid was given to this one.
func newestPerPID(list []State) (keep, older []State) {
	newest := map[int]State{}
	for _, st := range list {
		if cur, ok := newest[st.PID]; !ok || st.StartedAt.After(cur.StartedAt) {
			newest[st.PID] = st
		}
	}
	for _, st := range list {
		if newest[st.PID].Path == st.Path {
			keep = append(keep, st)
		} else {
			older = append(older, st)
		}
	}
	return keep, older
}

// startSlack allows for the coarseness of the clocks a process's start time
// is read from (Linux gives the boot time in whole seconds).
const startSlack = 2 * time.Second

// Live reports whether st describes a process that is running now: its pid
// is a live cco, and that process did not start after st was written. A
// pid handed to a newer process (after a reboot, in a restarted container,
// or by reuse) fails the second test. Where the start time cannot be read
// the pid is taken at its word.
func Live(st State) bool {
	if !Running(st.PID) {
		return false
	}
	return startedBy(st, processStart)
}

// startedBy is Live's second test with the clock passed in.
func startedBy(st State, start func(int) (time.Time, bool)) bool {
	t, ok := start(st.PID)
	if !ok || st.StartedAt.IsZero() {
		return true
	}
	return !t.After(st.StartedAt.Add(startSlack))
}

// Remove deletes st's state file if it still belongs to st's process, so an
// instance never removes the file of a newer one on the same port.
func Remove(st State) error {
	cur, err := Read(st.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil && cur.PID != st.PID {
		return nil
	}
	if err := os.Remove(st.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove state file: %w", err)
	}
	return nil
}

// Running reports whether a cco process with this pid is alive. Zombies
// count as gone, and on Linux a live pid that now belongs to another
// program (the pid was reused) does too.
func Running(pid int) bool {
	return pid > 0 && alive(pid) && isCCO(pid)
}

// WaitGone waits until pid is no longer Running, up to timeout.
func WaitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for Running(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(25 * time.Millisecond)
	}
	return true
}

// Terminate asks the process to stop: SIGTERM on Unix; on Windows, which
// has no such signal, it ends the process.
func Terminate(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return terminate(p)
}
