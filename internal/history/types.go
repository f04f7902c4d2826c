package history

import "time"

// Point is one step of a target's history: what its results were over
// [Start, Start+step).
type Point struct {
	Start    time.Time     `json:"start"`
	Count    uint32        `json:"count"`
	Failures uint32        `json:"failures"`
	Avg      time.Duration `json:"latency_avg"`
	Max      time.Duration `json:"latency_max"`
	P50      time.Duration `json:"latency_p50"`
	P95      time.Duration `json:"latency_p95"`
	P99      time.Duration `json:"latency_p99"`
}

// Uptime is the share of successful checks over the usual windows; a
// window with no checks is -1.
type Uptime struct {
	Day   float64 `json:"24h"`
	Week  float64 `json:"7d"`
	Month float64 `json:"30d"`
}
