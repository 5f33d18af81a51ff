package daemon

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/analytics"
	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/limits"
	"github.com/visiquate/cco/pkg/store"
)

// newLimiter builds the spend limiter of an instance: the configured
// limits, the store as the source of the spend so far, days and months in
// the local time zone, and o.ReloadLimits to pick up a changed limit
// without a restart.
func newLimiter(cfg config.Config, o Options, logger *logrus.Logger, st *store.Store) *limits.Limiter {
	var reload func() (limits.Limits, error)
	if o.ReloadLimits != nil {
		reload = func() (limits.Limits, error) {
			ls, err := o.ReloadLimits()
			return limits.Limits(ls), err
		}
	}
	return limits.New(limits.Options{
		Limits: limits.Limits(cfg.Limits), Source: storeSpend{st}, Reload: reload,
		Location: time.Local, Now: o.Now, Logger: logger,
	})
}

// storeSpend is the analytics store as the limiter's Source.
type storeSpend struct{ st *store.Store }

func (s storeSpend) Spent(ctx context.Context, from, to time.Time) (int64, error) {
	t, err := s.st.Totals(ctx, from, to)
	return t.CostNano, err
}

func (s storeSpend) Block(ctx context.Context, at time.Time) (time.Time, int64, bool, error) {
	b, ok, err := analytics.ActiveBlock(ctx, s.st, at)
	return b.Start, b.CostNano, ok, err
}
