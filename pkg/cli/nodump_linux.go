package cli

import "golang.org/x/sys/unix"

// protectMemory keeps the running gateway's memory, which holds the API key
// and access token, out of core dumps and away from other processes of the
// same user (ptrace, /proc/PID/mem and environ become root's only).
func protectMemory() error {
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}
