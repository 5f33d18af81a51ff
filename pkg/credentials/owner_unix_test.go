//go:build unix

package credentials

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Root storing a credential in a folder that belongs to a service's own
// user leaves files that user can read: they are handed to the folder's
// owner, still 0600.
func TestRootGivesFilesToFolderOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (this project's CI runs as root; GitHub's Linux runner does not)")
	}
	dir := filepath.Join(t.TempDir(), "cco")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	const uid, gid = 61234, 61235 // a dynamic user's range
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	mustSet(t, openFile(t, dir), "anthropic-api-key", "sk-ant-for-the-service")
	for _, name := range []string{DataFile, KeyFile, lockFile} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		st := info.Sys().(*syscall.Stat_t)
		if st.Uid != uid || st.Gid != gid || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: owner %d:%d mode %v, want %d:%d 0600", name, st.Uid, st.Gid, info.Mode().Perm(), uid, gid)
		}
	}
}
