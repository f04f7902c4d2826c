package health

import (
	"fmt"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/crdt"
)

// benchState builds a table of targets x perTarget observations from 20
// observers (perTarget 1: each target observed by its one owner; 20: every
// observer observes every target, as in a partition where each side owns
// everything). Sequences are contiguous per observer.
func benchState(targets, perTarget int) (*Table, []Observation) {
	const observers = 20
	seq := make([]uint32, observers)
	obs := make([]Observation, 0, targets*perTarget)
	for i := range targets {
		for k := range perTarget {
			o := (i + k) % observers
			seq[o]++
			obs = append(obs, Observation{
				TargetID: fmt.Sprintf("target-%05d", i), Observer: fmt.Sprintf("node-%02d", o),
				Seq: MakeSeq(1, seq[o]), State: Up, Since: t0, At: t0, Latency: 10 * time.Millisecond,
				Interval: time.Second, Message: "200 OK",
			})
		}
	}
	t := NewTable(TableOptions{})
	t.Apply(obs...)
	return t, obs
}

func BenchmarkApply(b *testing.B) {
	for _, per := range []int{1, 20} {
		b.Run(fmt.Sprintf("20000x%d/new-observation", per), func(b *testing.B) {
			t, obs := benchState(20000, per)
			next := uint32(len(obs)) // above every per-observer counter
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				o := obs[i%len(obs)]
				next++
				o.Seq = MakeSeq(1, next)
				t.Apply(o)
				i++
			}
		})
		b.Run(fmt.Sprintf("20000x%d/duplicate", per), func(b *testing.B) {
			t, obs := benchState(20000, per)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				t.Apply(obs[i%len(obs)])
				i++
			}
		})
	}
	b.Run("fill-20000x20", func(b *testing.B) {
		_, obs := benchState(20000, 20)
		b.ReportAllocs()
		for b.Loop() {
			NewTable(TableOptions{}).Apply(obs...)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(obs)), "ns/obs")
	})
}

func BenchmarkDeltaFor(b *testing.B) {
	for _, per := range []int{1, 20} {
		t, _ := benchState(20000, per)
		full := t.Digest()
		for _, behind := range []int{0, 10, 1000} {
			vv := crdt.VersionVector{}
			for o, s := range full {
				vv[o] = s - uint64(min(behind, int(SeqCounter(s))))
			}
			sum := upTo(vv)
			b.Run(fmt.Sprintf("20000x%d/behind=%d-per-observer", per, behind), func(b *testing.B) {
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					n = len(t.DeltaFor(sum).Observations)
				}
				b.ReportMetric(float64(n), "obs")
			})
		}
		b.Run(fmt.Sprintf("20000x%d/digest", per), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = t.Digest()
			}
		})
	}
}

func BenchmarkVerdict(b *testing.B) {
	t, _ := benchState(20000, 3)
	owners := []string{"node-00", "node-01", "node-02"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = t.Verdict(fmt.Sprintf("target-%05d", i%20000), owners, t0)
		i++
	}
}

func BenchmarkPublisherRecord(b *testing.B) {
	p := NewPublisher("self", NewTable(TableOptions{}), PublisherOptions{})
	ids := make([]string, 20000)
	for i := range ids {
		ids[i] = fmt.Sprint("t", i)
		p.Record(Outcome{TargetID: ids[i], State: Up, At: t0, Interval: time.Second})
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Record(Outcome{TargetID: ids[i%len(ids)], State: Up, At: t0.Add(time.Second), Interval: time.Second, Latency: time.Millisecond})
		i++
	}
}

func BenchmarkCodec(b *testing.B) {
	_, obs := benchState(1000, 1)
	d := Delta{Observations: obs}
	buf := AppendDelta(nil, &d)
	b.Run("encode-1000", func(b *testing.B) {
		b.ReportAllocs()
		var out []byte
		for b.Loop() {
			out = AppendDelta(out[:0], &d)
		}
		b.ReportMetric(float64(len(out))/1000, "B/obs")
	})
	b.Run("decode-1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeDelta(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSummaryGossip measures what the outlier summary (Fails and
// ErrorPct) costs in gossip: 1,000 targets probed at 1 s for an hour of
// simulated time, 1% of them flapping (down for 5 probes, up for 15), rise
// 2 and fall 3 as by default, every result through a Publisher with and
// without the summary. It reports observations published and encoded bytes
// per target per hour; the figures are counts, not timings.
func BenchmarkSummaryGossip(b *testing.B) {
	for _, summary := range []bool{false, true} {
		name := "without-summary"
		if summary {
			name = "with-summary"
		}
		b.Run(name, func(b *testing.B) {
			var pubs, bytes int
			for b.Loop() {
				pubs, bytes = simulateSummaryGossip(summary)
			}
			b.ReportMetric(float64(pubs)/1000, "obs/target/h")
			b.ReportMetric(float64(bytes)/1000, "B/target/h")
		})
	}
}

func simulateSummaryGossip(summary bool) (pubs, bytes int) {
	const targets, probes = 1000, 3600
	p := NewPublisher("self", NewTable(TableOptions{}), PublisherOptions{Now: func() time.Time { return t0 }})
	type machine struct {
		state      State
		since      time.Time
		succ, fail int
		errs       float64
	}
	ms := make([]machine, targets)
	ids := make([]string, targets)
	for i := range ids {
		ids[i] = fmt.Sprintf("target-%04d", i)
	}
	var buf []byte
	for k := range probes {
		at := t0.Add(time.Duration(k) * time.Second)
		for i := range ms {
			m := &ms[i]
			ok := i >= targets/100 || k%20 >= 5
			if ok {
				m.succ, m.fail = m.succ+1, 0
				m.errs -= m.errs / 16
				if m.state != Up && m.succ >= 2 {
					m.state, m.since = Up, at
				}
			} else {
				m.fail, m.succ = m.fail+1, 0
				m.errs += (1 - m.errs) / 16
				if m.state != Down && m.fail >= 3 {
					m.state, m.since = Down, at
				}
			}
			o := Outcome{TargetID: ids[i], State: m.state, Since: m.since, At: at, Interval: time.Second,
				Latency: time.Millisecond + time.Duration(i%7)*100*time.Microsecond}
			if summary {
				o.Fails, o.ErrorPct = uint8(min(m.fail, 255)), uint8(m.errs*100+0.5)
			}
			if obs, published := p.Record(o); published {
				pubs++
				buf = AppendDelta(buf[:0], &Delta{Observations: []Observation{obs}})
				bytes += len(buf)
			}
		}
	}
	return pubs, bytes
}
