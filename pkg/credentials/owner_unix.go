//go:build unix

package credentials

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// giveToFolderOwner hands the store's files to the owner of its folder when
// root changed them there: `sudo cco credentials set` for a service that
// runs as its own user (the systemd unit's state folder) leaves files that
// service can read, still 0600.
func (f *fileStore) giveToFolderOwner() error {
	if os.Geteuid() != 0 {
		return nil
	}
	info, err := os.Stat(f.dir)
	if err != nil {
		return err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	for _, name := range []string{DataFile, KeyFile, lockFile} {
		path := filepath.Join(f.dir, name)
		if err := os.Chown(path, int(st.Uid), int(st.Gid)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("give %s to the folder's owner: %w", path, err)
		}
	}
	return nil
}
