package credentials

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const value = "sk-ant-api03-Zq9-unit-test-value-0123456789"

// noEnv is an environment without a D-Bus session bus.
func noEnv(string) (string, bool) { return "", false }

// noKeyring fails the test if anything asks the keychain.
type noKeyring struct{ t *testing.T }

func (k noKeyring) Get(string, string) (string, error) {
	k.t.Error("the keychain was asked")
	return "", errors.New("no keychain")
}
func (k noKeyring) Set(string, string, string) error { k.t.Error("the keychain was asked"); return nil }
func (k noKeyring) Delete(string, string) error      { k.t.Error("the keychain was asked"); return nil }

func openFile(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(Options{Backend: BackendFile, Dir: dir, Keyring: noKeyring{t}, LookupEnv: noEnv, GOOS: "linux"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend() != BackendFile {
		t.Fatalf("backend %q", s.Backend())
	}
	return s
}

func mustGet(t *testing.T, s *Store, name string) string {
	t.Helper()
	v, err := s.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	return v.Reveal()
}

func mustSet(t *testing.T, s *Store, name, v string) {
	t.Helper()
	if err := s.Set(name, []byte(v)); err != nil {
		t.Fatal(err)
	}
}

func TestFileRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cco")
	s := openFile(t, dir)
	if want := "the encrypted file " + filepath.Join(dir, DataFile); s.Where() != want {
		t.Errorf("Where() = %q, want %q", s.Where(), want)
	}

	// An empty store creates nothing when read.
	if names, err := s.List(); err != nil || len(names) != 0 {
		t.Fatalf("List() = %v, %v", names, err)
	}
	if _, err := s.Get("anthropic-api-key"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get on an empty store: %v", err)
	}
	if err := s.Delete("anthropic-api-key"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete on an empty store: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("reading an empty store created %s: %v", dir, err)
	}

	mustSet(t, s, "anthropic-api-key", value)
	mustSet(t, s, "server-token", "cco_first")
	mustSet(t, s, "server-token", "cco_second") // overwrite
	if got := mustGet(t, s, "anthropic-api-key"); got != value {
		t.Errorf("Get = %q", got)
	}
	if got := mustGet(t, s, "server-token"); got != "cco_second" {
		t.Errorf("overwritten value = %q", got)
	}

	// Another Open sees the same credentials.
	s2 := openFile(t, dir)
	names, err := s2.List()
	if err != nil || !slices.Equal(names, []string{"anthropic-api-key", "server-token"}) {
		t.Fatalf("List() after reopening = %v, %v", names, err)
	}
	if err := s2.Delete("server-token"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("server-token"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "server-token is not set in the encrypted file") {
		t.Fatalf("Get after Delete: %v", err)
	}
	if got := mustGet(t, openFile(t, dir), "anthropic-api-key"); got != value {
		t.Errorf("after delete of another name: %q", got)
	}

	// Binary values survive unchanged.
	bin := []byte{0, 1, 2, '\n', 0xff, 0xfe}
	if err := s.Set("binary", bin); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, "binary"); got != string(bin) {
		t.Errorf("binary value = %q", got)
	}
}

func TestFileLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cco")
	s := openFile(t, dir)
	mustSet(t, s, "anthropic-api-key", value)
	before, err := os.ReadFile(filepath.Join(dir, DataFile))
	if err != nil {
		t.Fatal(err)
	}
	mustSet(t, s, "anthropic-api-key", value)
	after, err := os.ReadFile(filepath.Join(dir, DataFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before, after) {
		t.Error("the same contents were written twice with the same nonce")
	}
	if !bytes.HasPrefix(after, []byte(headerV1)) {
		t.Errorf("the file starts %q, want the header %q", after[:min(len(after), 40)], headerV1)
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		files = append(files, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range []string{value, value[:16], value[len(value)-16:]} {
			if bytes.Contains(data, []byte(needle)) {
				t.Errorf("%s contains the value in plain text", e.Name())
			}
		}
		if bytes.Contains(data, []byte("anthropic-api-key")) {
			t.Errorf("%s contains the credential's name in plain text", e.Name())
		}
	}
	if !slices.Equal(files, []string{DataFile, KeyFile, lockFile}) {
		t.Errorf("files in the folder: %v (a temporary file left behind?)", files)
	}
	if key, _ := os.ReadFile(filepath.Join(dir, KeyFile)); len(key) != 32 || bytes.Equal(key, make([]byte, 32)) {
		t.Errorf("key file holds %d bytes: %x", len(key), key)
	}
	if runtime.GOOS != "windows" {
		for name, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, DataFile): 0o600, filepath.Join(dir, KeyFile): 0o600} {
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s has mode %#o, want %#o", name, fi.Mode().Perm(), want)
			}
		}
	}
}

