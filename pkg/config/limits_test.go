package config

import (
	"errors"
	"strings"
	"testing"
)

// Spend limits: unset by default, read from the file, the environment
// (CCO_LIMITS_*) or `config set`, and a negative or non-numeric amount is
// refused with the file's line or the variable's name.
func TestLimits(t *testing.T) {
	r, err := Resolve(Input{Paths: testPaths})
	if err != nil {
		t.Fatal(err)
	}
	if r.Config.Limits != (Limits{}) {
		t.Errorf("default limits %+v, want none", r.Config.Limits)
	}
	lookupEnv, environ := envOf("CCO_LIMITS_MONTHLY_USD", "$250")
	r, err = Resolve(Input{Paths: testPaths, ConfigPath: "c.toml", LookupEnv: lookupEnv, Environ: environ,
		ConfigData: []byte("[limits]\ndaily_usd = 10\nblock_usd = 2.5\nmonthly_usd = 100\n")})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Limits{DailyUSD: 10, MonthlyUSD: 250, BlockUSD: 2.5}); r.Config.Limits != want {
		t.Errorf("limits %+v, want %+v", r.Config.Limits, want)
	}
	if src := r.Sources["limits.monthly_usd"]; src.String() != "env CCO_LIMITS_MONTHLY_USD" {
		t.Errorf("monthly from %v", src)
	}
	if v, _ := r.Value("limits.block_usd"); v != "2.5" {
		t.Errorf("config get limits.block_usd = %q", v)
	}
	if len(r.Warnings) > 0 {
		t.Errorf("warnings: %v", r.Warnings)
	}

	for _, tt := range []struct {
		file string
		env  []string
		want string
	}{
		{file: "[limits]\n\ndaily_usd = -5\n", want: `config c.toml:3: limits.daily_usd: "-5": a spend limit cannot be negative (0 means no limit)`},
		{file: "[limits]\nmonthly_usd = -0.01\n", want: `config c.toml:2: limits.monthly_usd: "-0.01": a spend limit cannot be negative`},
		{file: "[limits]\nblock_usd = \"ten\"\n", want: `config c.toml:2: limits.block_usd: "ten" is not an amount of US dollars (such as 10 or 12.50)`},
		{file: "[limits]\nblock_usd = nan\n", want: `config c.toml:2: limits.block_usd: "nan" is not an amount of US dollars`},
		{file: "[limits]\ndaily_usd = inf\n", want: `config c.toml:2: limits.daily_usd: "inf" is not an amount of US dollars`},
		{file: "[limits]\ndaily_usd = 1e12\n", want: `limits.daily_usd: "1e12" is above the largest limit, 1000000000`},
		{env: []string{"CCO_LIMITS_DAILY_USD", "-1"}, want: `CCO_LIMITS_DAILY_USD: limits.daily_usd: "-1": a spend limit cannot be negative`},
	} {
		lookupEnv, environ := envOf(tt.env...)
		in := Input{Paths: testPaths, ConfigPath: "c.toml", LookupEnv: lookupEnv, Environ: environ}
		if tt.file != "" {
			in.ConfigData = []byte(tt.file)
		}
		_, err := Resolve(in)
		var ce *Error
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q %v: error %v\nwant %q", tt.file, tt.env, err, tt.want)
		}
	}
}

// `config set` writes a limit as a TOML number, which reads back as set.
func TestSetLimit(t *testing.T) {
	for _, tt := range []struct{ value, want string }{
		{"10", "[limits]\ndaily_usd = 10\n"},
		{"12.50", "[limits]\ndaily_usd = 12.5\n"},
		{"$7", "[limits]\ndaily_usd = 7\n"},
		{"0", "[limits]\ndaily_usd = 0\n"},
	} {
		got, err := SetValue("c.toml", nil, "limits.daily_usd", tt.value)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("set %s: got %q, want %q", tt.value, got, tt.want)
		}
		if _, err := Resolve(Input{Paths: testPaths, ConfigPath: "c.toml", ConfigData: got}); err != nil {
			t.Errorf("set %s: %v", tt.value, err)
		}
	}
	if _, err := SetValue("c.toml", nil, "limits.daily_usd", "-3"); err == nil || !strings.Contains(err.Error(), "limits.daily_usd: \"-3\": a spend limit cannot be negative") {
		t.Errorf("set -3: %v", err)
	}
}
