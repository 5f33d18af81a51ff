package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/credentials/credtest"
	"github.com/visiquate/cco/pkg/fakeapi"
)

// A key stored with `cco credentials set` is what `cco run` sends upstream
// for a request that carries none, and it (and the stored access token)
// shows up nowhere else: not in the log, the state files, any other file
// under HOME, nor the process list.
func TestStoredAPIKey(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		testStoredAPIKey(t, []string{"CCO_CREDENTIALS_BACKEND=file"}, []string{"CCO_CREDENTIALS_BACKEND=file"}, "encrypted file")
	})
	t.Run("secret-service", func(t *testing.T) {
		ss := credtest.StartSecretService(t)
		// Stored with the keychain named; cco run finds it with auto.
		testStoredAPIKey(t, append(ss.Env(), "CCO_CREDENTIALS_BACKEND=keychain"), append(ss.Env(), "CCO_CREDENTIALS_BACKEND=auto"), "Secret Service")
	})
}

func testStoredAPIKey(t *testing.T, setEnv, runEnv []string, label string) {
	home := t.TempDir()
	homeEnv := []string{"HOME=" + home, "USERPROFILE=" + home,
		"APPDATA=" + filepath.Join(home, "AppData", "Roaming"), "LOCALAPPDATA=" + filepath.Join(home, "AppData", "Local"),
		"XDG_CONFIG_HOME=", "XDG_DATA_HOME=", "XDG_CACHE_HOME=", "ANTHROPIC_API_KEY=", "CCO_NO_UPDATE_CHECK=1"}
	random := make([]byte, 12)
	rand.Read(random)
	key := "sk-ant-api03-e2e-" + hex.EncodeToString(random)

	cco := func(env []string, stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(ccoBin, args...)
		cmd.Env = append(append(os.Environ(), homeEnv...), env...)
		cmd.Stdin = strings.NewReader(stdin)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cco %s: %v\n%s%s", strings.Join(args, " "), err, out, &stderr)
		}
		if strings.Contains(string(out)+stderr.String(), key) {
			t.Errorf("cco %s printed the key:\n%s%s", strings.Join(args, " "), out, &stderr)
		}
		return string(out)
	}
	cco(setEnv, key+"\n", "credentials", "set", "anthropic-api-key")
	token, _, _ := strings.Cut(cco(setEnv, "", "credentials", "new-token"), "\n")
	if !strings.HasPrefix(token, "cco_") {
		t.Fatalf("new-token printed %q first", token)
	}
	secrets := map[string]string{"the key": key, "the access token": token}
	if out := cco(runEnv, "", "config", "show"); !strings.Contains(out, "credential anthropic-api-key ("+label+")") {
		t.Fatalf("config show does not name the stored key as the source:\n%s", out)
	}

	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{Deltas: 20, EventGap: 25 * time.Millisecond}
	}})
	in := ccoproc.StartCCO(t, ccoBin, append(append(homeEnv, runEnv...), "CCO_LOG_LEVEL=debug"), "--upstream", u.URL)

	// A request with no credentials, read slowly: the checks run while it
	// is in flight.
	resp := post(t, in.URL+"/v1/messages", streamBody, nil)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s\n%s", resp.StatusCode, body, in.Log())
	}
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	reqs := u.Requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream saw %d requests", len(reqs))
	}
	if got := reqs[0].Header.Get("X-Api-Key"); got != key {
		t.Errorf("upstream saw x-api-key %q, want the stored key (is loadRunSecrets wired into cco run?)", got)
	}

	var scanned []string
	err := filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(home, path)
		scanned = append(scanned, filepath.ToSlash(rel))
		for what, v := range secrets {
			if strings.Contains(string(data), v) {
				t.Errorf("%s contains %s", rel, what)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".local/share/cco/logs/", ".local/share/cco/pids/"} {
		found := false
		for _, s := range scanned {
			found = found || strings.HasPrefix(s, want)
		}
		if !found && runtime.GOOS != "windows" {
			t.Errorf("no file under %s to scan (scanned %v)", want, scanned)
		}
	}
	var ps []byte
	if runtime.GOOS != "windows" {
		if ps, err = exec.Command("ps", "-eo", "args").Output(); err != nil {
			t.Fatal(err)
		}
	}
	for what, v := range secrets {
		if strings.Contains(in.Log(), v) {
			t.Errorf("cco's standard error contains %s", what)
		}
		if strings.Contains(string(ps), v) {
			t.Errorf("the process list contains %s", what)
		}
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
}
