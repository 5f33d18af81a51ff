package logging

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/ccoproc"
)

const (
	apiKey   = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEf"
	oauthKey = "sk-ant-oat01-ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210"
	bearer   = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl"
	ctlToken = "3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e"
)

// Every way a secret can reach a log line comes out masked, in both formats.
func TestRedaction(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := New(Options{Level: "debug", Format: format, Out: &buf})
			if err != nil {
				t.Fatal(err)
			}
			log.Infof("forwarding with key %s", apiKey)
			log.WithField("x-api-key", apiKey).Info("header field")
			log.WithField("authorization", "Bearer "+bearer).Info("auth header")
			log.WithField("headers", map[string]string{"Authorization": "Bearer " + bearer, "X-Api-Key": oauthKey}).Debug("dump")
			log.WithError(fmt.Errorf("upstream said: invalid x-api-key: %s", apiKey)).Warn("failed")
			log.WithField("token", ctlToken).Info("control")
			log.Infof(`request {"api_key": "%s", "password":"hunter2hunter2"}`, "plainsecretvalue")
			log.Info("curl -H 'Authorization: Bearer " + bearer + "'")
			out := buf.String()
			for _, secret := range []string{apiKey, oauthKey, bearer, ctlToken, "plainsecretvalue", "hunter2hunter2", "AbCdEfGhIj"} {
				if strings.Contains(out, secret) {
					t.Errorf("secret %q leaked:\n%s", secret, out)
				}
			}
			if n := strings.Count(out, Redacted); n < 9 {
				t.Errorf("want at least 9 redactions, got %d:\n%s", n, out)
			}
			if strings.Count(out, "\n") != 8 {
				t.Errorf("want 8 lines:\n%s", out)
			}
		})
	}
}

// Redaction must not eat ordinary fields that only resemble secret names.
func TestRedactionLeavesOrdinaryText(t *testing.T) {
	in := `level=info msg="request done" input_tokens=1234 max_tokens=4096 token_count=12 path=/v1/messages status=200 model=claude-haiku-4-5`
	if got := string(Redact([]byte(in))); got != in {
		t.Errorf("changed ordinary text:\n%s\n%s", in, got)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	if _, err := New(Options{Level: "loud", Format: "text"}); err == nil {
		t.Error("bad level accepted")
	}
	if _, err := New(Options{Level: "info", Format: "xml"}); err == nil {
		t.Error("bad format accepted")
	}
	log, err := New(Options{Level: "warn", Format: "json", Out: &bytes.Buffer{}})
	if err != nil || log.GetLevel() != logrus.WarnLevel {
		t.Errorf("level: %v %v", log.GetLevel(), err)
	}
}

// Rotation with a real file: size-bounded, a bounded number of gzipped
// backups, and Tail reads back across them.
func TestRotationAndTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cco-3000.log")
	w := RotatingFile(path, 1<<20, 2, true)
	line := strings.Repeat("x", 1000)
	total := 0
	for range 5 { // five files' worth: three rotations beyond the two kept
		for range 1040 {
			total++
			fmt.Fprintf(w, "%07d %s\n", total, line)
		}
		time.Sleep(2 * time.Millisecond) // distinct backup timestamps
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// lumberjack compresses and prunes in the background.
	var files []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		files, err = FileSet(path)
		if err != nil {
			t.Fatal(err)
		}
		gz := 0
		for _, f := range files {
			if strings.HasSuffix(f, ".gz") {
				gz++
			}
		}
		if len(files) == 3 && gz == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want current + 2 gzipped backups, have %v", files)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if files[len(files)-1] != path {
		t.Fatalf("current file not last: %v", files)
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1<<20 {
			t.Errorf("%s is %d bytes, over the 1 MiB bound", f, fi.Size())
		}
	}
	// The current file holds fewer than 1100 lines; Tail reaches into the
	// gzipped backup before it, and the lines run on without a gap.
	lines, offset, err := Tail(files, 1500)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1500 {
		t.Fatalf("got %d lines", len(lines))
	}
	if !strings.HasPrefix(lines[len(lines)-1], fmt.Sprintf("%07d ", total)) {
		t.Errorf("last line %q, want number %d", lines[len(lines)-1][:10], total)
	}
	for i, l := range lines {
		if want := fmt.Sprintf("%07d ", total-1499+i); !strings.HasPrefix(l, want) {
			t.Fatalf("line %d is %q, want %q", i, l[:8], want)
		}
	}
	fi, _ := os.Stat(path)
	if offset != fi.Size() {
		t.Errorf("offset %d, file size %d", offset, fi.Size())
	}
	fi, _ = os.Stat(path)
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("log file mode %v is readable by others", fi.Mode().Perm())
	}
}

func TestFileSetOrderAndFilter(t *testing.T) {
	dir := t.TempDir()
	names := []string{
		"cco-3000-2026-11-27T10-00-00.000.log.gz",
		"cco-3000-2026-11-26T10-00-00.000.log.gz",
		"cco-3000-2026-11-27T11-00-00.000.log",
		"cco-30001.log",
		"cco-30001-2026-11-27T10-00-00.000.log",
		"cco-3000-notatime.log",
		"cco-3000.log",
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files, err := FileSet(filepath.Join(dir, "cco-3000.log"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
	}
	want := "cco-3000-2026-11-26T10-00-00.000.log.gz cco-3000-2026-11-27T10-00-00.000.log.gz cco-3000-2026-11-27T11-00-00.000.log cco-3000.log"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	if files, err := FileSet(filepath.Join(dir, "missing", "cco-1.log")); err != nil || len(files) != 0 {
		t.Errorf("missing dir: %v %v", files, err)
	}
}

func TestTailSmallFiles(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "cco-1-2026-01-01T00-00-00.000.log.gz")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("a\nb\nc\n"))
	zw.Close()
	os.WriteFile(old, gz.Bytes(), 0o600)
	cur := filepath.Join(dir, "cco-1.log")
	os.WriteFile(cur, []byte("d\ne\n"), 0o600)
	files, _ := FileSet(cur)
	for n, want := range map[int]string{1: "e", 2: "d e", 3: "c d e", 5: "a b c d e", 10: "a b c d e"} {
		lines, off, err := Tail(files, n)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(lines, " ") != want || off != 4 {
			t.Errorf("Tail %d = %q at %d, want %q at 4", n, lines, off, want)
		}
	}
	if lines, off, err := Tail(files, 0); err != nil || lines != nil || off != 4 {
		t.Errorf("Tail 0 = %q %d %v", lines, off, err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Follow sees appends, survives a rotation (rename + new file) without
// losing the old file's last lines, and starts over after a truncation.
func TestFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cco-1.log")
	if err := os.WriteFile(path, []byte("before\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out ccoproc.Buffer
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, path, int64(len("before\n")), &out, 5*time.Millisecond) }()

	appendTo := func(p, s string) {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	appendTo(path, "one\n")
	waitFor(t, "one", func() bool { return out.String() == "one\n" })

	// Rotation: the last write to the old file lands just before the rename.
	appendTo(path, "two\n")
	if err := os.Rename(path, filepath.Join(dir, "cco-1-2026-01-01T00-00-00.000.log")); err != nil {
		t.Fatal(err)
	}
	appendTo(path, "three\n")
	waitFor(t, "three", func() bool { return out.String() == "one\ntwo\nthree\n" })

	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	appendTo(path, "4\n")
	waitFor(t, "after truncation", func() bool { return out.String() == "one\ntwo\nthree\n4\n" })

	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Follow did not stop on cancel")
	}
}
