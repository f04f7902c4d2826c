package pool

import (
	"strings"
	"testing"
	"time"
)

func noPrior(string) (Ejection, bool) { return Ejection{}, false }

// pool10 is ten up members with 10 ms latency and no errors.
func pool10() []Input {
	in := members("uuuuuuuuuu")
	for i := range in {
		in[i].Latency = 10 * time.Millisecond
		in[i].ErrorRate = 0
	}
	return in
}

func ejected(es []Ejection) string {
	var ids []string
	for _, e := range es {
		ids = append(ids, e.Member+":"+strings.SplitN(e.Reason, ":", 2)[0])
	}
	return strings.Join(ids, ",")
}

func TestDetect(t *testing.T) {
	spec := Spec{Name: "web", Selector: map[string]string{"app": "web"}}
	cases := []struct {
		name  string
		tweak func(in []Input)
		spec  func(s *Spec)
		want  string
	}{
		{"steady pool: nothing", func([]Input) {}, nil, ""},
		{"consecutive failures", func(in []Input) { in[3].Fails = 3 }, nil, "m3:consecutive_failures"},
		{"fewer failures than the test", func(in []Input) { in[3].Fails = 2 }, nil, ""},
		{"error rate far above the median", func(in []Input) { in[4].ErrorRate = 0.4 }, nil, "m4:error_rate"},
		{"error rate a hair above an all-zero median", func(in []Input) { in[4].ErrorRate = 0.06 }, nil, ""},
		{"latency far above the median", func(in []Input) { in[5].Latency = 200 * time.Millisecond }, nil, "m5:latency"},
		{"latency within the floor", func(in []Input) { in[5].Latency = 14 * time.Millisecond }, nil, ""},
		{"the whole pool slow together: no ejection", func(in []Input) {
			for i := range in {
				in[i].Latency = time.Duration(400+i*10) * time.Millisecond
			}
		}, nil, ""},
		{"most of the pool slow: the fast are not outliers, the slow are the median", func(in []Input) {
			for i := 0; i < 7; i++ {
				in[i].Latency = 500 * time.Millisecond
			}
		}, nil, ""},
		{"most of the pool failing: a shared cause", func(in []Input) {
			for i := 0; i < 6; i++ {
				in[i].Fails = 5
			}
		}, nil, ""},
		{"at most 10%: the worst one of two", func(in []Input) {
			in[1].Latency = 100 * time.Millisecond
			in[2].Fails = 4
		}, nil, "m2:consecutive_failures"},
		{"max_ejection_percent 30 takes both", func(in []Input) {
			in[1].Latency = 100 * time.Millisecond
			in[2].Fails = 4
		}, func(s *Spec) { s.Outlier.MaxEjectionPercent = intp(30) }, "m2:consecutive_failures,m1:latency"},
		{"max_ejection_percent 0 ejects nothing", func(in []Input) { in[2].Fails = 4 },
			func(s *Spec) { s.Outlier.MaxEjectionPercent = intp(0) }, ""},
		{"one already ejected uses the budget", func(in []Input) {
			in[7].Ejection = &Ejection{Pool: "web", Member: "m7", At: t0, Until: t0.Add(time.Minute), Count: 1}
			in[2].Fails = 4
		}, nil, ""},
		{"disabled", func(in []Input) { in[2].Fails = 4 }, func(s *Spec) { s.Outlier.Disabled = true }, ""},
		{"too few members for the median tests", func(in []Input) { in[5].Latency = time.Second }, func(s *Spec) { s.Outlier.MinMembers = 11 }, ""},
		{"down members are not ejected (already out)", func(in []Input) {
			in[3].State = 2 // down
			in[3].Fails = 9
		}, nil, ""},
		{"in panic nothing is ejected", func(in []Input) {
			for i := 0; i < 6; i++ {
				in[i].State = 2
			}
			in[8].Fails = 5
		}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := spec
			if c.spec != nil {
				c.spec(&s)
			}
			in := pool10()
			c.tweak(in)
			v := Evaluate(&s, in)
			if got := ejected(Detect(&v, t0, noPrior)); got != c.want {
				t.Fatalf("ejected %q, want %q", got, c.want)
			}
		})
	}
}

// Repeat ejections last longer, up to the maximum; one long after the last
// starts over.
func TestDetectBackoff(t *testing.T) {
	spec := Spec{Name: "web", Targets: []string{"x"}}
	in := pool10()
	in[0].Fails = 3
	v := Evaluate(&spec, in)
	cases := []struct {
		prior     *Ejection
		count     int
		ejectTime time.Duration
	}{
		{nil, 1, 30 * time.Second},
		{&Ejection{Count: 1, Until: t0.Add(-10 * time.Second)}, 2, time.Minute},
		{&Ejection{Count: 20, Until: t0.Add(-time.Minute)}, 21, 5 * time.Minute},
		{&Ejection{Count: 4, Until: t0.Add(-time.Hour)}, 1, 30 * time.Second},
	}
	for i, c := range cases {
		es := Detect(&v, t0, func(id string) (Ejection, bool) {
			if c.prior == nil || id != "m0" {
				return Ejection{}, false
			}
			return *c.prior, true
		})
		if len(es) != 1 || es[0].Count != c.count || es[0].Until.Sub(t0) != c.ejectTime || es[0].Key() != "web/m0" {
			t.Fatalf("case %d: %+v, want count %d for %v", i, es, c.count, c.ejectTime)
		}
		if err := EjectionKind.Validate(es[0].Key(), es[0]); err != nil {
			t.Fatalf("case %d: ejection does not validate: %v", i, err)
		}
	}
}

func TestMaxEjections(t *testing.T) {
	for _, c := range []struct{ n, pct, want int }{{10, 10, 1}, {3, 10, 1}, {2, 10, 0}, {100, 10, 10}, {5, 0, 0}, {5, 100, 5}} {
		if got := maxEjections(c.n, c.pct); got != c.want {
			t.Errorf("maxEjections(%d, %d) = %d, want %d", c.n, c.pct, got, c.want)
		}
	}
}
