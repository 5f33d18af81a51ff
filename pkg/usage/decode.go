package usage

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

const (
	// maxZstdWindow bounds the memory a zstd body may make the decoder
	// take. RFC 9659 caps the window of the zstd content coding at 8 MB.
	maxZstdWindow = 16 << 20
	// readSize is the size of the decoder goroutine's reads.
	readSize = 16 << 10
	// maxEmptyReads is how many reads in a row may return nothing before a
	// decompressor is taken to be stuck.
	maxEmptyReads = 100
)

// errBehind ends decoding when the decoder fell MaxPending bytes behind.
var errBehind = errors.New("decoder fell too far behind the relay")

// parseCodings splits a Content-Encoding value into its codings, in the
// order they were applied, leaving out identity; nil means an identity
// body. ok is false if a coding cannot be decoded or there are too many.
func parseCodings(v string) (codings []string, ok bool) {
	for part := range strings.SplitSeq(v, ",") {
		c := strings.ToLower(strings.TrimSpace(part))
		switch c {
		case "", "identity":
		case "gzip", "x-gzip", "deflate", "br", "zstd":
			codings = append(codings, c)
		default:
			return nil, false
		}
	}
	if len(codings) > maxCodings {
		return nil, false
	}
	return codings, true
}

// decoder decodes a compressed body on its own goroutine. Write appends to
// an in-memory buffer that the goroutine reads from, so the relay never
// waits for decompression; the buffer holds at most MaxPending bytes.
type decoder struct {
	mu      sync.Mutex
	ready   sync.Cond // signalled when buf grows or the state changes
	buf     []byte    // compressed bytes not yet read, from off
	off     int
	closed  bool // the body ended: no more writes
	behind  bool // the buffer outgrew MaxPending and was dropped
	stopped bool // the goroutine reads no more

	done chan struct{} // closed when the goroutine has ended
	ok   bool          // the body decoded cleanly to its end; set before done closes
}

// startDecoder starts decoding a body with the given codings into s.
func startDecoder(codings []string, s *sink) *decoder {
	d := &decoder{done: make(chan struct{})}
	d.ready.L = &d.mu
	go d.run(codings, s)
	return d
}

// write queues a copy of p for the goroutine; it does not wait for it.
func (d *decoder) write(p []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.behind || d.stopped || d.closed {
		return
	}
	pending := len(d.buf) - d.off
	if pending+len(p) > MaxPending {
		d.behind, d.buf, d.off = true, nil, 0
		d.ready.Signal()
		return
	}
	if d.off > 0 && d.off >= len(d.buf)/2 {
		n := copy(d.buf, d.buf[d.off:])
		d.buf, d.off = d.buf[:n], 0
	}
	d.buf = append(d.buf, p...)
	d.ready.Signal()
}

// Read gives the goroutine's decompressors the queued bytes, waiting for
// more until the body ends.
func (d *decoder) Read(b []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.off == len(d.buf) && !d.closed && !d.behind {
		d.ready.Wait()
	}
	if d.behind {
		return 0, errBehind
	}
	if d.off == len(d.buf) {
		return 0, io.EOF
	}
	n := copy(b, d.buf[d.off:])
	d.off += n
	if d.off == len(d.buf) {
		d.buf, d.off = d.buf[:0], 0
	}
	return n, nil
}

// finish ends the body, waits for the goroutine and reports whether the
// body decoded cleanly.
func (d *decoder) finish() bool {
	d.mu.Lock()
	d.closed = true
	d.ready.Signal()
	d.mu.Unlock()
	<-d.done
	return d.ok
}

// run is the goroutine.
func (d *decoder) run(codings []string, s *sink) {
	defer close(d.done)
	err := decodeInto(s, d, codings)
	d.mu.Lock()
	d.stopped, d.buf, d.off = true, nil, 0
	d.ok = err == nil && !d.behind
	d.mu.Unlock()
}

// decodeInto decodes src, compressed with codings, into s until the end,
// an error, or s needs no more.
func decodeInto(s *sink, src io.Reader, codings []string) error {
	r, closers, err := newReader(src, codings)
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	if err != nil {
		return err
	}
	buf := make([]byte, readSize)
	for empty := 0; ; {
		n, err := r.Read(buf)
		if n > 0 && !s.write(buf[:n]) {
			return nil
		}
		if err == io.EOF {
			return nil
		}
		if n == 0 && err == nil {
			if empty++; empty >= maxEmptyReads {
				err = io.ErrNoProgress
			}
		} else {
			empty = 0
		}
		if err != nil {
			return fmt.Errorf("decode %s body: %w", strings.Join(codings, ", "), err)
		}
	}
}

// newReader stacks the decompressors for codings on src, the last coding
// applied first, and returns the functions that release them.
func newReader(src io.Reader, codings []string) (io.Reader, []func(), error) {
	r := src
	var closers []func()
	for i := len(codings) - 1; i >= 0; i-- {
		switch codings[i] {
		case "gzip", "x-gzip":
			zr, err := gzip.NewReader(r)
			if err != nil {
				return nil, closers, fmt.Errorf("read gzip header: %w", err)
			}
			closers = append(closers, func() { _ = zr.Close() }) // releases only
			r = zr
		case "deflate":
			// HTTP's deflate is zlib, but some servers send raw deflate.
			br := bufio.NewReader(r)
			head, _ := br.Peek(2) // a short body fails in the decompressor
			if isZlibHeader(head) {
				zr, err := zlib.NewReader(br)
				if err != nil {
					return nil, closers, fmt.Errorf("read zlib header: %w", err)
				}
				closers = append(closers, func() { _ = zr.Close() })
				r = zr
			} else {
				fr := flate.NewReader(br)
				closers = append(closers, func() { _ = fr.Close() })
				r = fr
			}
		case "br":
			r = brotli.NewReader(r)
		case "zstd":
			zr, err := zstd.NewReader(r,
				zstd.WithDecoderConcurrency(1), // no goroutines of its own
				zstd.WithDecoderLowmem(true),
				zstd.WithDecoderMaxWindow(maxZstdWindow))
			if err != nil {
				return nil, closers, fmt.Errorf("start zstd decoder: %w", err)
			}
			closers = append(closers, zr.Close)
			r = zr
		default:
			return nil, closers, fmt.Errorf("content coding %q", codings[i])
		}
	}
	return r, closers, nil
}

// isZlibHeader reports whether head starts a zlib stream (RFC 1950):
// deflate with a window of at most 32 KiB, and a valid check value.
func isZlibHeader(head []byte) bool {
	if len(head) < 2 {
		return false
	}
	cmf, flg := head[0], head[1]
	return cmf&0x0f == 8 && cmf>>4 <= 7 && (uint16(cmf)<<8|uint16(flg))%31 == 0
}