// damage sets up a store with one credential, lets f change its files, and
// returns the errors that Get and Set give afterwards.
func damage(t *testing.T, f func(data, key string)) []error {
	t.Helper()
	dir := t.TempDir()
	s := openFile(t, dir)
	mustSet(t, s, "anthropic-api-key", value)
	f(filepath.Join(dir, DataFile), filepath.Join(dir, KeyFile))
	_, getErr := s.Get("anthropic-api-key")
	_, listErr := s.List()
	setErr := s.Set("other", []byte("x"))
	errs := []error{getErr, listErr, setErr}
	for _, err := range errs {
		if err == nil {
			t.Fatal("no error from a damaged store")
		}
		if strings.Contains(err.Error(), value[:10]) || errors.Is(err, ErrNotFound) {
			t.Errorf("error %q", err)
		}
	}
	return errs
}

func wantAll(t *testing.T, errs []error, parts ...string) {
	t.Helper()
	for _, err := range errs {
		for _, p := range parts {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not say %q", err, p)
			}
		}
	}
}

func TestWrongKey(t *testing.T) {
	var data string
	errs := damage(t, func(d, key string) {
		data = d
		other := make([]byte, 32)
		rand.Read(other)
		if err := os.WriteFile(key, other, 0o600); err != nil {
			t.Fatal(err)
		}
	})
	wantAll(t, errs, "cannot decrypt "+data+": the file was changed or the key is not the one it was written with")
}

func TestMissingKey(t *testing.T) {
	var key string
	errs := damage(t, func(_, k string) { key = k; os.Remove(k) })
	wantAll(t, errs, "its key file "+key+" is missing")
}

func TestKeyOfWrongSize(t *testing.T) {
	var key string
	errs := damage(t, func(_, k string) {
		key = k
		if err := os.WriteFile(k, []byte("short"), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	wantAll(t, errs, "key file "+key+" has 5 bytes, want 32")
}

func TestTruncated(t *testing.T) {
	for _, keep := range []int{0, 5, len(headerV1) + 3, len(headerV1) + nonceSize + 10} {
		var data string
		errs := damage(t, func(d, _ string) {
			data = d
			b, _ := os.ReadFile(d)
			if err := os.WriteFile(d, b[:keep], 0o600); err != nil {
				t.Fatal(err)
			}
		})
		wantAll(t, errs, data+" is truncated ("+strconv.Itoa(keep)+" bytes)")
	}
	// Cut short by one byte: too long to tell from its length, but the tag
	// no longer matches.
	var data string
	errs := damage(t, func(d, _ string) {
		data = d
		b, _ := os.ReadFile(d)
		os.WriteFile(d, b[:len(b)-1], 0o600)
	})
	wantAll(t, errs, "cannot decrypt "+data)
}

// Every single flipped bit anywhere in the file is noticed.
func TestFlippedByte(t *testing.T) {
	dir := t.TempDir()
	s := openFile(t, dir)
	mustSet(t, s, "anthropic-api-key", value)
	path := filepath.Join(dir, DataFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x01
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := s.Get("anthropic-api-key")
		switch {
		case err == nil:
			t.Fatalf("byte %d flipped: Get succeeded", i)
		case i >= len(headerV1) && !strings.Contains(err.Error(), "cannot decrypt "+path+": the file was changed"):
			t.Errorf("byte %d flipped: %v", i, err)
		case !strings.Contains(err.Error(), path):
			t.Errorf("byte %d flipped: the error does not name the file: %v", i, err)
		}
	}
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, "anthropic-api-key"); got != value {
		t.Errorf("restored: %q", got)
	}
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	for _, c := range []struct {
		file string
		mode os.FileMode
	}{{DataFile, 0o644}, {DataFile, 0o660}, {KeyFile, 0o604}, {KeyFile, 0o640}} {
		var path string
		errs := damage(t, func(data, key string) {
			path = filepath.Join(filepath.Dir(data), c.file)
			if err := os.Chmod(path, c.mode); err != nil {
				t.Fatal(err)
			}
		})
		wantAll(t, errs, path+" is accessible by other users", "chmod 600 "+path)
	}
}

func TestValues(t *testing.T) {
	s := openFile(t, t.TempDir())
	if err := s.Set("empty", nil); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty value: %v", err)
	}
	if err := s.Set("huge", make([]byte, MaxValueSize+1)); err == nil {
		t.Error("a value over MaxValueSize was accepted")
	}
	if err := s.Set("largest", bytes.Repeat([]byte("k"), MaxValueSize)); err != nil {
		t.Error(err)
	}
}

func TestNames(t *testing.T) {
	s := openFile(t, t.TempDir())
	good := []string{"a", "anthropic-api-key", "server-token", "0", "-", strings.Repeat("x", 64)}
	bad := []string{"", "Anthropic", "a_b", "a.b", "a b", "naïve", ".names", "a/b", strings.Repeat("x", 65), "key\n"}
	for _, n := range good {
		if err := ValidateName(n); err != nil {
			t.Errorf("ValidateName(%q): %v", n, err)
		}
		if err := s.Set(n, []byte("v")); err != nil {
			t.Errorf("Set(%q): %v", n, err)
		}
	}
	for _, n := range bad {
		if ValidateName(n) == nil {
			t.Errorf("ValidateName(%q) accepted it", n)
		}
		if s.Set(n, []byte("v")) == nil {
			t.Errorf("Set(%q) accepted it", n)
		}
		if _, err := s.Get(n); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q): %v", n, err)
		}
		if err := s.Delete(n); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Delete(%q): %v", n, err)
		}
	}
	names, err := s.List()
	if err != nil || len(names) != len(good) {
		t.Errorf("List() = %v, %v", names, err)
	}
}

