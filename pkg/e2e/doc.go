// Package e2e holds end-to-end tests: the real cco binary, built as a
// release build is, between real clients (the official Go SDKs, raw HTTP,
// Claude Code) and the fake Anthropic API of package fakeapi. It has
// no code of its own.
package e2e
