package credentials

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/gofrs/flock"
)

// The encrypted file is
//
//	header | nonce (12 bytes) | AES-256-GCM ciphertext and tag
//
// where header is the line "cco-credentials/1 aes-256-gcm\n", also passed
// to GCM as additional data so that it cannot be changed unnoticed. The
// plaintext is a sequence of entries, sorted by name, each
// uvarint(len(name)) name uvarint(len(value)) value. Every write seals the
// whole set again under a fresh random nonce and replaces the file
// atomically. The key is 32 random bytes in KeyFile, made by the first Set.
const (
	headerPrefix = "cco-credentials/"
	headerV1     = headerPrefix + "1 aes-256-gcm\n"
	keySize      = 32
	nonceSize    = 12
	tagSize      = 16
)

// fileStore is the file backend.
type fileStore struct {
	dir string
}

// lockFile serialises changes to credentials.enc between processes.
const lockFile = "credentials.lock"

func (f *fileStore) dataPath() string { return filepath.Join(f.dir, DataFile) }
func (f *fileStore) keyPath() string  { return filepath.Join(f.dir, KeyFile) }

func (f *fileStore) get(name string) ([]byte, error) {
	entries, plain, err := f.load()
	defer clear(plain)
	if err != nil {
		return nil, err
	}
	v, ok := entries[name]
	if !ok {
		return nil, ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (f *fileStore) list() ([]string, error) {
	entries, plain, err := f.load()
	clear(plain)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

func (f *fileStore) set(name string, value []byte) error {
	return f.update(func(entries map[string][]byte) error {
		entries[name] = value
		return nil
	}, true)
}

func (f *fileStore) delete(name string) error {
	return f.update(func(entries map[string][]byte) error {
		if _, ok := entries[name]; !ok {
			return ErrNotFound
		}
		delete(entries, name)
		return nil
	}, false)
}

// update reads the entries, lets change edit them and writes them back.
// create permits making the folder and the key.
func (f *fileStore) update(change func(map[string][]byte) error, create bool) error {
	// Changes are read-modify-write of one file: a lock beside it keeps two
	// processes from losing each other's change.
	// A change that may not create anything (a delete) in a folder that
	// does not exist has nothing to lock.
	if _, err := os.Stat(f.dir); err == nil || create {
		if err := os.MkdirAll(f.dir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", f.dir, err)
		}
		lock := flock.New(filepath.Join(f.dir, lockFile))
		if err := lock.Lock(); err != nil {
			return fmt.Errorf("lock %s: %w", lock.Path(), err)
		}
		defer lock.Unlock()
	}
	entries, plain, err := f.load()
	defer clear(plain)
	if err != nil {
		return err
	}
	if err := change(entries); err != nil {
		return err
	}
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", f.dir, err)
	}
	key, err := f.readKey()
	if errors.Is(err, fs.ErrNotExist) && create {
		key, err = f.makeKey()
	}
	defer clear(key)
	if err != nil {
		return err
	}
	out := encode(entries)
	defer clear(out)
	sealed, err := seal(key, out)
	if err != nil {
		return fmt.Errorf("encrypt %s: %w", f.dataPath(), err)
	}
	if err := writeAtomic(f.dataPath(), sealed); err != nil {
		return err
	}
	return f.giveToFolderOwner()
}

// load decrypts the file. A missing file is an empty set. The returned
// values point into plain, which the caller clears.
func (f *fileStore) load() (entries map[string][]byte, plain []byte, err error) {
	path := f.dataPath()
	data, err := f.readPrivate(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string][]byte{}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	key, err := f.readKey()
	defer clear(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("cannot decrypt %s: its key file %s is missing", path, f.keyPath())
	}
	if err != nil {
		return nil, nil, err
	}
	plain, err = open(path, key, data)
	if err != nil {
		return nil, nil, err
	}
	entries, err = decode(plain)
	if err != nil {
		clear(plain)
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return entries, plain, nil
}

// readPrivate reads a file that only its owner may read.
func (f *fileStore) readPrivate(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is accessible by other users (mode %#o): cco will not use it until you run: chmod 600 %s",
			path, fi.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

func (f *fileStore) readKey() ([]byte, error) {
	key, err := f.readPrivate(f.keyPath())
	if err != nil {
		return nil, err
	}
	if len(key) != keySize {
		clear(key)
		return nil, fmt.Errorf("key file %s has %d bytes, want %d: it is damaged or not cco's", f.keyPath(), len(key), keySize)
	}
	return key, nil
}

// makeKey writes a new random key; if another process made one first, that
// one is used.
func (f *fileStore) makeKey() ([]byte, error) {
	path := f.keyPath()
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("make key %s: %w", path, err)
	}
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		clear(key)
		return f.readKey()
	}
	if err != nil {
		clear(key)
		return nil, fmt.Errorf("make key %s: %w", path, err)
	}
	_, err = file.Write(key)
	if err == nil {
		err = file.Sync()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		clear(key)
		os.Remove(path)
		return nil, fmt.Errorf("write key %s: %w", path, err)
	}
	return key, syncDir(f.dir)
}

func seal(key, plain []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(headerV1)+nonceSize, len(headerV1)+nonceSize+len(plain)+tagSize)
	copy(out, headerV1)
	nonce := out[len(headerV1):]
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(out, nonce, plain, []byte(headerV1)), nil
}

// open checks and decrypts the contents of the file at path.
func open(path string, key, data []byte) ([]byte, error) {
	if n := min(len(data), len(headerPrefix)); string(data[:n]) != headerPrefix[:n] {
		return nil, fmt.Errorf("%s is not a cco credentials file", path)
	}
	if len(data) < len(headerV1) {
		return nil, fmt.Errorf("%s is truncated (%d bytes): restore it from a backup or delete it and set the credentials again", path, len(data))
	}
	if string(data[:len(headerV1)]) != headerV1 {
		line, _, _ := strings.Cut(string(data[len(headerPrefix):min(len(data), 64)]), "\n")
		return nil, fmt.Errorf("%s has format %q, which this cco does not know (it knows %q): was it written by a newer cco?",
			path, line, strings.TrimSpace(headerV1[len(headerPrefix):]))
	}
	if len(data) < len(headerV1)+nonceSize+tagSize {
		return nil, fmt.Errorf("%s is truncated (%d bytes): restore it from a backup or delete it and set the credentials again", path, len(data))
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := data[len(headerV1) : len(headerV1)+nonceSize]
	plain, err := aead.Open(nil, nonce, data[len(headerV1)+nonceSize:], data[:len(headerV1)])
	if err != nil {
		return nil, fmt.Errorf("cannot decrypt %s: the file was changed or the key is not the one it was written with", path)
	}
	return plain, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// encode lays out the entries, sorted by name.
func encode(entries map[string][]byte) []byte {
	names := make([]string, 0, len(entries))
	size := 0
	for n, v := range entries {
		names = append(names, n)
		size += 2*binary.MaxVarintLen64 + len(n) + len(v)
	}
	slices.Sort(names)
	out := make([]byte, 0, size)
	for _, n := range names {
		out = binary.AppendUvarint(out, uint64(len(n)))
		out = append(out, n...)
		out = binary.AppendUvarint(out, uint64(len(entries[n])))
		out = append(out, entries[n]...)
	}
	return out
}

// decode reads what encode wrote; the values point into plain.
func decode(plain []byte) (map[string][]byte, error) {
	entries := map[string][]byte{}
	next := func() ([]byte, bool) {
		n, k := binary.Uvarint(plain)
		if k <= 0 || n > uint64(len(plain)-k) {
			return nil, false
		}
		field := plain[k : k+int(n) : k+int(n)]
		plain = plain[k+int(n):]
		return field, true
	}
	for len(plain) > 0 {
		name, ok := next()
		if !ok {
			return nil, errors.New("the decrypted contents are malformed")
		}
		value, ok := next()
		if !ok || ValidateName(string(name)) != nil {
			return nil, errors.New("the decrypted contents are malformed")
		}
		entries[string(name)] = value
	}
	return entries, nil
}

// writeAtomic replaces path with data: a private temporary file in the same
// folder, synced, renamed over it.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir makes a rename or a new file in dir durable (not on Windows,
// which cannot open folders for syncing).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
