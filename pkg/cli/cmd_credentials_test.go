package cli

import (
	"bytes"
	"errors"
	"github.com/visiquate/cco/pkg/golden"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/visiquate/cco/pkg/credentials"
	"github.com/visiquate/cco/pkg/secret"
)

// memStore is a credential store in memory, printed as a fixed place.
type memStore map[string]string

func (m memStore) Get(name string) (secret.Secret, error) {
	v, ok := m[name]
	if !ok {
		return secret.Secret{}, credentials.ErrNotFound
	}
	return secret.New(v), nil
}
func (m memStore) Set(name string, v []byte) error { m[name] = string(v); return nil }
func (m memStore) Delete(name string) error {
	if _, ok := m[name]; !ok {
		return credentials.ErrNotFound
	}
	delete(m, name)
	return nil
}
func (m memStore) List() ([]string, error) {
	names := []string{}
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}
func (memStore) Backend() string { return "file" }
func (memStore) Where() string   { return "the encrypted file /data/cco/credentials.enc" }
func (memStore) Label() string   { return "encrypted file" }

// checkGolden compares got with testdata/credentials/NAME, or rewrites it with
// -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "credentials", name), []byte(got))
}

// The formatted outputs of the credentials commands and of config show's
// credentials section.
func TestCredentialsOutput(t *testing.T) {
	st := memStore{}
	var out bytes.Buffer
	sys := &System{Stdout: &out, Stdin: strings.NewReader("sk-ant-golden-value\n")}
	fixed := bytes.NewReader(bytes.Repeat([]byte{0xfb, 0x0f}, 16))
	steps := []struct {
		golden string
		run    func() error
	}{
		{"list-empty.golden", func() error { return runCredentialsList(sys, st, credentialsOptions{}) }},
		{"set.golden", func() error { return runCredentialsSet(sys, st, credentialsOptions{name: credAPIKey}) }},
		{"get.golden", func() error { return runCredentialsGet(sys, st, credentialsOptions{name: credAPIKey}) }},
		{"get-reveal.golden", func() error { return runCredentialsGet(sys, st, credentialsOptions{name: credAPIKey, reveal: true}) }},
		{"new-token.golden", func() error { return runCredentialsNewToken(sys, st, credentialsOptions{rand: fixed}) }},
		{"list.golden", func() error { return runCredentialsList(sys, st, credentialsOptions{}) }},
		{"list-json.golden", func() error { return runCredentialsList(sys, st, credentialsOptions{json: true}) }},
		{"delete.golden", func() error { return runCredentialsDelete(sys, st, credentialsOptions{name: credAPIKey}) }},
		{"config-show-credentials.golden", func() error {
			return printCredentialSources(sys.Stdout, runSecrets{Store: st.Where(),
				APIKeySource: "env ANTHROPIC_API_KEY", TokenSource: "credential server-token (encrypted file)"})
		}},
	}
	for _, s := range steps {
		out.Reset()
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.golden, err)
		}
		checkGolden(t, s.golden, out.String())
	}
	if st[credToken] != "cco_-w_7D_sP-w_7D_sP-w_7D_sP-w_7D_sP-w_7D_sP-w8" {
		t.Errorf("stored token %q", st[credToken])
	}
}

// loadRunSecrets: credential first, then the environment, then none; an
// empty store is no error and reading it creates nothing; a damaged one is
// an error.
func TestLoadRunSecrets(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{}
	sys := &System{Stderr: &bytes.Buffer{}, Home: home, GOOS: "linux",
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Environ:   func() []string { return nil }}
	load := func() (runSecrets, error) {
		t.Helper()
		lc, err := loadConfig(sys, "", nil, false)
		if err != nil {
			t.Fatal(err)
		}
		return loadRunSecrets(sys, lc)
	}
	dataDir := filepath.Join(home, ".local", "share", "cco")

	// auto on Linux without a session bus: the file, which does not exist.
	rs, err := load()
	if err != nil || rs.APIKeySource != "none" || rs.TokenSource != "none" || !rs.APIKey.IsZero() || !rs.Token.IsZero() {
		t.Fatalf("empty: %+v, %v", rs, err)
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("loading created %s: %v", dataDir, err)
	}

	env["ANTHROPIC_API_KEY"], env["CCO_SERVER_TOKEN"] = "sk-env", "cco_env"
	rs, err = load()
	if err != nil || rs.APIKey.Reveal() != "sk-env" || rs.APIKeySource != "env ANTHROPIC_API_KEY" ||
		rs.Token.Reveal() != "cco_env" || rs.TokenSource != "env CCO_SERVER_TOKEN" {
		t.Fatalf("from env: %+v, %v", rs, err)
	}

	st, err := credentials.Open(credentials.Options{Backend: "file", Dir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Set(credAPIKey, []byte("sk-stored")); err != nil {
		t.Fatal(err)
	}
	rs, err = load()
	if err != nil || rs.APIKey.Reveal() != "sk-stored" || rs.APIKeySource != "credential anthropic-api-key (encrypted file)" ||
		rs.TokenSource != "env CCO_SERVER_TOKEN" || rs.Store != st.Where() {
		t.Fatalf("stored: %+v, %v", rs, err)
	}

	key := filepath.Join(dataDir, credentials.KeyFile)
	if err := os.WriteFile(key, bytes.Repeat([]byte{1}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := load(); err == nil || !strings.Contains(err.Error(), "cannot decrypt") {
		t.Errorf("wrong key: %v", err)
	}

	env["CCO_CREDENTIALS_BACKEND"] = "keychain"
	if _, err := load(); err == nil || errors.Is(err, credentials.ErrNotFound) || !strings.Contains(err.Error(), "credentials.backend = file") {
		t.Errorf("keychain without a bus: %v", err)
	}
}
