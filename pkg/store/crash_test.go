package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// crashChildEnv names the database TestCrashChild writes to; unset, that
// test does nothing.
const crashChildEnv = "CCO_STORE_CRASH_CHILD_DB"

// TestCrash kills a real process that is writing rows (SIGKILL: no deferred
// code, no Close) and checks that the database it leaves is sound and holds
// every row the process had seen committed.
func TestCrash(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL is a Unix signal")
	}
	path := filepath.Join(t.TempDir(), "analytics.db")
	// Three rounds on one file: each child starts from the wreck the last
	// one left.
	var before int64
	for round := range 3 {
		last := crashChild(t, path, 2000)
		db := rawDB(t, path)
		var check string
		if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
			t.Fatalf("round %d: integrity_check = %q, %v", round, check, err)
		}
		n := queryInt(t, db, "SELECT count(*) FROM requests")
		t.Logf("round %d: killed after the child reported %d rows committed; %d of its rows survived", round, last, n-before)
		if n-before < last {
			t.Errorf("round %d: %d rows survived, the child had reported %d committed", round, n-before, last)
		}
		db.Close()
		before = n
	}
	// What a restarted cco sees.
	s := openStore(t, Options{Path: path})
	if got := rowCount(t, s); got != before {
		t.Errorf("the store sees %d rows, the raw file %d", got, before)
	}
}

// crashChild runs TestCrashChild on path until it reports at least enough
// rows committed, kills it with SIGKILL (no deferred code, no Close) and
// returns the last count it reported.
func crashChild(t *testing.T, path string, enough int64) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var last int64
	sc := bufio.NewScanner(out)
	for last < enough && sc.Scan() {
		n, ok := strings.CutPrefix(sc.Text(), "written ")
		if !ok {
			continue
		}
		if last, err = strconv.ParseInt(n, 10, 64); err != nil {
			cmd.Process.Kill()
			t.Fatalf("child said %q", sc.Text())
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	err = cmd.Wait()
	if last < enough {
		t.Fatalf("child stopped after reporting %d rows: %v, %v", last, sc.Err(), err)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != -1 {
		t.Fatalf("child exit = %v, want killed by a signal", err)
	}
	return last
}

// TestCrashChild is TestCrash's victim: it records rows until it is killed
// and prints Written each time a flush commits more.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("runs as TestCrash's child process")
	}
	s, err := Open(context.Background(), Options{
		Path: path, FlushInterval: 50 * time.Millisecond,
		OnError: func(err error) { fmt.Fprintln(os.Stderr, "child:", err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := 0; ; i++ {
			if !s.Record(row(i)) {
				time.Sleep(time.Millisecond)
			}
			if i%5 == 0 {
				// A few rows a ms: the 50ms interval, not a full
				// batch, commits them, a few hundred at a time.
				time.Sleep(time.Millisecond)
			}
		}
	}()
	// The parent should kill us within seconds; give up on our own if it
	// never does, rather than linger.
	deadline := time.Now().Add(time.Minute)
	var reported int64
	for time.Now().Before(deadline) {
		if w := s.Written(); w != reported {
			reported = w
			fmt.Printf("written %d\n", w)
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("not killed within a minute")
}
