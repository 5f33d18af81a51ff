package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/fakeapi"
)

// ccoBin is the cco binary under test, built once for all tests.
var ccoBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cco-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ccoBin, err = ccoproc.BuildCCO(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// errorType is the Anthropic error type the fake answers with for status.
func errorType(status int) string {
	t, _ := fakeapi.ErrorType(status)
	return t
}
