package main

import "testing"

func TestPoolName(t *testing.T) {
	tests := []struct {
		i, n int
		want string
	}{
		{0, 100, "p00"}, {99, 100, "p99"}, {5, 10, "p05"}, {0, 1, "p00"}, {7, 1000, "p007"}, {999, 1000, "p999"},
	}
	for _, tt := range tests {
		if got := poolName(tt.i, tt.n); got != tt.want {
			t.Errorf("poolName(%d, %d) = %q, want %q", tt.i, tt.n, got, tt.want)
		}
	}
}

func pools(healthy ...int) []poolState {
	var ps []poolState
	for _, h := range healthy {
		ps = append(ps, poolState{Healthy: h, Members: make([]struct{}, 10)})
	}
	return ps
}

func TestJudgeReady(t *testing.T) {
	tests := []struct {
		name      string
		ps        []poolState
		wantPools int
		wantMemb  int
		fraction  float64
		wantReady int
	}{
		{"all healthy", pools(10, 10), 2, 20, 1, 2},
		{"one short", pools(10, 9), 2, 20, 1, 1},
		{"fraction met", pools(9, 9), 2, 20, 0.9, 2},
		{"fraction missed", pools(9, 8), 2, 20, 0.9, 1},
		{"a pool missing is never ready", pools(10, 10), 3, 30, 1, 1},
		{"members missing is never ready", pools(10, 10), 2, 25, 1, 1},
		{"empty pool is not ready", []poolState{{Healthy: 0}}, 1, 0, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := judgeReady(tt.ps, tt.wantPools, tt.wantMemb, tt.fraction)
			if r.ready != tt.wantReady {
				t.Errorf("ready = %d, want %d (%+v)", r.ready, tt.wantReady, r)
			}
			if r.ready == tt.wantPools && tt.wantReady != tt.wantPools {
				t.Errorf("reported ready when it must not be (%+v)", r)
			}
		})
	}
}
