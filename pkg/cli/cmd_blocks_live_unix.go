//go:build !windows

package cli

import (
	"os"
	"syscall"
)

// quitSignals end `cco stats blocks --live` (exit 0): Ctrl-C when stdin is
// not in raw mode, kill's default and a terminal that went away.
func quitSignals() []os.Signal { return []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP} }

// resizeSignals say the terminal changed size.
func resizeSignals() []os.Signal { return []os.Signal{syscall.SIGWINCH} }

// enableVT has nothing to do: terminals here read escape sequences.
func enableVT(*os.File) (restore func()) { return func() {} }
