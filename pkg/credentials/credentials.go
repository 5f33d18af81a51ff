// Package credentials is cco's credential store: named secrets (the
// Anthropic API key, the access token remote clients send) kept in the
// operating system's keychain or, where there is none, in an encrypted file
// in cco's data folder.
//
// Backends:
//
//   - keychain: the macOS Keychain, the Secret Service (GNOME Keyring,
//     KWallet) on Linux and the BSDs, the Windows Credential Manager, all
//     through go-keyring, under the service name "cco". go-keyring cannot
//     enumerate items, so the names (never the values) are kept in one more
//     keychain item, so that nothing about a value ever leaves the keychain.
//   - file: credentials.enc, sealed with AES-256-GCM under a random key kept
//     in its own file, credentials.key, both 0600 in a 0700 folder. See
//     file.go for the format.
//   - auto: the file when credentials.enc already exists (so that a
//     keychain that comes and goes does not hide what was stored), else the
//     keychain when one answers within a few seconds, else the file. On
//     Linux without a D-Bus session bus the keychain is known to be absent
//     without asking D-Bus, which could otherwise try to start a bus.
//
// The stickiness of auto is a deliberate departure from "keychain whenever
// it answers": without it, a credential set while no keychain was reachable
// would silently vanish the first time one is.
//
// It imports only the standard library, pkg/secret, go-keyring and
// gofrs/flock.
package credentials

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/visiquate/cco/pkg/secret"
)

// Backend names, as in the credentials.backend setting.
const (
	BackendAuto     = "auto"
	BackendKeychain = "keychain"
	BackendFile     = "file"
)

// File names in Options.Dir.
const (
	DataFile = "credentials.enc"
	KeyFile  = "credentials.key"
)

// Service is the service name of cco's items in the keychain.
const Service = "cco"

// MaxValueSize bounds a credential's value.
const MaxValueSize = 64 << 10

// ErrNotFound is returned (wrapped) when a credential is not set.
var ErrNotFound = errors.New("credential not found")

// Keyring is the part of an OS keychain the store uses. Get and Delete
// return ErrNotFound when the item is absent.
type Keyring interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

// Options configure Open.
type Options struct {
	// Backend is auto (or empty), keychain or file.
	Backend string
	// Dir is cco's data folder, where the file backend keeps DataFile and
	// KeyFile.
	Dir string
	// Keyring is the keychain; nil means the operating system's.
	Keyring Keyring
	// LookupEnv reads the environment (to find a D-Bus session bus); nil
	// means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// GOOS is the platform; empty means runtime.GOOS.
	GOOS string
	// ProbeTimeout bounds the question "does a keychain answer?"; zero
	// means 5s.
	ProbeTimeout time.Duration
	// Timeout bounds every other keychain call, which may wait for the user
	// to unlock it; zero means 2m.
	Timeout time.Duration
}

// Store is an opened credential store.
type Store struct {
	b       backend
	backend string
	where   string
	label   string
}

// backend is what each kind of store implements; names are valid.
type backend interface {
	get(name string) ([]byte, error) // ErrNotFound when absent
	set(name string, value []byte) error
	delete(name string) error // ErrNotFound when absent
	list() ([]string, error)  // sorted
}

