// Package release holds the tests that verify what the release pipeline puts
// in dist/: artifacts, checksums, signatures, packages, SBOMs, licence
// notices, the Homebrew formula, the Scoop and winget manifests, and
// installers, and the release workflow's order (nothing published before it
// is verified). It has no code of its own.
//
// Most tests need a dist/ from a real GoReleaser run (CCO_DIST, set by
// `task release:verify`) and skip without one. The formula and manifest
// checks also run, always, on cmd/ccorelease's golden files, rendered from a
// fixed stand-in release (go test ./cmd/ccorelease -update rewrites them),
// so a template change that breaks a property fails without a release build.
// The winget manifests are validated against Microsoft's schemas, kept with
// their licence in packaging/winget/schemas so the check needs no network.
//
// Its tests import three cco packages: fakegithub, whose fake GitHub serves
// the built release to the installers and to `cco update`, ccoproc, to run
// the installed binaries, and version, to compare the versions they report. Otherwise it looks at
// the release from outside, as a user's package manager would.
package release
