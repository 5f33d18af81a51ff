package credentials

import (
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/visiquate/cco/pkg/credentials/credtest"
)

// The keychain backend against a real Secret Service (GNOME Keyring on a
// private session bus), through go-keyring as cco uses it.
func TestSecretService(t *testing.T) {
	ss := credtest.StartSecretService(t)
	// godbus connects to the session bus once, on first use, from the
	// environment: nothing in this package has used it before this test.
	for _, kv := range ss.Env() {
		k, v, _ := cutEnv(kv)
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	for _, backend := range []string{BackendKeychain, BackendAuto} {
		s, err := Open(Options{Backend: backend, Dir: dir})
		if err != nil {
			t.Fatalf("%s: %v", backend, err)
		}
		if s.Backend() != BackendKeychain || s.Where() != "the Secret Service" || s.Label() != "Secret Service" {
			t.Fatalf("%s: chose %s (%s)", backend, s.Backend(), s.Where())
		}
		if names, err := s.List(); err != nil || len(names) != 0 {
			t.Fatalf("%s: List() on an empty keyring = %v, %v", backend, names, err)
		}
		mustSet(t, s, "anthropic-api-key", "first")
		mustSet(t, s, "anthropic-api-key", value) // replaces
		mustSet(t, s, "server-token", "cco_token")
		if got := mustGet(t, s, "anthropic-api-key"); got != value {
			t.Errorf("%s: Get = %q", backend, got)
		}
		// A second Open (another cco process would do the same) sees them.
		s2, err := Open(Options{Backend: backend, Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		names, err := s2.List()
		if err != nil || !slices.Equal(names, []string{"anthropic-api-key", "server-token"}) {
			t.Errorf("%s: List() = %v, %v", backend, names, err)
		}
		if err := s2.Delete("anthropic-api-key"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get("anthropic-api-key"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Get after Delete: %v", backend, err)
		}
		if err := s.Delete("anthropic-api-key"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: second Delete: %v", backend, err)
		}
		if err := s.Delete("server-token"); err != nil {
			t.Fatal(err)
		}
		if names, err := s.List(); err != nil || len(names) != 0 {
			t.Errorf("%s: List() after deleting all = %v, %v", backend, names, err)
		}
	}
	if _, err := os.Stat(dir + "/" + DataFile); !os.IsNotExist(err) {
		t.Errorf("the keychain backend wrote the file: %v", err)
	}
}

func cutEnv(kv string) (string, string, bool) {
	for i := range kv {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}
