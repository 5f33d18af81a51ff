package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/golden"
)

// cco stats prints each set limit's state, times in the instance's zone
// (the report's "to").
func TestPrintLimits(t *testing.T) {
	daily := time.Date(2026, 6, 11, 4, 0, 0, 0, time.UTC) // midnight in New York
	monthly := time.Date(2026, 7, 1, 4, 0, 0, 0, time.UTC)
	s := &control.Stats{To: "2026-06-10T20:48:00-04:00", Limits: control.Limits{
		"daily":   {USD: 10, SpentUSD: 10.02, SpentNanoUSD: 10_020_000_000, Percent: 100.2, State: control.LimitBlocked, ResetsAt: &daily},
		"monthly": {USD: 250, SpentUSD: 210.5, SpentNanoUSD: 210_500_000_000, Percent: 84.2, State: control.LimitWarn, ResetsAt: &monthly},
		"block":   {USD: 5, State: control.LimitOK},
	}}
	var out bytes.Buffer
	printLimits(&out, s)
	golden.Check(t, filepath.Join("testdata", "stats", "limits.golden"), out.Bytes())

	out.Reset()
	printLimits(&out, &control.Stats{To: s.To})
	if out.Len() != 0 {
		t.Errorf("no limits set: %q", out.String())
	}
}

// The status line marks a limit at 80% and one reached.
func TestStatusLineLimitMarks(t *testing.T) {
	base := control.StatusLine{TodayCostNanoUSD: 8_460_000_000}
	if got := formatStatusLine(base); got != "cco today $8.46" {
		t.Errorf("no limits: %q", got)
	}
	base.Limits = control.Limits{"daily": {USD: 10, Percent: 84.6, State: control.LimitWarn}, "monthly": {USD: 100, Percent: 20, State: control.LimitOK}}
	if got := formatStatusLine(base); got != "cco today $8.46 · ⚠ daily 84%" {
		t.Errorf("at 84%%: %q", got)
	}
	base.Limits["block"] = control.Limit{USD: 2, Percent: 101, State: control.LimitBlocked}
	if got := formatStatusLine(base); got != "cco today $8.46 · ⛔ block limit · ⚠ daily 84%" {
		t.Errorf("a block limit reached: %q", got)
	}
}

// The running instance reads the limits again as they were resolved at
// start: a changed file counts, the environment still wins over it, and a
// file that no longer reads is an error that keeps the last limits.
func TestLimitsReloader(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	os.WriteFile(path, []byte("[limits]\ndaily_usd = 10\n"), 0o600)
	env := map[string]string{"CCO_CONFIG": path}
	sys, _, _ := statusLineSys(t, dir, "")
	sys.LookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	lc, err := loadConfig(sys, "", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	reload := limitsReloader(sys, lc, nil)
	if ls, err := reload(); err != nil || ls != (config.Limits{DailyUSD: 10}) {
		t.Fatalf("unchanged: %+v %v", ls, err)
	}
	set := func(key, value string) {
		data, _ := config.ReadFile(path)
		out, err := config.SetValue(path, data, key, value)
		if err != nil {
			t.Fatal(err)
		}
		if err := config.WriteFile(path, out); err != nil {
			t.Fatal(err)
		}
	}
	set("limits.daily_usd", "20")
	set("limits.block_usd", "2.5")
	if ls, err := reload(); err != nil || ls != (config.Limits{DailyUSD: 20, BlockUSD: 2.5}) {
		t.Errorf("raised: %+v %v", ls, err)
	}
	os.WriteFile(path, []byte("[limits]\ndaily_usd = -1\n"), 0o600)
	if ls, err := reload(); err == nil || !strings.Contains(err.Error(), "config.toml:2: limits.daily_usd") || ls != (config.Limits{DailyUSD: 20, BlockUSD: 2.5}) {
		t.Errorf("broken file: %+v %v", ls, err)
	}
	os.Remove(path)
	if ls, err := reload(); err != nil || ls != (config.Limits{}) {
		t.Errorf("file removed: %+v %v", ls, err)
	}

	env["CCO_LIMITS_DAILY_USD"] = "5"
	os.WriteFile(path, []byte("[limits]\ndaily_usd = 10\n"), 0o600)
	lc, err = loadConfig(sys, "", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	reload = limitsReloader(sys, lc, nil)
	set("limits.daily_usd", "50")
	if ls, err := reload(); err != nil || ls.DailyUSD != 5 {
		t.Errorf("the environment lost to the file: %+v %v", ls, err)
	}
}
