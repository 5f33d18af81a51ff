//go:build windows

package runstate

import (
	"os"

	"golang.org/x/sys/windows"
)

const stillActive = 259 // STILL_ACTIVE, the exit code of a running process

func alive(pid int) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return err == windows.ERROR_ACCESS_DENIED
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil {
		return false
	}
	return code == stillActive
}

func terminate(p *os.Process) error { return p.Kill() }
