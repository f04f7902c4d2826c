package events

import (
	"sync"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
)

func tr(id string) Transition {
	return Transition{TargetID: id, From: health.Unknown, To: health.Up, At: time.Unix(1, 0)}
}

func TestFanOutInOrder(t *testing.T) {
	b := NewBus()
	s1, s2 := b.Subscribe(10), b.Subscribe(10)
	b.Publish(tr("a"))
	b.Publish(tr("b"))
	for _, s := range []*Subscription{s1, s2} {
		<-s.C()
		ts, dropped := s.Drain()
		if len(ts) != 2 || ts[0].TargetID != "a" || ts[1].TargetID != "b" || dropped != 0 {
			t.Fatalf("got %v dropped %d", ts, dropped)
		}
	}
}

func TestSlowSubscriberDropsOldestAndNeverBlocks(t *testing.T) {
	b := NewBus()
	s := b.Subscribe(3)
	for _, id := range []string{"1", "2", "3", "4", "5"} {
		b.Publish(tr(id)) // must not block although nobody reads
	}
	ts, dropped := s.Drain()
	if dropped != 2 || len(ts) != 3 || ts[0].TargetID != "3" || ts[2].TargetID != "5" {
		t.Fatalf("got %v dropped %d, want the newest three and 2 dropped", ts, dropped)
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	b := NewBus()
	s := b.Subscribe(1)
	other := b.Subscribe(1)
	other.Close()
	b.Publish(tr("x"))
	if ts, _ := other.Drain(); len(ts) != 0 {
		t.Fatal("a closed subscription still receives")
	}
	b.Close()
	select {
	case <-s.Done():
	case <-time.After(time.Second):
		t.Fatal("bus close did not end the subscription")
	}
	late := b.Subscribe(1)
	select {
	case <-late.Done():
	default:
		t.Fatal("subscribing to a closed bus should return a done subscription")
	}
	b.Publish(tr("y")) // no panic after close
}

func TestConcurrentPublish(t *testing.T) {
	b := NewBus()
	s := b.Subscribe(10000)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				b.Publish(tr("t"))
			}
		}()
	}
	wg.Wait()
	if ts, d := s.Drain(); len(ts) != 4000 || d != 0 {
		t.Fatalf("got %d dropped %d", len(ts), d)
	}
}
