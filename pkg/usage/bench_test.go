package usage

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"testing"
)

// benchStream returns a 40-event stream (message_start, a ping, a text
// block of 34 deltas, message_delta, message_stop), one event per slice,
// as the relay writes them: one Write per flushed event.
func benchStream() [][]byte {
	var events [][]byte
	add := func(name, data string) {
		events = append(events, fmt.Appendf(nil, "event: %s\ndata: %s\n\n", name, data))
	}
	add("message_start", `{"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":2095,"cache_creation_input_tokens":2500,"cache_read_input_tokens":41250,"cache_creation":{"ephemeral_5m_input_tokens":500,"ephemeral_1h_input_tokens":2000},"output_tokens":1,"service_tier":"standard"}}}`)
	add("ping", `{"type": "ping"}`)
	add("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	for i := range 34 {
		add("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"word %d of a reasonably sized streamed answer, "}}`, i))
	}
	add("content_block_stop", `{"type":"content_block_stop","index":0}`)
	add("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":2095,"cache_creation_input_tokens":2500,"cache_read_input_tokens":41250,"output_tokens":503}}`)
	add("message_stop", `{"type":"message_stop"}`)
	return events
}

// gzipPerEvent compresses events as a server that flushes its gzip
// writer after each event sends them: one compressed chunk per event.
func gzipPerEvent(b *testing.B, events [][]byte) [][]byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	var chunks [][]byte
	for i, ev := range events {
		if _, err := zw.Write(ev); err != nil {
			b.Fatal(err)
		}
		var err error
		if i == len(events)-1 {
			err = zw.Close()
		} else {
			err = zw.Flush()
		}
		if err != nil {
			b.Fatal(err)
		}
		chunks = append(chunks, bytes.Clone(out.Bytes()))
		out.Reset()
	}
	return chunks
}

// BenchmarkTapSSE measures a Tap on a 40-event stream written one event
// per Write, and reports the cost per event.
func BenchmarkTapSSE(b *testing.B) {
	events := benchStream()
	for _, bc := range []struct {
		name, encoding string
		chunks         [][]byte
		capture        int
	}{
		{"identity", "", events, 0},
		{"identity_capture", "", events, 1 << 20},
		{"gzip", "gzip", gzipPerEvent(b, events), 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			size := 0
			for _, c := range bc.chunks {
				size += len(c)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				tap := NewTap("text/event-stream", bc.encoding, bc.capture)
				for _, c := range bc.chunks {
					tap.Write(c)
				}
				if u := tap.Finish(); !u.Complete {
					b.Fatalf("incomplete: %+v", u)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
		})
	}
}

// BenchmarkTapJSON measures a Tap on a non-streaming message of about
// 5 KB, in one Write.
func BenchmarkTapJSON(b *testing.B) {
	text := bytes.Repeat([]byte("All work and no play makes Jack a dull boy. "), 100)
	body := fmt.Appendf(nil, `{"id":"msg_01EcyWo6m4hyW8KHs2y2pei5","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[{"type":"text","text":%q}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2095,"cache_creation_input_tokens":2500,"cache_read_input_tokens":12000,"cache_creation":{"ephemeral_5m_input_tokens":500,"ephemeral_1h_input_tokens":2000},"output_tokens":503,"service_tier":"standard"}}`, text)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	for _, bc := range []struct {
		name, encoding string
		body           []byte
	}{
		{"identity", "", body},
		{"gzip", "gzip", gz.Bytes()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				tap := NewTap("application/json", bc.encoding, 0)
				tap.Write(bc.body)
				if u := tap.Finish(); !u.Complete {
					b.Fatalf("incomplete: %+v", u)
				}
			}
		})
	}
}
