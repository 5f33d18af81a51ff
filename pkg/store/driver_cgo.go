//go:build cgosqlite

package store

import _ "github.com/mattn/go-sqlite3" // registers "sqlite3": SQLite's C source through cgo

// driverName is the database/sql driver the store opens.
const driverName = "sqlite3"

// dsn is the connection string for the database file at path (absolute, no
// '?'). go-sqlite3 takes each pragma as its own _key and applies them on
// each new connection; _txlock makes BeginTx issue BEGIN IMMEDIATE.
func dsn(path string) string {
	return path + "?_busy_timeout=5000&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate"
}
