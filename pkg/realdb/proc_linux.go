package realdb

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// credential is a user the servers run as.
type credential struct{ uid, gid uint32 }

// quitSignal stops PostgreSQL at once (its "immediate" shutdown).
var quitSignal os.Signal = syscall.SIGQUIT

// procAttr runs a server as cred (nil: as the test) and sends it sig
// should the test binary die first.
func procAttr(cred *credential, sig os.Signal) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: sig.(syscall.Signal)}
	if cred != nil {
		a.Credential = &syscall.Credential{Uid: cred.uid, Gid: cred.gid}
	}
	return a
}

// serverUser is who runs PostgreSQL, which refuses root: nil for the
// test's own user, or, as root, "ccotest" (made with useradd when missing).
func serverUser() (*credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	const name = "ccotest"
	u, err := user.Lookup(name)
	if err != nil {
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("useradd %s (PostgreSQL does not run as root): %v\n%s", name, err, out)
		}
		if u, err = user.Lookup(name); err != nil {
			return nil, err
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &credential{uid: uint32(uid), gid: uint32(gid)}, nil
}
