//go:build unix

package runstate

import (
	"errors"
	"os"
	"syscall"
)

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
