//go:build !unix

package credentials

// giveToFolderOwner has nothing to do where files have no Unix owner.
func (f *fileStore) giveToFolderOwner() error { return nil }
