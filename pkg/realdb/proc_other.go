//go:build !linux

package realdb

import (
	"os"
	"syscall"
)

// credential is a user the servers run as; elsewhere than Linux they run
// as the test.
type credential struct{ uid, gid uint32 }

// quitSignal stops a server; elsewhere than Linux, by killing it.
var quitSignal = os.Kill

// procAttr: no parent-death signal or change of user outside Linux (the
// servers are Debian's packages, found on Linux only).
func procAttr(*credential, os.Signal) *syscall.SysProcAttr { return nil }

func serverUser() (*credential, error) { return nil, nil }
