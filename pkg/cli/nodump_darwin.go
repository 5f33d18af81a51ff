package cli

import "golang.org/x/sys/unix"

// protectMemory keeps the running gateway's memory, which holds the API key
// and access token, out of core dumps.
func protectMemory() error {
	return unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
}
