package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// This file reads the few series the harness needs from heck's /metrics
// (Prometheus text exposition format 0.0.4). A small parser of our own keeps
// the benchmark free of dependencies the module does not already pin; it
// handles label escapes, +Inf/NaN values and optional timestamps, which is
// all client_golang emits in the text format.

// sample is one line of the exposition: a series and its value.
type sample struct {
	name   string
	labels []label
	value  float64
}

type label struct{ name, value string }

func (s sample) label(name string) (string, bool) {
	for _, l := range s.labels {
		if l.name == name {
			return l.value, true
		}
	}
	return "", false
}

// parseText parses the text exposition format. Comment and blank lines are
// skipped; a malformed line is an error naming its line number.
func parseText(r io.Reader) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	ln := 0
	for sc.Scan() {
		ln++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d %q: %w", ln, truncate(line, 120), err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func parseLine(line string) (sample, error) {
	var s sample
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return s, fmt.Errorf("no value after metric name")
	}
	s.name = line[:i]
	rest := line[i:]
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			rest = strings.TrimLeft(rest, " \t,")
			if rest == "" {
				return s, fmt.Errorf("unterminated label set")
			}
			if rest[0] == '}' {
				rest = rest[1:]
				break
			}
			eq := strings.IndexByte(rest, '=')
			if eq <= 0 {
				return s, fmt.Errorf("label without '='")
			}
			name := strings.TrimSpace(rest[:eq])
			rest = strings.TrimLeft(rest[eq+1:], " \t")
			if rest == "" || rest[0] != '"' {
				return s, fmt.Errorf("label %s: value not quoted", name)
			}
			val, n, err := unquoteLabel(rest[1:])
			if err != nil {
				return s, fmt.Errorf("label %s: %w", name, err)
			}
			s.labels = append(s.labels, label{name, val})
			rest = rest[1+n:]
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 || len(fields) > 2 {
		return s, fmt.Errorf("want a value and an optional timestamp, got %d fields", len(fields))
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, fmt.Errorf("value %q: %w", fields[0], err)
	}
	s.value = v
	return s, nil
}

// unquoteLabel reads a label value up to its closing quote, undoing the
// three escapes of the format (\\, \" and \n). It returns the value and how
// many bytes of s it consumed, including the closing quote.
func unquoteLabel(s string) (string, int, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 >= len(s) {
				return "", 0, fmt.Errorf("dangling backslash")
			}
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case '\\', '"':
				b.WriteByte(s[i])
			default:
				b.WriteByte('\\')
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("unterminated quoted value")
}

// sumSeries sums every series named name over all its label sets. found is
// false when no such series exists.
func sumSeries(samples []sample, name string) (total float64, found bool) {
	for _, s := range samples {
		if s.name == name {
			total += s.value
			found = true
		}
	}
	return total, found
}

// bucket is one cumulative histogram bucket: count of observations <= upper.
type bucket struct {
	upper float64
	count float64
}

// histogramBuckets collects name_bucket series, summing over every label but
// le, sorted by upper bound.
func histogramBuckets(samples []sample, name string) []bucket {
	by := map[float64]float64{}
	for _, s := range samples {
		if s.name != name+"_bucket" {
			continue
		}
		le, ok := s.label("le")
		if !ok {
			continue
		}
		u, err := strconv.ParseFloat(le, 64)
		if err != nil {
			continue
		}
		by[u] += s.value
	}
	out := make([]bucket, 0, len(by))
	for u, c := range by {
		out = append(out, bucket{u, c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].upper < out[j].upper })
	return out
}

// deltaBuckets returns end minus start bucket by bucket (a counter reset
// clamps to zero), so quantiles describe only the sampling window.
func deltaBuckets(start, end []bucket) []bucket {
	prev := map[float64]float64{}
	for _, b := range start {
		prev[b.upper] = b.count
	}
	out := make([]bucket, len(end))
	for i, b := range end {
		d := b.count - prev[b.upper]
		if d < 0 {
			d = 0
		}
		out[i] = bucket{b.upper, d}
	}
	return out
}

// beyondBuckets reports whether the q-quantile falls in the +Inf bucket, so
// quantile's answer (the largest finite bound) is only a lower bound.
func beyondBuckets(q float64, bs []bucket) bool {
	if len(bs) < 2 || !math.IsInf(bs[len(bs)-1].upper, +1) {
		return false
	}
	total := bs[len(bs)-1].count
	return total > 0 && q*total > bs[len(bs)-2].count
}

// quantile estimates the q-quantile (0 <= q <= 1) of cumulative buckets
// sorted by upper bound, the last one +Inf, by linear interpolation within
// the bucket holding the rank, as Prometheus's histogram_quantile does: the
// first bucket's lower bound is 0 (when its upper bound is positive) and a
// rank in the +Inf bucket answers the largest finite bound. NaN when there
// are no observations or no +Inf bucket.
func quantile(q float64, bs []bucket) float64 {
	if len(bs) == 0 || q < 0 || q > 1 || math.IsNaN(q) {
		return math.NaN()
	}
	last := bs[len(bs)-1]
	if !math.IsInf(last.upper, +1) || last.count <= 0 {
		return math.NaN()
	}
	rank := q * last.count
	i := sort.Search(len(bs), func(i int) bool { return bs[i].count >= rank })
	if i == len(bs)-1 {
		if len(bs) < 2 {
			return math.NaN()
		}
		return bs[len(bs)-2].upper
	}
	lower, lowerCount := 0.0, 0.0
	if i > 0 {
		lower, lowerCount = bs[i-1].upper, bs[i-1].count
	} else if bs[0].upper <= 0 {
		return bs[0].upper
	}
	upper, count := bs[i].upper, bs[i].count
	if count == lowerCount {
		return upper
	}
	return lower + (upper-lower)*(rank-lowerCount)/(count-lowerCount)
}
