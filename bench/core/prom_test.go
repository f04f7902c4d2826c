package main

import (
	"math"
	"strings"
	"testing"
)

const exposition = `# HELP heck_checks_total Probes run.
# TYPE heck_checks_total counter
heck_checks_total{kind="http",result="ok"} 1500
heck_checks_total{kind="http",result="fail"} 25
heck_checks_total{kind="tcp",result="ok",msg="a \"quoted\", {braced} \\ value\nx"} 5 1700000000000
# TYPE heck_schedule_lateness_seconds histogram
heck_schedule_lateness_seconds_bucket{le="0.001"} 10
heck_schedule_lateness_seconds_bucket{le="0.01"} 60
heck_schedule_lateness_seconds_bucket{le="0.1"} 100
heck_schedule_lateness_seconds_bucket{le="+Inf"} 100
heck_schedule_lateness_seconds_sum 1.5
heck_schedule_lateness_seconds_count 100
go_goroutines 42
process_start_time_seconds 1.7e+09
weird_value NaN
`

func TestParseText(t *testing.T) {
	ss, err := parseText(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	total, found := sumSeries(ss, "heck_checks_total")
	if !found || total != 1530 {
		t.Fatalf("sum heck_checks_total = %v found=%v, want 1530 true", total, found)
	}
	if _, found := sumSeries(ss, "heck_missing_total"); found {
		t.Fatal("missing series reported found")
	}
	if v, _ := sumSeries(ss, "process_start_time_seconds"); v != 1.7e9 {
		t.Fatalf("scientific value = %v", v)
	}
	var msg string
	for _, s := range ss {
		if v, ok := s.label("msg"); ok {
			msg = v
		}
	}
	if want := "a \"quoted\", {braced} \\ value\nx"; msg != want {
		t.Fatalf("escaped label = %q, want %q", msg, want)
	}
	bs := histogramBuckets(ss, "heck_schedule_lateness_seconds")
	if len(bs) != 4 || !math.IsInf(bs[3].upper, 1) || bs[1].count != 60 {
		t.Fatalf("buckets = %+v", bs)
	}
}

func TestParseTextErrors(t *testing.T) {
	for _, in := range []string{
		`name{le="0.1" 3`,
		`name{le=0.1} 3`,
		`name{le="0.1} 3`,
		`name`,
		`name{} notanumber`,
		`name 1 2 3`,
	} {
		if _, err := parseText(strings.NewReader(in)); err == nil {
			t.Errorf("parseText(%q) accepted bad input", in)
		}
	}
}

func TestHistogramBucketsSumsOverLabels(t *testing.T) {
	in := `h_bucket{kind="a",le="1"} 1
h_bucket{kind="b",le="1"} 2
h_bucket{kind="a",le="+Inf"} 3
h_bucket{kind="b",le="+Inf"} 4
`
	ss, err := parseText(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	bs := histogramBuckets(ss, "h")
	if len(bs) != 2 || bs[0] != (bucket{1, 3}) || bs[1].count != 7 {
		t.Fatalf("buckets = %+v", bs)
	}
}

func TestQuantile(t *testing.T) {
	inf := math.Inf(1)
	bs := []bucket{{0.001, 10}, {0.01, 60}, {0.1, 100}, {inf, 100}}
	tail := []bucket{{0.01, 50}, {0.1, 90}, {inf, 100}}
	cases := []struct {
		name string
		q    float64
		bs   []bucket
		want float64
	}{
		{"in first bucket from zero", 0.05, bs, 0.0005},
		{"upper edge of first bucket", 0.10, bs, 0.001},
		{"median interpolated in second", 0.5, bs, 0.001 + 0.009*40.0/50.0},
		{"p99 in third", 0.99, bs, 0.01 + 0.09*39.0/40.0},
		{"rank in +Inf answers largest finite bound", 0.99, tail, 0.1},
		{"q=0 is the lower edge", 0, bs, 0},
		{"no observations", 0.5, []bucket{{1, 0}, {inf, 0}}, math.NaN()},
		{"no +Inf bucket", 0.5, []bucket{{1, 5}}, math.NaN()},
		{"empty", 0.5, nil, math.NaN()},
		{"q out of range", 1.5, bs, math.NaN()},
	}
	for _, c := range cases {
		got := quantile(c.q, c.bs)
		if math.IsNaN(c.want) {
			if !math.IsNaN(got) {
				t.Errorf("%s: got %v, want NaN", c.name, got)
			}
			continue
		}
		if math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestBeyondBuckets(t *testing.T) {
	inf := math.Inf(1)
	bs := []bucket{{0.01, 50}, {0.1, 90}, {inf, 100}}
	for _, c := range []struct {
		q    float64
		want bool
	}{{0.5, false}, {0.9, false}, {0.95, true}, {0.99, true}} {
		if got := beyondBuckets(c.q, bs); got != c.want {
			t.Errorf("beyondBuckets(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if beyondBuckets(0.99, []bucket{{1, 0}, {inf, 0}}) {
		t.Error("empty histogram reported beyond its buckets")
	}
}

func TestDeltaBuckets(t *testing.T) {
	inf := math.Inf(1)
	start := []bucket{{0.01, 50}, {0.1, 80}, {inf, 100}}
	end := []bucket{{0.01, 150}, {0.1, 280}, {inf, 300}}
	d := deltaBuckets(start, end)
	want := []bucket{{0.01, 100}, {0.1, 200}, {inf, 200}}
	for i := range want {
		if d[i] != want[i] {
			t.Fatalf("delta = %+v, want %+v", d, want)
		}
	}
	// Only the window counts: a quantile of the delta ignores history.
	if got := quantile(0.5, d); math.Abs(got-0.01) > 1e-12 {
		t.Fatalf("median of window = %v, want 0.01", got)
	}
	// A reset (end below start) clamps to zero instead of going negative.
	if d := deltaBuckets(end, start); d[0].count != 0 {
		t.Fatalf("reset delta = %+v", d)
	}
}