func TestChoose(t *testing.T) {
	down := errors.New("no bus")
	for _, c := range []struct {
		setting    string
		fileExists bool
		probe      error
		want       string
		wantErr    string
	}{
		{"file", false, nil, "file", ""},
		{"file", true, nil, "file", ""},
		{"keychain", false, nil, "keychain", ""},
		{"keychain", true, nil, "keychain", ""},
		{"keychain", false, down, "", "credentials.backend is keychain, but no keychain is reachable: no bus; set credentials.backend = file"},
		{"auto", false, nil, "keychain", ""},
		{"auto", false, down, "file", ""},
		{"auto", true, nil, "file", ""}, // the file sticks
		{"auto", true, down, "file", ""},
		{"wallet", false, nil, "", `credentials.backend "wallet" is not one of auto, keychain, file`},
	} {
		got, err := choose(c.setting, func() bool { return c.fileExists }, func() error { return c.probe })
		if got != c.want || (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("choose(%s, file %v, probe %v) = %q, %v; want %q, %q", c.setting, c.fileExists, c.probe, got, err, c.want, c.wantErr)
		}
	}
}

// Without a session bus, Linux has no keychain, and D-Bus is not asked.
func TestAutoWithoutBus(t *testing.T) {
	dir := t.TempDir()
	for _, goos := range []string{"linux", "freebsd"} {
		s, err := Open(Options{Backend: BackendAuto, Dir: dir, Keyring: noKeyring{t}, LookupEnv: noEnv, GOOS: goos})
		if err != nil {
			t.Fatal(err)
		}
		if s.Backend() != BackendFile {
			t.Errorf("%s: auto without a bus chose %s", goos, s.Backend())
		}
		_, err = Open(Options{Backend: BackendKeychain, Dir: dir, Keyring: noKeyring{t}, LookupEnv: noEnv, GOOS: goos})
		if err == nil || !strings.Contains(err.Error(), "DBUS_SESSION_BUS_ADDRESS is unset") || !strings.Contains(err.Error(), "credentials.backend = file") {
			t.Errorf("%s: keychain without a bus: %v", goos, err)
		}
	}
	// An empty runtime folder has no bus either.
	env := func(k string) (string, bool) {
		return map[string]string{"XDG_RUNTIME_DIR": dir}[k], k == "XDG_RUNTIME_DIR"
	}
	s, err := Open(Options{Dir: dir, Keyring: noKeyring{t}, LookupEnv: env, GOOS: "linux"})
	if err != nil || s.Backend() != BackendFile {
		t.Errorf("auto with an empty XDG_RUNTIME_DIR: %v, %v", s, err)
	}
}

