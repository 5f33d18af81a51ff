//go:build !cgosqlite

package store

import _ "modernc.org/sqlite" // registers "sqlite": pure Go, no cgo

// driverName is the database/sql driver the store opens.
const driverName = "sqlite"

// dsn is the connection string for the database file at path (absolute, no
// '?'). modernc runs every _pragma on each new connection, busy_timeout
// first; _txlock makes BeginTx issue BEGIN IMMEDIATE.
func dsn(path string) string {
	return path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}
