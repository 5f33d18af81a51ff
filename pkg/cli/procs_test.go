package cli

import (
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestGCPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 100},          // nothing measured yet
		{4 * mib, 400},    // a relaying daemon: 16 MiB of headroom
		{5 * mib, 320},    // rounded down
		{16 * mib, 100},   // the floor is the heap itself
		{900 * mib, 100},  // a full cache: GOGC's default
		{1024, 10000},     // capped
		{16*mib - 1, 100}, // just under: 100.00...
		{8*mib + 1, 199},  // just over half
		{uint64(0.5 * mib), 3200},
	} {
		if got := gcPercent(c.live, 16*mib); got != c.want {
			t.Errorf("gcPercent(%d) = %d, want %d", c.live, got, c.want)
		}
	}
}

// TestGCFloorSetsGOGC: after a collection the floor has raised GOGC for
// a small heap, and stopping it restores the default. It runs in a child
// process: the daemons other tests run in this one start their own floor.
func TestGCFloorSetsGOGC(t *testing.T) {
	if os.Getenv("CCO_TEST_GC_FLOOR") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestGCFloorSetsGOGC$", "-test.v")
		cmd.Env = append(os.Environ(), "CCO_TEST_GC_FLOOR=1", "GOGC=")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestGCFloorSetsGOGC") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	current := func() int {
		old := debug.SetGCPercent(100)
		debug.SetGCPercent(old)
		return old
	}
	if got := current(); got != 100 {
		t.Fatalf("GOGC is %d before the floor; the test needs the default", got)
	}
	stop := startGCFloor(1 << 30) // far above this binary's live heap
	defer stop()
	deadline := time.Now().Add(10 * time.Second)
	for current() <= 100 {
		if time.Now().After(deadline) {
			t.Fatal("GOGC still 100 ten seconds after collections began")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // cleanups run on their own goroutine
	}
	stop()
	if got := current(); got != 100 {
		t.Errorf("after stop GOGC is %d, want 100", got)
	}
}
