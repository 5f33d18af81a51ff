package cli

import (
	"testing"

	"golang.org/x/sys/unix"
)

// After protectMemory the process is not dumpable: no core file, no
// ptrace or /proc/PID/mem for other processes of the same user.
func TestProtectMemory(t *testing.T) {
	if err := protectMemory(); err != nil {
		t.Fatal(err)
	}
	v, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v != 0 {
		t.Errorf("PR_GET_DUMPABLE = %d, want 0", v)
	}
}
