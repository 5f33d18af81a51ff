package analytics

import (
	"context"
	"slices"
	"time"

	"github.com/visiquate/cco/pkg/claudelog"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/pricing"
	"github.com/visiquate/cco/pkg/store"
)

// ImportUserAgent is the user agent of the rows `cco stats import` adds,
// followed by "/" and Claude Code's version when the log says it.
const ImportUserAgent = "claude-code-import"

// ImportStore takes imported rows; *store.Store is one.
type ImportStore interface {
	Import(ctx context.Context, rows []store.Record) (store.Imported, error)
	ImportDryRun(ctx context.Context, rows []store.Record) (store.Imported, error)
}

// ImportOptions say how Import prices and which messages it takes.
type ImportOptions struct {
	Prices *pricing.Table
	// Messages before From are left out: the database's retention would
	// delete their rows (keeping their rollups), and the next import would
	// add them again. Zero: no bound.
	From time.Time
	// Messages from To on are left out: a running cco may not have
	// written its own row of a message that is still being answered.
	// Zero: no bound.
	To     time.Time
	DryRun bool
}

// ImportReport is what `cco stats import` prints, and its --json.
type ImportReport struct {
	Dirs []string `json:"dirs"`
	claudelog.Counts
	Problems []claudelog.Problem `json:"problems"`
	// TooOld and TooRecent count the messages left out by From and To.
	TooOld    int  `json:"too_old"`
	TooRecent int  `json:"too_recent"`
	Imported  int  `json:"imported"`
	Present   int  `json:"already_present"` // recorded by cco, or imported before
	DryRun    bool `json:"dry_run"`
	// UnknownModels are the models without a price among the messages
	// taken; Totals.UnknownCost counts the imported rows of them.
	UnknownModels []string `json:"unknown_models"`
	// Totals are the imported rows' sums (for a dry run, what would be).
	Totals control.Totals `json:"totals"`
}

// Import prices the messages log read and adds those that are not in dst
// yet.
func Import(ctx context.Context, dst ImportStore, log *claudelog.Log, o ImportOptions) (*ImportReport, error) {
	rep := &ImportReport{Counts: log.Counts, Problems: log.Problems, DryRun: o.DryRun, UnknownModels: []string{}}
	if rep.Problems == nil {
		rep.Problems = []claudelog.Problem{}
	}
	var rows []store.Record
	for _, m := range log.All() {
		switch {
		case !o.From.IsZero() && m.Time.Before(o.From):
			rep.TooOld++
			continue
		case !o.To.IsZero() && !m.Time.Before(o.To):
			rep.TooRecent++
			continue
		}
		r := ImportedRow(o.Prices, m)
		if !r.CostKnown && !slices.Contains(rep.UnknownModels, r.Model) {
			rep.UnknownModels = append(rep.UnknownModels, r.Model)
		}
		rows = append(rows, r)
	}
	slices.Sort(rep.UnknownModels)
	add := dst.Import
	if o.DryRun {
		add = dst.ImportDryRun
	}
	got, err := add(ctx, rows)
	if err != nil {
		return nil, err
	}
	rep.Imported, rep.Present, rep.Totals = got.Added, got.Present, totals(got.Totals)
	return rep, nil
}

// ImportedRow is the row of a message from Claude Code's logs, priced as
// cco prices its own: a successful /v1/messages request.
func ImportedRow(prices *pricing.Table, m claudelog.Message) store.Record {
	r := Priced(prices, m.Model, pricing.Tokens{Input: m.Input, Output: m.Output,
		CacheWrite5m: m.CacheWrite5m, CacheWrite1h: m.CacheWrite1h, CacheRead: m.CacheRead})
	r.Time, r.RequestID, r.MessageID, r.SessionID = m.Time, m.RequestID, m.MessageID, m.SessionID
	r.Path, r.Status, r.UserAgent, r.Imported = "/v1/messages", 200, ImportUserAgent, true
	if m.Version != "" {
		r.UserAgent += "/" + m.Version
	}
	return r
}
