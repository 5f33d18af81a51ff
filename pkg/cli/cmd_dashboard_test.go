package cli

import "testing"

func TestShouldOpen(t *testing.T) {
	for _, tc := range []struct {
		interactive, noBrowser, canOpen, want bool
	}{
		{true, false, true, true},
		{false, false, true, false}, // piped or a script
		{true, true, true, false},   // NO_BROWSER
		{true, false, false, false}, // nothing to open with
	} {
		if got := shouldOpen(tc.interactive, tc.noBrowser, tc.canOpen); got != tc.want {
			t.Errorf("shouldOpen(%v, %v, %v) = %v", tc.interactive, tc.noBrowser, tc.canOpen, got)
		}
	}
}
