// Command cco is a local gateway between Claude Code and the Anthropic API.
// All of it lives in pkg/ (main imports cli and version); main only hands
// over to cli the values that release builds stamp in with -ldflags "-X main.version=... -X main.commit=...
// -X main.date=..." (and, for the .deb and .rpm builds, -X main.managedBy=...).
// Test builds may also set -X main.updateKey=BASE64, the base64 DER of the
// public key `cco update` trusts instead of the release key built in.
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
	updateKey = ""
)

func main() {
	info := buildinfo.NewInfo(version, commit, date)
	info.ManagedBy = managedBy
	info.UpdateKey = updateKey
	os.Exit(cli.Main(info, os.Args[1:]))
}