// Open opens the store that o.Backend names. It creates nothing: the file
// backend's files appear with the first Set.
func Open(o Options) (*Store, error) {
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.GOOS == "" {
		o.GOOS = runtime.GOOS
	}
	if o.ProbeTimeout == 0 {
		o.ProbeTimeout = 5 * time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Backend == "" {
		o.Backend = BackendAuto
	}
	if o.Backend != BackendKeychain && o.Dir == "" {
		return nil, errors.New("open credentials: no data folder")
	}
	fileExists := func() bool {
		_, err := os.Lstat(filepath.Join(o.Dir, DataFile))
		return err == nil
	}
	var kc *keychain
	probe := func() error {
		if err := sessionBus(o.GOOS, o.LookupEnv); err != nil {
			return err
		}
		kr := o.Keyring
		if kr == nil {
			kr = systemKeyring{}
		}
		kc = &keychain{kr: kr, name: keychainName(o.GOOS), timeout: o.Timeout}
		return kc.probe(o.ProbeTimeout)
	}
	kind, err := choose(o.Backend, fileExists, probe)
	if err != nil {
		return nil, err
	}
	if kind == BackendKeychain {
		return &Store{b: kc, backend: kind, where: "the " + kc.name, label: kc.name}, nil
	}
	f := &fileStore{dir: o.Dir}
	return &Store{b: f, backend: kind, where: "the encrypted file " + f.dataPath(), label: "encrypted file"}, nil
}

// choose decides between the keychain and the file for a backend setting.
// fileExists says whether credentials.enc exists; probe says whether a
// keychain answers, and why not.
func choose(setting string, fileExists func() bool, probe func() error) (string, error) {
	switch setting {
	case BackendFile:
		return BackendFile, nil
	case BackendKeychain:
		if err := probe(); err != nil {
			return "", fmt.Errorf("credentials.backend is keychain, but no keychain is reachable: %w; "+
				"set credentials.backend = file (or CCO_CREDENTIALS_BACKEND=file) to use an encrypted file instead", err)
		}
		return BackendKeychain, nil
	case BackendAuto:
		if fileExists() {
			return BackendFile, nil
		}
		if probe() == nil {
			return BackendKeychain, nil
		}
		return BackendFile, nil
	}
	return "", fmt.Errorf("credentials.backend %q is not one of auto, keychain, file", setting)
}

// sessionBus reports why the Secret Service cannot be reached on platforms
// where it lives on the D-Bus session bus, without touching D-Bus. Elsewhere
// it returns nil.
func sessionBus(goos string, lookupEnv func(string) (string, bool)) error {
	switch goos {
	case "darwin", "windows", "ios", "android", "plan9", "js", "wasip1":
		return nil
	}
	if v, _ := lookupEnv("DBUS_SESSION_BUS_ADDRESS"); v != "" {
		return nil
	}
	if dir, _ := lookupEnv("XDG_RUNTIME_DIR"); dir != "" {
		if fi, err := os.Stat(filepath.Join(dir, "bus")); err == nil && fi.Mode().Type() == os.ModeSocket {
			return nil
		}
	}
	return errors.New("the Secret Service needs a D-Bus session bus, and there is none (DBUS_SESSION_BUS_ADDRESS is unset)")
}

// keychainName is what the platform calls its keychain.
func keychainName(goos string) string {
	switch goos {
	case "darwin", "ios":
		return "macOS Keychain"
	case "windows":
		return "Windows Credential Manager"
	}
	return "Secret Service"
}

// Backend returns "keychain" or "file".
func (s *Store) Backend() string { return s.backend }

// Where describes where the credentials are kept, such as "the Secret
// Service" or "the encrypted file /home/me/.local/share/cco/credentials.enc".
func (s *Store) Where() string { return s.where }

// Label is a short name for the place, such as "Secret Service", "macOS
// Keychain" or "encrypted file".
func (s *Store) Label() string { return s.label }

// Get returns a credential; the error wraps ErrNotFound when it is not set.
func (s *Store) Get(name string) (secret.Secret, error) {
	if err := ValidateName(name); err != nil {
		return secret.Secret{}, err
	}
	v, err := s.b.get(name)
	if err != nil {
		return secret.Secret{}, s.wrap("read", name, err)
	}
	sec := secret.New(string(v))
	clear(v)
	return sec, nil
}

// Set stores a credential, replacing any value it had. value is not kept.
func (s *Store) Set(name string, value []byte) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	switch {
	case len(value) == 0:
		return fmt.Errorf("credential %s: the value is empty", name)
	case len(value) > MaxValueSize:
		return fmt.Errorf("credential %s: the value has %d bytes, more than the %d allowed", name, len(value), MaxValueSize)
	}
	return s.wrap("store", name, s.b.set(name, value))
}

// Delete removes a credential; the error wraps ErrNotFound when it was not
// set.
func (s *Store) Delete(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	return s.wrap("delete", name, s.b.delete(name))
}

// List returns the names of the stored credentials, sorted.
func (s *Store) List() ([]string, error) {
	names, err := s.b.list()
	if err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	return names, nil
}

func (s *Store) wrap(verb, name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return notFoundError{name, s.where}
	}
	return fmt.Errorf("%s credential %s: %w", verb, name, err) // err names the place
}

// ValidateName checks a credential name: 1 to 64 lowercase letters, digits
// and hyphens.
func ValidateName(name string) error {
	ok := len(name) >= 1 && len(name) <= 64
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return fmt.Errorf("invalid credential name %q: use 1 to 64 lowercase letters, digits and hyphens", name)
	}
	return nil
}

// notFoundError says which credential is missing, and where it was looked
// for; it matches ErrNotFound.
type notFoundError struct{ name, where string }

func (e notFoundError) Error() string        { return "credential " + e.name + " is not set in " + e.where }
func (e notFoundError) Is(target error) bool { return target == ErrNotFound }
