package service

import (
	"fmt"
	"regexp"
	"strings"
)

// UnstableError refuses to install a service that runs a binary which will
// move or vanish.
type UnstableError struct {
	Path string
	Why  string
	Use  string // what to install instead
}

func (e *UnstableError) Error() string {
	return fmt.Sprintf("%s %s; %s", e.Path, e.Why, e.Use)
}

var (
	cellar = regexp.MustCompile(`^(.*)/Cellar/cco/[^/]+/bin/cco$`)
	scoop  = regexp.MustCompile(`(?i)^(.*[\\/]scoop[\\/]apps[\\/]cco[\\/])([^\\/]+)([\\/].+)$`)
)

// StablePath returns the path a service should run: exe as the program was
// started (os.Executable), or resolved (exe with symbolic links resolved)
// when exe is not stable itself. It prefers exe, so a symbolic link that a
// package manager keeps pointing at the current version (Homebrew's
// PREFIX/bin/cco into the Cellar) is what the service runs.
//
// It refuses, with the path to use instead, a Homebrew Cellar path
// (PREFIX/Cellar/cco/VERSION/bin/cco: PREFIX/bin/cco), a Scoop version
// folder (scoop\apps\cco\VERSION\cco.exe: ...\current\cco.exe) and a
// temporary binary of `go run` or `go test` (a go-build folder). A
// systemd system unit cannot run a binary under /home, /root or
// /run/user (it has ProtectHome=yes).
func StablePath(goos string, scope Scope, exe, resolved string) (string, error) {
	var first *UnstableError
	for _, p := range []string{exe, resolved} {
		if p == "" {
			continue
		}
		err := unstable(goos, scope, p)
		if err == nil {
			return p, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		return "", fmt.Errorf("cannot tell where the cco binary is")
	}
	return "", first
}

func unstable(goos string, scope Scope, p string) *UnstableError {
	if m := cellar.FindStringSubmatch(p); m != nil {
		return &UnstableError{Path: p, Why: "is in Homebrew's Cellar, which the next upgrade removes",
			Use: "use " + m[1] + "/bin/cco, or better `brew services start cco`"}
	}
	if m := scoop.FindStringSubmatch(p); m != nil && !strings.EqualFold(m[2], "current") {
		return &UnstableError{Path: p, Why: "is in a Scoop version folder, which the next update removes",
			Use: "use " + m[1] + "current" + m[3]}
	}
	for _, part := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if strings.HasPrefix(part, "go-build") {
			return &UnstableError{Path: p, Why: "is a temporary binary of `go run` or `go test`",
				Use: "build or install cco first (`go install ./cmd/cco`, or a release) and run that binary's `install`"}
		}
	}
	if goos == "linux" && scope == System {
		for _, dir := range []string{"/home/", "/root/", "/run/user/"} {
			if strings.HasPrefix(p, dir) {
				return &UnstableError{Path: p, Why: "is in a home folder, which the hardened system unit cannot see (ProtectHome=yes)",
					Use: "copy it to /usr/local/bin/cco and run `sudo /usr/local/bin/cco install --system`"}
			}
		}
	}
	return nil
}
