//go:build windows

package ccoproc

import "os"

func terminate(p *os.Process) error { return p.Kill() }
