//go:build windows

package ccotest

import "os"

func terminate(p *os.Process) error { return p.Kill() }
