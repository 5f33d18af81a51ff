package secret

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	const key = "sk-ant-api03-verysecretvalue"
	s := New(key)
	outs := []string{
		s.String(), fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x %X %d", s, s, s, s, s, s, s, s),
		fmt.Sprintf("%v", struct{ K Secret }{s}), fmt.Sprintf("%+v", &struct{ K Secret }{s}),
	}
	b, err := json.Marshal(struct{ K Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(b))
	for _, o := range outs {
		if strings.Contains(o, "verysecret") {
			t.Errorf("leaked: %s", o)
		}
	}
	if s.Reveal() != key || s.IsZero() || !New("").IsZero() || New("").String() != "" {
		t.Error("Reveal/IsZero wrong")
	}
}
