package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/visiquate/cco/pkg/runstate"
)

// instanceFlags are the flags that say which running instance a command
// means: --port everywhere, --all for shutdown.
type instanceFlags struct {
	port     int  // --port; 0 when not given
	all      bool // --all
	allowAll bool // the command has --all, so the error about several instances offers it
}

// errNoneRunning is the answer when no instance runs and no port was named.
var errNoneRunning = exitStatus{code: exitNotRunning, msg: "no cco instance is running"}

// choose is the one answer, for every command, to "which instances":
// with --all every running one (perhaps none); with --port the one on that
// port, exit 3 when none is; else the only one running, exit 3
// (errNoneRunning) when none is, and a usage error naming their ports when
// several are.
func (f instanceFlags) choose(running []runstate.State) ([]runstate.State, error) {
	switch {
	case f.all:
		return running, nil
	case f.port != 0:
		for _, st := range running {
			if st.Port == f.port {
				return []runstate.State{st}, nil
			}
		}
		return nil, exitStatus{code: exitNotRunning, msg: fmt.Sprintf("no cco instance is running on port %d", f.port)}
	case len(running) == 0:
		return nil, errNoneRunning
	case len(running) > 1:
		hint := "choose one with --port"
		if f.allowAll {
			hint += " or use --all"
		}
		return nil, usagef("%d instances are running (ports %s); %s", len(running), ports(running), hint)
	}
	return running, nil
}

// one is choose for a command that acts on a single instance.
func (f instanceFlags) one(running []runstate.State) (runstate.State, error) {
	list, err := f.choose(running)
	if err != nil {
		return runstate.State{}, err
	}
	return list[0], nil
}

// notRunning reports whether err says the instance asked for is not
// running (exit 3), as opposed to a question that has no one answer.
func notRunning(err error) bool {
	var es exitStatus
	return errors.As(err, &es) && es.code == exitNotRunning
}

// runningInstance is the instance a command such as `cco cache` or
// `cco dashboard` acts on, read from the state files.
func runningInstance(sys *System, port int) (runstate.State, error) {
	dir, err := pidDir(sys)
	if err != nil {
		return runstate.State{}, err
	}
	running, _, err := runstate.List(dir)
	if err != nil {
		return runstate.State{}, err
	}
	return instanceFlags{port: port}.one(running)
}

// ports lists the instances' ports: "3000, 3001".
func ports(list []runstate.State) string {
	s := make([]string, len(list))
	for i, st := range list {
		s[i] = fmt.Sprint(st.Port)
	}
	return strings.Join(s, ", ")
}
