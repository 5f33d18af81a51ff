package logging

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// backupTimeFormat is the timestamp lumberjack puts in rotated file names:
// cco-3000.log becomes cco-3000-2026-11-27T21-30-00.000.log(.gz).
const backupTimeFormat = "2006-01-02T15-04-05.000"

// FileSet returns the log files of one instance, oldest first: the rotated
// backups (plain or gzipped) and then the current file, if it exists.
func FileSet(current string) ([]string, error) {
	dir := filepath.Dir(current)
	ext := filepath.Ext(current)
	prefix := strings.TrimSuffix(filepath.Base(current), ext) + "-"
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list logs: %w", err)
	}
	type backup struct {
		path string
		at   time.Time
	}
	var backups []backup
	for _, e := range entries {
		name := e.Name()
		stamp, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		stamp = strings.TrimSuffix(stamp, ".gz")
		stamp, ok = strings.CutSuffix(stamp, ext)
		if !ok {
			continue
		}
		at, err := time.Parse(backupTimeFormat, stamp)
		if err != nil {
			continue
		}
		backups = append(backups, backup{filepath.Join(dir, name), at})
	}
	sort.Slice(backups, func(i, j int) bool { return backups[i].at.Before(backups[j].at) })
	files := make([]string, 0, len(backups)+1)
	for _, b := range backups {
		files = append(files, b.path)
	}
	if _, err := os.Stat(current); err == nil {
		files = append(files, current)
	}
	return files, nil
}

// Tail returns the last n lines across files (oldest first, as FileSet
// lists them), reading back into rotated files when the newest holds fewer
// than n lines. It also returns the size of the newest file at the moment
// it was read, where Follow should continue.
func Tail(files []string, n int) (lines []string, offset int64, err error) {
	if n <= 0 {
		if len(files) == 0 {
			return nil, 0, nil
		}
		fi, err := os.Stat(files[len(files)-1])
		if err != nil {
			return nil, 0, fmt.Errorf("read log: %w", err)
		}
		return nil, fi.Size(), nil
	}
	for i := len(files) - 1; i >= 0 && len(lines) < n; i-- {
		last, size, err := lastLines(files[i], n-len(lines))
		if err != nil {
			return nil, 0, err
		}
		if i == len(files)-1 {
			offset = size
		}
		lines = append(last, lines...)
	}
	return lines, offset, nil
}

// lastLines returns the last n lines of a file, gunzipping .gz files, and
// the number of bytes read.
func lastLines(path string, n int) ([]string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("read log: %w", err)
	}
	defer f.Close()
	counted := &countingReader{r: f}
	var r io.Reader = counted
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(counted)
		if err != nil {
			return nil, 0, fmt.Errorf("read log %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	ring := make([]string, n)
	count := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		ring[count%n] = sc.Text()
		count++
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("read log %s: %w", path, err)
	}
	if count <= n {
		return ring[:count], counted.n, nil
	}
	start := count % n
	return append(ring[start:], ring[:start]...), counted.n, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Follow copies what is appended to path from offset on to w until ctx is
// done, checking every poll. When the file is rotated away it finishes the
// old file and continues with the new one; when it is truncated it starts
// over from the top.
//
// Polling is deliberate: it behaves the same on every OS and file system,
// costs nothing measurable at this rate, and needs no watcher dependency.
func Follow(ctx context.Context, path string, offset int64, w io.Writer, poll time.Duration) error {
	f, err := openAt(path, offset)
	if err != nil {
		return err
	}
	defer func() { f.Close() }()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		if _, err := io.Copy(w, f); err != nil {
			return fmt.Errorf("follow log: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		now, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // between rotation's rename and the new file
		}
		if err != nil {
			return fmt.Errorf("follow log: %w", err)
		}
		open, err := f.Stat()
		if err != nil {
			return fmt.Errorf("follow log: %w", err)
		}
		pos, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			return fmt.Errorf("follow log: %w", err)
		}
		switch {
		case !os.SameFile(now, open): // rotated: drain the old file, then switch
			if _, err := io.Copy(w, f); err != nil {
				return fmt.Errorf("follow log: %w", err)
			}
			f.Close()
			if f, err = openAt(path, 0); err != nil {
				return err
			}
		case now.Size() < pos: // truncated
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return fmt.Errorf("follow log: %w", err)
			}
		}
	}
}

func openAt(path string, offset int64) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("follow log: %w", err)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("follow log: %w", err)
	}
	return f, nil
}
