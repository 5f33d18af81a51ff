// Package live fans finished requests out to the dashboard's live streams
// (/api/events) without ever making the proxy wait: each subscriber has a
// bounded buffer, and a subscriber that falls behind loses events (counted,
// so its stream can say so) instead of slowing anyone down.
//
// It imports only the standard library and pkg/control.
package live

import (
	"sync"
	"sync/atomic"

	"github.com/visiquate/cco/pkg/control"
)

// Buffer is how many events a subscriber may fall behind before it loses
// them.
const Buffer = 256

// Hub is a set of at most Max subscribers. The zero value is not usable;
// call New.
type Hub struct {
	max   int
	count atomic.Int32 // len(subs), read without the lock by Publish

	mu   sync.RWMutex
	subs map[*Subscription]struct{}
}

// New returns a hub that admits at most max subscribers at once.
func New(max int) *Hub {
	return &Hub{max: max, subs: map[*Subscription]struct{}{}}
}

// Subscription is one live stream's view of the hub.
type Subscription struct {
	hub     *Hub
	c       chan control.Request
	dropped atomic.Int64
	once    sync.Once
}

// Subscribe admits a subscriber, or returns false when Max are already
// subscribed. The caller must Close it.
func (h *Hub) Subscribe() (*Subscription, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) >= h.max {
		return nil, false
	}
	s := &Subscription{hub: h, c: make(chan control.Request, Buffer)}
	h.subs[s] = struct{}{}
	h.count.Store(int32(len(h.subs)))
	return s, true
}

// Subscribers is how many are subscribed now.
func (h *Hub) Subscribers() int { return int(h.count.Load()) }

// Publish hands r to every subscriber that has room and counts a drop for
// each that has not. It never blocks; with no subscribers it costs one
// atomic load.
func (h *Hub) Publish(r control.Request) {
	if h.count.Load() == 0 {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		select {
		case s.c <- r:
		default:
			s.dropped.Add(1)
		}
	}
}

// C delivers the subscriber's events.
func (s *Subscription) C() <-chan control.Request { return s.c }

// TakeDropped returns how many events were lost since the last call.
func (s *Subscription) TakeDropped() int64 { return s.dropped.Swap(0) }

// Close leaves the hub; it may be called more than once.
func (s *Subscription) Close() {
	s.once.Do(func() {
		h := s.hub
		h.mu.Lock()
		delete(h.subs, s)
		h.count.Store(int32(len(h.subs)))
		h.mu.Unlock()
	})
}
