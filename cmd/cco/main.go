// Command cco is a local gateway between Claude Code and the Anthropic API.
// All of it lives in pkg/; main only hands over the values that release
// builds stamp in with -ldflags "-X main.version=... -X main.commit=...
// -X main.date=..." (and, for the .deb and .rpm builds, -X main.managedBy=...).
package main

import (
	"os"

	"github.com/visiquate/cco/pkg/cli"
	buildinfo "github.com/visiquate/cco/pkg/version"
)

var (
	version   = ""
	commit    = ""
	date      = ""
	managedBy = ""
)

func main() {
	info := buildinfo.NewInfo(version, commit, date)
	info.ManagedBy = managedBy
	os.Exit(cli.Main(info, os.Args[1:]))
}