// fakeKeyring is a keychain in memory.
type fakeKeyring struct {
	mu    sync.Mutex
	items map[string]string
	hang  chan struct{} // when set, every call waits for it
}

func (k *fakeKeyring) wait() {
	if k.hang != nil {
		<-k.hang
	}
}

func (k *fakeKeyring) Get(service, user string) (string, error) {
	k.wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.items[service+"/"+user]
	if !ok {
		return "", ErrNotFound
	}
	return v, nil
}

func (k *fakeKeyring) Set(service, user, password string) error {
	k.wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.items[service+"/"+user] = password
	return nil
}

func (k *fakeKeyring) Delete(service, user string) error {
	k.wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.items[service+"/"+user]; !ok {
		return ErrNotFound
	}
	delete(k.items, service+"/"+user)
	return nil
}

func busEnv(k string) (string, bool) {
	if k == "DBUS_SESSION_BUS_ADDRESS" {
		return "unix:path=/nonexistent", true
	}
	return "", false
}

func TestKeychainWithFake(t *testing.T) {
	dir := t.TempDir()
	kr := &fakeKeyring{items: map[string]string{}}
	for goos, where := range map[string]string{"linux": "the Secret Service", "darwin": "the macOS Keychain", "windows": "the Windows Credential Manager"} {
		s, err := Open(Options{Dir: dir, Keyring: kr, LookupEnv: busEnv, GOOS: goos})
		if err != nil {
			t.Fatal(err)
		}
		if s.Backend() != BackendKeychain || s.Where() != where {
			t.Errorf("%s: auto chose %s, %q", goos, s.Backend(), s.Where())
		}
	}
	s, err := Open(Options{Backend: BackendKeychain, Keyring: kr, LookupEnv: busEnv, GOOS: "linux"})
	if err != nil {
		t.Fatal(err)
	}
	mustSet(t, s, "server-token", "cco_one")
	mustSet(t, s, "anthropic-api-key", value)
	mustSet(t, s, "anthropic-api-key", value) // once in the index
	if got := mustGet(t, s, "anthropic-api-key"); got != value {
		t.Errorf("Get = %q", got)
	}
	names, err := s.List()
	if err != nil || !slices.Equal(names, []string{"anthropic-api-key", "server-token"}) {
		t.Errorf("List() = %v, %v", names, err)
	}
	if idx := kr.items[Service+"/"+indexUser]; idx != "anthropic-api-key\nserver-token" {
		t.Errorf("index item %q", idx)
	}
	if err := s.Delete("server-token"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("server-token"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "in the Secret Service") {
		t.Errorf("second Delete: %v", err)
	}
	if err := s.Delete("anthropic-api-key"); err != nil {
		t.Fatal(err)
	}
	if len(kr.items) != 0 {
		t.Errorf("items left: %v", kr.items)
	}
	if _, err := os.Stat(filepath.Join(dir, DataFile)); !os.IsNotExist(err) {
		t.Errorf("the keychain backend touched the file: %v", err)
	}
}

// A keychain that never answers is given up on: auto falls back to the
// file, keychain says why.
func TestKeychainHangs(t *testing.T) {
	kr := &fakeKeyring{items: map[string]string{}, hang: make(chan struct{})}
	defer close(kr.hang)
	o := Options{Dir: t.TempDir(), Keyring: kr, LookupEnv: busEnv, GOOS: "linux", ProbeTimeout: 50 * time.Millisecond}
	s, err := Open(o)
	if err != nil || s.Backend() != BackendFile {
		t.Fatalf("auto with a hung keychain: %v, %v", s, err)
	}
	o.Backend = BackendKeychain
	if _, err := Open(o); err == nil || !strings.Contains(err.Error(), "the Secret Service did not answer: no answer within 50ms") {
		t.Errorf("keychain with a hung keychain: %v", err)
	}
}

// Changes from many stores at once (as from several cco processes) all
// land: each one's read-modify-write holds the folder's lock.
func TestConcurrentSets(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- openFile(t, dir).Set(fmt.Sprintf("name-%d", i), []byte(fmt.Sprintf("value-%d", i)))
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	names, err := openFile(t, dir).List()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != n {
		t.Errorf("%d of %d names kept: %v", len(names), n, names)
	}
}
