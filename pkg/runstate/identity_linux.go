package runstate

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// isCCO reads /proc: a zombie is gone, and a pid whose program name does
// not contain "cco" was reused by another program. When /proc cannot tell,
// the pid is taken at its word.
func isCCO(pid int) bool {
	dir := "/proc/" + strconv.Itoa(pid)
	if stat, err := os.ReadFile(dir + "/stat"); err == nil {
		// pid (comm) state ...: the state follows the last ')'.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return false
		}
	}
	cmdline, err := os.ReadFile(dir + "/cmdline")
	if err != nil || len(cmdline) == 0 {
		return true
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	return strings.Contains(filepath.Base(string(argv0)), "cco")
}
