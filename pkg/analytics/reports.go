package analytics

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/store"
)

// ReportSource is what PeriodReport reads; *store.Store is one.
type ReportSource interface {
	Days(ctx context.Context, from, to time.Time, loc *time.Location) ([]store.DayTotals, error)
	Groups(ctx context.Context, by string, from, to time.Time) ([]store.GroupTotals, error)
}

// Span is a report's range, resolved: [From, To) with its days, weeks
// and months in Loc, weeks starting on WeekStart.
type Span struct {
	From, To  time.Time
	Loc       *time.Location
	WeekStart time.Weekday
}

// Resolve turns a query into a Span at now; def is the zone when the
// query names none. The errors are the user's (a bad date, zone or day).
func Resolve(q control.ReportQuery, now time.Time, def *time.Location) (Span, error) {
	sp := Span{Loc: def, WeekStart: time.Sunday}
	if q.TimeZone != "" {
		loc, err := LoadZone(q.TimeZone)
		if err != nil {
			return sp, err
		}
		sp.Loc = loc
	}
	if q.StartOfWeek != "" {
		d, err := Weekday(q.StartOfWeek)
		if err != nil {
			return sp, err
		}
		sp.WeekStart = d
	}
	var err error
	sp.From, sp.To, err = Dates(q.Since, q.Until, now, sp.Loc)
	return sp, err
}

// LoadZone loads an IANA time zone ("Europe/Paris", "UTC").
func LoadZone(name string) (*time.Location, error) {
	// time.LoadLocation also takes "Local" and "", which mean this
	// machine's zone: a report asked of a remote instance must not
	// depend on where it runs.
	if name == "Local" {
		return nil, fmt.Errorf("time zone %q: give an IANA name such as Europe/Paris or UTC", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q is not an IANA zone name (such as Europe/Paris or UTC)", name)
	}
	return loc, nil
}

// Weekday reads a day's English name ("monday", "Mon").
func Weekday(name string) (time.Weekday, error) {
	n := strings.ToLower(name)
	for d := time.Sunday; d <= time.Saturday; d++ {
		full := strings.ToLower(d.String())
		if n == full || n == full[:3] {
			return d, nil
		}
	}
	return 0, fmt.Errorf("start of week %q is not a day (sunday ... saturday)", name)
}

// PeriodReport builds the /api/stats/{daily,weekly,monthly,session} body.
func PeriodReport(ctx context.Context, src ReportSource, name string, sp Span) (*control.Report, error) {
	out := &control.Report{Report: name, Until: sp.To.In(sp.Loc).Format(time.RFC3339), TimeZone: sp.Loc.String(), Rows: []control.ReportRow{}}
	if !sp.From.IsZero() {
		out.Since = sp.From.In(sp.Loc).Format(time.RFC3339)
	}
	var all store.Totals
	switch name {
	case "daily", "weekly", "monthly":
		days, err := src.Days(ctx, sp.From, sp.To, sp.Loc)
		if err != nil {
			return nil, err
		}
		var (
			rows []periodRow
			last string
		)
		for _, d := range days {
			key := periodKey(name, d.Day, sp.WeekStart)
			if len(rows) == 0 || key != last {
				rows = append(rows, periodRow{key: key, models: map[string]*store.ModelTotals{}})
				last = key
			}
			r := &rows[len(rows)-1]
			r.Add(d.Totals)
			for _, m := range d.ByModel {
				if r.models[m.Model] == nil {
					r.models[m.Model] = &store.ModelTotals{Model: m.Model}
				}
				r.models[m.Model].Add(m.Totals)
			}
		}
		for _, r := range rows {
			ms := make([]store.ModelTotals, 0, len(r.models))
			for _, m := range r.models {
				ms = append(ms, *m)
			}
			out.Rows = append(out.Rows, reportRow(r.key, r.Totals, ms))
			all.Add(r.Totals)
		}
	case "session":
		gs, err := src.Groups(ctx, "session", sp.From, sp.To)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(gs, func(a, b store.GroupTotals) int {
			return cmp.Or(a.Last.Compare(b.Last), strings.Compare(a.Key, b.Key))
		})
		for _, g := range gs {
			r := reportRow(g.Key, g.Totals, g.ByModel)
			r.First, r.Last = g.First.In(sp.Loc).Format(time.RFC3339), g.Last.In(sp.Loc).Format(time.RFC3339)
			out.Rows = append(out.Rows, r)
			all.Add(g.Totals)
		}
	default:
		return nil, fmt.Errorf("unknown report %q: use %s", name, strings.Join(control.Reports, ", "))
	}
	out.Totals, out.Tokens = totals(all), tokens(all)
	return out, nil
}

type periodRow struct {
	key string
	store.Totals
	models map[string]*store.ModelTotals
}

// periodKey is the row a day (YYYY-MM-DD) falls in: the day itself, its
// week's first day, or its month.
func periodKey(name, day string, weekStart time.Weekday) string {
	switch name {
	case "weekly":
		t, err := time.Parse(time.DateOnly, day)
		if err != nil {
			return day
		}
		back := (int(t.Weekday()) - int(weekStart) + 7) % 7
		return t.AddDate(0, 0, -back).Format(time.DateOnly)
	case "monthly":
		return day[:min(7, len(day))]
	}
	return day
}

// reportRow is one row with its models, costliest first.
func reportRow(key string, t store.Totals, ms []store.ModelTotals) control.ReportRow {
	slices.SortFunc(ms, func(a, b store.ModelTotals) int {
		return cmp.Or(cmp.Compare(b.CostNano, a.CostNano), strings.Compare(a.Model, b.Model))
	})
	r := control.ReportRow{Key: key, Totals: totals(t), Tokens: tokens(t), Models: []string{}, ByModel: []control.ModelStats{}}
	for _, m := range ms {
		r.Models = append(r.Models, m.Model)
		r.ByModel = append(r.ByModel, control.ModelStats{Model: m.Model, Totals: totals(m.Totals)})
	}
	return r
}

// tokens is every token of t: input, output, cache writes and reads.
func tokens(t store.Totals) int64 {
	return t.Input + t.Output + t.CacheWrite5m + t.CacheWrite1h + t.CacheRead
}
