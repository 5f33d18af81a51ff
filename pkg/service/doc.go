// Package service installs cco as a service of the operating system and
// controls it: a launchd agent or daemon on macOS, a systemd user or system
// unit on Linux, and a Windows service. It also lets `cco run` answer the
// Windows service manager (RunIfService).
//
// Every call to the operating system goes through a Runner (launchctl,
// systemctl, journalctl) or, for Windows, a WindowsManager, both injected
// in a Host, so the behaviour of every platform is tested on any machine by
// asserting the exact calls. The real WindowsManager (golang.org/x/sys's
// svc/mgr) lives in the _windows.go files.
//
// The systemd units are the ones cco's .deb and .rpm ship
// (systemd/cco.service and systemd/cco-user.service, embedded here and
// named by .goreleaser.yaml): `cco install` renders the same file with the
// path of the running binary, so the two never drift apart.
//
// Decisions a reader may wonder about:
//   - A service runs a stable path (see StablePath): Homebrew's Cellar,
//     Scoop's version folders and `go run`'s temporary binaries vanish on
//     the next upgrade or build.
//   - API keys and tokens are never written into a definition: a plist,
//     unit or service environment is readable by other programs. They
//     belong in `cco credentials` (or cco.env next to a systemd unit).
//   - The Windows service runs as LocalSystem, as NSSM-made services do,
//     with its files in %ProgramData%\cco. A virtual account (NT SERVICE\cco)
//     would be tighter but needs folder permissions set up and cannot be
//     tried on the machines this is developed on.
//   - The launchd daemon and the Windows service keep their settings and
//     data in one machine-wide folder (/Library/Application Support/cco,
//     %ProgramData%\cco), as the systemd system unit does in /etc/cco and
//     /var/lib/cco.
//
// It imports only the standard library and golang.org/x/sys.
package service
