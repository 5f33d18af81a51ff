package ccotest

// Temporary: keeps the modules that the analytics and cache packages are
// being built on in go.mod until those packages import them.
import (
	_ "github.com/andybalholm/brotli"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/mattn/go-sqlite3"
	_ "github.com/maypok86/otter/v2"
	_ "modernc.org/sqlite"
)
