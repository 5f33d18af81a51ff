package e2e

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/fakeapi"
)

// flushWait is comfortably longer than the access log's flush interval
// (logging.FlushInterval, 100 ms).
const flushWait = 600 * time.Millisecond

// At the default log level every proxied request writes one access line
// with its method, path, status, duration, cache state, model and the
// upstream's request-id, to the log file and the console alike; the lines
// reach the file within the flush interval while cco runs, and the rest
// on a graceful stop.
func TestAccessLogLinePerRequest(t *testing.T) {
	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	cco := ccoproc.StartCCO(t, ccoBin, nil, "--upstream", u.URL)
	ids := sendRequests(t, cco.URL, 40, "a")

	// While cco runs: all there after the flush interval.
	time.Sleep(flushWait)
	file := logFile(t, cco.Home)
	checkAccessLines(t, readFile(t, file), ids)

	more := sendRequests(t, cco.URL, 40, "b")
	if err := cco.Stop(); err != nil {
		t.Fatalf("cco stop: %v\n%s", err, cco.Log())
	}
	log := readFile(t, file)
	checkAccessLines(t, log, append(ids, more...))
	if last := lastLine(log); !strings.Contains(last, `msg="cco stopped"`) {
		t.Errorf("the last line should be the stop, after every access line: %q", last)
	}
	checkAccessLines(t, cco.Log(), append(ids, more...)) // the console copy
}

// kill -9 loses at most the access lines of the last flush interval: lines
// of requests answered longer ago than that are in the file.
func TestAccessLogSurvivesKill(t *testing.T) {
	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	cco := ccoproc.StartCCO(t, ccoBin, nil, "--upstream", u.URL)
	ids := sendRequests(t, cco.URL, 60, "k")
	time.Sleep(flushWait)
	if err := cco.Cmd.Process.Kill(); err != nil { // SIGKILL: no chance to flush
		t.Fatal(err)
	}
	cco.Stop() //nolint:errcheck // waits for the exit; "signal: killed" is expected
	checkAccessLines(t, readFile(t, logFile(t, cco.Home)), ids)
}

// sendRequests sends n requests, JSON and streams alternately, each with
// its own body (so that none is a cache hit), and returns the upstream's
// request-ids in order.
func sendRequests(t *testing.T, base string, n int, tag string) []string {
	t.Helper()
	var ids []string
	for i := range n {
		stream := i%2 == 1
		body := fmt.Sprintf(`{"model":"claude-haiku-4-5","max_tokens":64,"stream":%t,"messages":[{"role":"user","content":"%s %d"}]}`, stream, tag, i)
		resp := post(t, base+"/v1/messages", body, map[string]string{"X-Api-Key": "sk-ant-api03-accesslog"})
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
		ids = append(ids, resp.Header.Get("Request-Id"))
	}
	return ids
}

// checkAccessLines wants exactly one access line per request-id, in
// order, each with every field.
func checkAccessLines(t *testing.T, log string, ids []string) {
	t.Helper()
	var lines []string
	for line := range strings.SplitSeq(log, "\n") {
		if strings.Contains(line, `msg="proxy request done"`) {
			lines = append(lines, line)
		}
	}
	if len(lines) != len(ids) {
		t.Fatalf("%d requests, %d access lines:\n%s", len(ids), len(lines), log)
	}
	for i, line := range lines {
		for _, want := range []string{" level=info ", " method=POST ", " path=/v1/messages ", " status=200", " duration=", " cache=MISS ",
			" model=claude-haiku-4-5 ", " request_id=" + ids[i] + " "} {
			if !strings.Contains(line+" ", want) {
				t.Errorf("access line %d lacks %q: %s", i, want, line)
			}
		}
	}
}

// logFile finds the instance's log file under its HOME.
func logFile(t *testing.T, home string) string {
	t.Helper()
	var found []string
	filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "cco-") && strings.HasSuffix(d.Name(), ".log") {
			found = append(found, path)
		}
		return nil
	})
	if len(found) != 1 {
		t.Fatalf("want one log file under %s, found %q", home, found)
	}
	return found[0]
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:]
}
