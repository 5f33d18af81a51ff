package usage

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/visiquate/cco/pkg/pricing"
)

// outcome is what the usage code takes from a decoded object: its values,
// not whether a pointer to an empty value was allocated (encoding/json
// allocates one for a field of the wrong type, the scan does not; the
// usage code reads both the same).
type outcome struct {
	Err                       bool
	Type, Model, ErrType      string
	StopReason, DeltaStop     string
	HasErr                    bool
	Tokens, MessageTokens     pricing.Tokens
	MessageType, MessageModel string
	MessageStop               string
	HasMessage                bool
}

func outcomeOf(w wireEvent, err error) outcome {
	o := outcome{Err: err != nil, Type: w.Type}
	applyUsage(&o.Tokens, w.Usage)
	if w.Delta != nil && w.Delta.StopReason != nil {
		o.DeltaStop = *w.Delta.StopReason
	}
	if w.Error != nil {
		o.ErrType, o.HasErr = w.Error.Type, w.Error.Type != ""
	}
	if m := w.Message; m != nil {
		o.HasMessage = m.Type != "" || m.Model != "" || m.StopReason != nil || m.Usage != nil
		o.MessageType, o.MessageModel = m.Type, m.Model
		applyUsage(&o.MessageTokens, m.Usage)
		if m.StopReason != nil {
			o.MessageStop = *m.StopReason
		}
	}
	return o
}

func messageOutcome(m wireMessage, err error) outcome {
	o := outcomeOf(wireEvent{Type: m.Type, Usage: m.Usage, Error: m.Error}, err)
	o.Model = m.Model
	if m.StopReason != nil {
		o.StopReason = *m.StopReason
	}
	return o
}

// compareScan checks that the gjson scan reads data as json.Unmarshal does,
// as an event's data and as a JSON body.
func compareScan(t *testing.T, data []byte) {
	t.Helper()
	var we wireEvent
	err := json.Unmarshal(data, &we)
	if got, want := outcomeOf(decodeEvent(data)), outcomeOf(we, err); got != want {
		t.Errorf("event %q:\n gjson         %+v\n encoding/json %+v", data, got, want)
	}
	var wm wireMessage
	err = json.Unmarshal(data, &wm)
	if got, want := messageOutcome(decodeMessage(data)), messageOutcome(wm, err); got != want {
		t.Errorf("message %q:\n gjson         %+v\n encoding/json %+v", data, got, want)
	}
}

var scanSeeds = []string{
	`{"type":"message","model":"claude-haiku-4-5","stop_reason":"end_turn","content":[{"type":"text","text":"hi \"there\""}],"usage":{"input_tokens":5,"output_tokens":1}}`,
	`{"type":"message_start","message":{"id":"m","type":"message","model":"claude-sonnet-4-5","stop_reason":null,"usage":{"input_tokens":2095,"cache_creation_input_tokens":2500,"cache_read_input_tokens":41250,"cache_creation":{"ephemeral_5m_input_tokens":500,"ephemeral_1h_input_tokens":2000},"output_tokens":1}}}`,
	`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":503}}`,
	`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
	`{"type":"error","error":{"message":"no type"}}`,
	`{"type":"error","error":5}`,
	`{"type":5,"model":"m","usage":{"input_tokens":1}}`,
	`{"model":["x"],"usage":{"input_tokens":"7","output_tokens":-3,"cache_read_input_tokens":1.9e3}}`,
	`{"usage":{"input_tokens":1},"usage":{"output_tokens":2}}`,
	`{"usage":{"input_tokens":1},"usage":null}`,
	`{"USAGE":{"Input_Tokens":4},"Model":"upper","TYPE":"message"}`,
	`{"usage":{"input_tokens":1e400,"output_tokens":null}}`,
	`{"message":5,"delta":"x","usage":[1],"error":null}`,
	`{"message":null,"delta":{"stop_reason":7}}`,
	`{"model":"bad \xff utf8","type":"message"}`,
	`{"model":"esc \u00e9 \ud83d\ude00","type":"message"}`,
	`{"usage":{"cache_creation_input_tokens":10,"cache_creation":{"ephemeral_1h_input_tokens":4}}}`,
	`{"usage":{"cache_creation":5}}`,
	`null`, `[]`, `"s"`, `5`, ``, `{`, `{"a":}`, `{"type":"message"} x`, ` {"type":"message"} `,
	`{"type":"message","model":"m"`,
}

func TestScanMatchesEncodingJSON(t *testing.T) {
	for _, s := range scanSeeds {
		compareScan(t, []byte(s))
	}
	// Every event and body in the fixtures.
	files, _ := filepath.Glob("testdata/*.*")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		compareScan(t, data)
		for i := 0; i < len(data); {
			j := i
			for j < len(data) && data[j] != '\n' {
				j++
			}
			if line := data[i:j]; len(line) > 6 && string(line[:6]) == "data: " {
				compareScan(t, line[6:])
			}
			i = j + 1
		}
	}
}

// FuzzScan compares the gjson scan with encoding/json on any input.
func FuzzScan(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareScan(t, data)
	})
}
