//go:build cgosqlite

package ccotest

// buildTags are passed to the cco that BuildCCO builds: the same SQLite
// driver as the tests were built with.
const buildTags = "cgosqlite"
