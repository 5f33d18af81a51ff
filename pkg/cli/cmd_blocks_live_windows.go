package cli

import (
	"os"
	"syscall"

	"golang.org/x/sys/windows"
)

// quitSignals end `cco stats blocks --live` (exit 0): Ctrl-C when stdin is
// not in raw mode, and what Go maps console close and shutdown events to.
func quitSignals() []os.Signal { return []os.Signal{os.Interrupt, syscall.SIGTERM} }

// resizeSignals: Windows has no SIGWINCH; the view reads the console's
// size at each redraw, every second.
func resizeSignals() []os.Signal { return nil }

// enableVT turns on the console's escape sequence processing for f (the
// view's alternate screen, cursor moves) and returns what puts the mode
// back.
func enableVT(f *os.File) (restore func()) {
	h := windows.Handle(f.Fd())
	var mode uint32
	if windows.GetConsoleMode(h, &mode) != nil {
		return func() {}
	}
	if windows.SetConsoleMode(h, mode|windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING) != nil {
		return func() {}
	}
	return func() { windows.SetConsoleMode(h, mode) } //nolint:errcheck // nothing better to do on the way out
}
