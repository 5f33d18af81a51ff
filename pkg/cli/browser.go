package cli

import (
	"os/exec"
	"runtime"
)

// openBrowser asks the desktop to open url and does not wait for it. A
// failure is not worth reporting: the URL is printed on start anyway.
//
// Written here rather than taken from a library: the well-known ones keep
// their output streams in package variables, and this is the whole job.
func openBrowser(url string) {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if cmd.Start() == nil {
		go cmd.Wait() //nolint:errcheck // reap it; its result does not matter
	}
}
