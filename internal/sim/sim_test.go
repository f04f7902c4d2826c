package sim

import (
	"testing"
	"time"
)

func BenchmarkRun100(b *testing.B) {
	for range b.N {
		s, err := New(Config{Nodes: 100, Targets: 10000, Scenario: Steady, Duration: 20 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Run(); err != nil {
			b.Fatal(err)
		}
	}
}
