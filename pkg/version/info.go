package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// DevVersion names a build that carries no release version.
const DevVersion = "dev"

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"go"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	Modified  bool   `json:"modified,omitempty"`
	// ManagedBy names the package manager a build was made for ("deb/rpm",
	// set by the release pipeline's package builds); empty otherwise.
	ManagedBy string `json:"managed_by,omitempty"`
	// UpdateKey, when set, is the base64 DER of the public key release
	// signatures are checked against instead of the release key built into
	// cco (test builds set it; release builds never do).
	UpdateKey string `json:"-"`
}

// NewInfo builds Info from the values the release build stamps in with
// -ldflags (any may be empty) and fills the gaps from the build information
// the Go toolchain embeds, so that `go install` and `go run` builds still
// report their module version and VCS revision.
func NewInfo(ver, commit, date string) Info {
	bi, _ := debug.ReadBuildInfo()
	return newInfo(ver, commit, date, bi)
}

func newInfo(ver, commit, date string, bi *debug.BuildInfo) Info {
	info := Info{
		Version:   strings.TrimPrefix(ver, "v"),
		Commit:    commit,
		Date:      date,
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
	}
	if bi != nil {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = strings.TrimPrefix(bi.Main.Version, "v")
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.time":
				if info.Date == "" {
					info.Date = s.Value
				}
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if info.Version == "" {
		info.Version = DevVersion
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	if info.Date == "" {
		info.Date = "unknown"
	}
	return info
}
