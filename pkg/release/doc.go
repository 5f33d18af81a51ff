// Package release holds the tests that verify what the release pipeline puts
// in dist/: artifacts, checksums, signatures, packages, formula, manifest and
// installers. It has no code of its own.
package release
