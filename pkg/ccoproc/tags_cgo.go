//go:build cgosqlite

package ccoproc

// buildTags are passed to the cco that BuildCCO builds: the same SQLite
// driver as the tests were built with.
const buildTags = "cgosqlite"
