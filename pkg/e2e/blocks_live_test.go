package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/fakeapi"
)

// liveUsage is what the fake answers each request of the live tests with:
// Haiku 4.5 at $1 and $5 per million input and output tokens, so each
// request is 1,500 tokens and 1000×1000 + 500×5000 nano-dollars ($0.0035).
var liveUsage = fakeapi.Usage{Input: 1000, Output: 500}

// liveRequest sends one request through cco (never a cache hit).
func liveRequest(t *testing.T, base string) {
	t.Helper()
	resp := post(t, base+"/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"x-api-key": "sk-ant-api03-live", "cache-control": "no-cache"})
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("request through cco: status %d", resp.StatusCode)
	}
}

// tmuxPane is a shell command running in a pane of a private tmux server.
type tmuxPane struct {
	t    *testing.T
	sock string
}

// startTmux runs command with sh in a 100×30 pane of a new tmux server of
// its own (its socket under a temporary folder), in env; the server is
// killed when the test ends. tmux is a real terminal: it gives the command
// a pseudo-terminal and keeps the screen that capture-pane shows.
func startTmux(t *testing.T, env []string, command string) *tmuxPane {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("tmux is Unix's")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the live view's terminal test needs tmux on CI (apt-get install tmux)")
		}
		t.Skip("needs tmux")
	}
	dir, err := os.MkdirTemp("", "tmux") // short: a socket's path is at most about 100 bytes
	if err != nil {
		t.Fatal(err)
	}
	p := &tmuxPane{t: t, sock: filepath.Join(dir, "s")}
	t.Cleanup(func() {
		exec.Command("tmux", "-S", p.sock, "kill-server").Run() //nolint:errcheck // it may be gone
		os.RemoveAll(dir)
	})
	cmd := exec.Command("tmux", "-S", p.sock, "-f", "/dev/null", "new-session", "-d", "-x", "100", "-y", "30", "-s", "live", "sh", "-c", command)
	cmd.Env = append(env, "TERM=xterm-256color")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	return p
}

func (p *tmuxPane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", p.sock}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is what the pane shows now.
func (p *tmuxPane) screen() string { return p.tmux("capture-pane", "-p", "-t", "live") }

// flags are tmux's view of the terminal: whether the alternate screen is on
// and the cursor shown, "1 0" while the view runs.
func (p *tmuxPane) flags() string {
	return strings.TrimSpace(p.tmux("display-message", "-p", "-t", "live", "#{alternate_on} #{cursor_flag}"))
}

// waitScreen polls the pane until it shows all of want, failing after 15 s.
func (p *tmuxPane) waitScreen(what string, want ...string) string {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := p.screen()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: the pane never showed %q:\n%s", what, want, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// liveShell runs the view in sh, then says how it exited and whether the
// terminal's settings are as before, and keeps the pane open.
func liveShell() string {
	return fmt.Sprintf(`before=$(stty -g); %q stats blocks --live; code=$?; `+
		`if [ "$(stty -g)" = "$before" ]; then tty=restored; else tty=changed; fi; `+
		`echo "exit=$code tty=$tty"; exec sleep 600`, ccoBin)
}

// TestBlocksLiveTerminal: `cco stats blocks --live` in a real terminal
// (tmux) draws the active block, shows a request that passes through cco
// within moments, says so when the instance stops, and q or Ctrl-C ends it
// with exit 0, the alternate screen left, the cursor shown and the
// terminal's settings put back.
func TestBlocksLiveTerminal(t *testing.T) {
	for _, quit := range []string{"q", "C-c"} {
		t.Run(quit, func(t *testing.T) {
			u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
				return fakeapi.Scenario{Usage: liveUsage}
			}})
			cco := ccoproc.StartCCO(t, ccoBin, nil, "--upstream", u.URL)
			p := startTmux(t, ccoproc.Env(cco.Home), liveShell())

			p.waitScreen("no request yet", "cco · active 5-hour block", "No active block", "live · ")
			if f := p.flags(); f != "1 0" {
				t.Errorf("while the view runs, alternate screen and cursor flags %q, want \"1 0\"", f)
			}
			liveRequest(t, cco.URL)
			p.waitScreen("one request", "Requests   1 · 0 errors", "Tokens     1,500", "Cost       $0.0035", "claude-haiku-4-5")
			liveRequest(t, cco.URL)
			s := p.waitScreen("two requests", "Requests   2 · 0 errors", "Tokens     3,000", "Cost       $0.007 ")
			for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
				if n := len([]rune(line)); n > 100 {
					t.Errorf("a line of %d columns in a 100-column pane: %q", n, line)
				}
			}
			if quit == "C-c" { // narrower: the compact lines, at once (SIGWINCH)
				p.tmux("resize-window", "-t", "live", "-x", "40")
				p.waitScreen("40 columns", "cco block · live · ", "reqs   2 · 0 err · 0 cached")
			}
			if quit == "q" {
				cco.Stop() //nolint:errcheck // how it exits is not this test's
				p.waitScreen("the instance stopped", "instance stopped, retrying…", "Requests   2")
			}

			p.tmux("send-keys", "-t", "live", quit)
			s = p.waitScreen("the view ended", "exit=")
			if !strings.Contains(s, "exit=0 tty=restored") {
				t.Errorf("after %s: %q", quit, s)
			}
			if strings.Contains(s, "5-hour block") {
				t.Errorf("the view is still on the screen after %s:\n%s", quit, s)
			}
			if f := p.flags(); f != "0 1" {
				t.Errorf("after %s, alternate screen and cursor flags %q, want \"0 1\"", quit, f)
			}
		})
	}
}

// TestBlocksLivePlain: not on a terminal, `cco stats blocks --live` prints
// a plain line at the start and one when a request passes, with no escape
// sequences, and SIGINT ends it with exit 0.
func TestBlocksLivePlain(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sends SIGINT")
	}
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{Usage: liveUsage}
	}})
	cco := ccoproc.StartCCO(t, ccoBin, nil, "--upstream", u.URL)
	cmd := exec.Command(ccoBin, "stats", "blocks", "--live")
	cmd.Env = ccoproc.Env(cco.Home)
	var stderr ccoproc.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var got []string
	next := func(what string) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("%s: the output ended: %q\n%s", what, got, stderr.String())
			}
			got = append(got, l)
			return l
		case <-time.After(15 * time.Second):
			t.Fatalf("%s: no line: %q", what, got)
		}
		return ""
	}
	if l := next("start"); !strings.HasSuffix(l, " no active block") {
		t.Errorf("first line %q", l)
	}
	liveRequest(t, cco.URL)
	if l := next("request"); !strings.Contains(l, ": 1 request, 1,500 tokens, $0.0035;") {
		t.Errorf("line after a request %q", l)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for l := range lines {
		got = append(got, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGINT: %v\n%s", err, stderr.String())
	}
	if out := strings.Join(got, "\n"); strings.Contains(out, "\x1b") {
		t.Errorf("escape sequences in plain output: %q", out)
	}
}
