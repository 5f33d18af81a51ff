package live

import (
	"runtime"
	"sync"
	"testing"

	"github.com/visiquate/cco/pkg/control"
)

func TestLimit(t *testing.T) {
	h := New(2)
	a, ok1 := h.Subscribe()
	_, ok2 := h.Subscribe()
	if _, ok3 := h.Subscribe(); !ok1 || !ok2 || ok3 {
		t.Fatalf("admitted %v %v %v, want true true false", ok1, ok2, ok3)
	}
	a.Close()
	a.Close()
	if h.Subscribers() != 1 {
		t.Fatalf("%d subscribers after a close", h.Subscribers())
	}
	if _, ok := h.Subscribe(); !ok {
		t.Fatal("a closed subscription's place was not freed")
	}
}

// TestSlowSubscriberDrops: a subscriber that reads nothing loses what does
// not fit its buffer, the others get everything, and Publish never blocks.
func TestSlowSubscriberDrops(t *testing.T) {
	h := New(5)
	slow, _ := h.Subscribe()
	fast, _ := h.Subscribe()
	const n = Buffer + 100
	var got int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for r := range fast.C() {
			got++
			if r.Status == -1 {
				return
			}
		}
	}()
	for i := range n {
		h.Publish(control.Request{Model: "m", Status: i})
		if i%Buffer == 0 {
			// let the fast reader keep up
			for len(fast.c) > 0 {
				runtime.Gosched()
			}
		}
	}
	for len(fast.c) > 0 {
		runtime.Gosched()
	}
	h.Publish(control.Request{Status: -1})
	wg.Wait()
	if got != n+1 {
		t.Errorf("fast subscriber got %d, want %d", got, n+1)
	}
	if d := slow.TakeDropped(); d != n+1-Buffer {
		t.Errorf("slow subscriber dropped %d, want %d", d, n+1-Buffer)
	}
	if d := slow.TakeDropped(); d != 0 {
		t.Errorf("TakeDropped again = %d, want 0", d)
	}
	if len(slow.C()) != Buffer {
		t.Errorf("slow buffer holds %d", len(slow.C()))
	}
}

func BenchmarkPublishNoSubscribers(b *testing.B) {
	h := New(5)
	r := control.Request{Model: "m"}
	b.ReportAllocs()
	for b.Loop() {
		h.Publish(r)
	}
}

func BenchmarkPublishOneSubscriber(b *testing.B) {
	h := New(5)
	s, _ := h.Subscribe()
	go func() {
		for range s.C() {
		}
	}()
	r := control.Request{Model: "m"}
	b.ReportAllocs()
	for b.Loop() {
		h.Publish(r)
	}
}
