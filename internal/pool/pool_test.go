package pool

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/target"
)

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func intp(n int) *int { return &n }

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		spec   Spec
		fields []string // the fields the errors name, in order; nil: valid
	}{
		{"by ids", Spec{Name: "web", Targets: []string{"a", "b"}}, nil},
		{"by selector", Spec{Name: "web", Selector: map[string]string{"app": "web"}}, nil},
		{"empty", Spec{Name: "web"}, []string{"targets"}},
		{"bad name", Spec{Name: "Web_1", Targets: []string{"a"}}, []string{"name"}},
		{"twice", Spec{Name: "web", Targets: []string{"a", "a"}}, []string{"targets[1]"}},
		{"weights", Spec{Name: "web", Targets: []string{"a"}, Members: map[string]MemberOptions{"a": {Weight: -1}, "b": {Weight: 300, Port: 70000}}},
			[]string{"members.a.weight", "members.b.weight", "members.b.port"}},
		{"address with port", Spec{Name: "web", Targets: []string{"a"}, Members: map[string]MemberOptions{"a": {Address: "10.0.0.1:80x"}}},
			[]string{"members.a.address"}},
		{"threshold", Spec{Name: "web", Targets: []string{"a"}, PanicThreshold: intp(101)}, []string{"panic_threshold"}},
		{"fail open", Spec{Name: "web", Targets: []string{"a"}, FailOpen: "some"}, []string{"fail_open"}},
		{"outlier", Spec{Name: "web", Targets: []string{"a"}, Outlier: Outlier{ConsecutiveFailures: -1, MaxEjectionPercent: intp(-5)}},
			[]string{"outlier.consecutive_failures", "outlier.max_ejection_percent"}},
		{"all at once", Spec{Name: "", FailOpen: "x"}, []string{"name", "targets", "fail_open"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.spec.Validate()
			if c.fields == nil {
				if err != nil {
					t.Fatalf("Validate: %v, want valid", err)
				}
				return
			}
			fes, ok := target.AsFieldErrors(err)
			if !ok {
				t.Fatalf("Validate: %v, want field errors %v", err, c.fields)
			}
			var got []string
			for _, fe := range fes {
				got = append(got, fe.Field)
				if fe.Fix == "" {
					t.Errorf("%s: no fix given", fe.Field)
				}
			}
			if strings.Join(got, " ") != strings.Join(c.fields, " ") {
				t.Fatalf("fields %v, want %v", got, c.fields)
			}
		})
	}
}

func TestParseSelector(t *testing.T) {
	got, err := ParseSelector("env=prod, team=db")
	if err != nil || len(got) != 2 || got["env"] != "prod" || got["team"] != "db" {
		t.Fatalf("ParseSelector = %v, %v", got, err)
	}
	for _, bad := range []string{"env", "=x", "a=b,,c=d"} {
		if _, err := ParseSelector(bad); err == nil {
			t.Errorf("ParseSelector(%q) accepted", bad)
		}
	}
}

func TestEndpoint(t *testing.T) {
	s := Spec{Name: "web", Members: map[string]MemberOptions{"c": {Address: "10.1.1.1", Weight: 7}}}
	cases := []struct {
		spec target.Spec
		want MemberOptions
	}{
		{target.Spec{ID: "a", URL: "http://127.0.0.1:8080/health", Labels: map[string]string{"weight": "3", "zone": "z1"}},
			MemberOptions{Address: "127.0.0.1", Port: 8080, Weight: 3, Zone: "z1"}},
		{target.Spec{ID: "b", URL: "https://example.test/"}, MemberOptions{Address: "example.test", Port: 443, Weight: 1}},
		{target.Spec{ID: "c", Address: "127.0.0.2:5432"}, MemberOptions{Address: "10.1.1.1", Port: 5432, Weight: 7}},
		{target.Spec{ID: "d", Address: "127.0.0.3", Labels: map[string]string{"weight": "0"}}, MemberOptions{Address: "127.0.0.3", Weight: 1}},
	}
	for _, c := range cases {
		if got := s.Endpoint(&c.spec); got != c.want {
			t.Errorf("%s: Endpoint = %+v, want %+v", c.spec.ID, got, c.want)
		}
	}
}

// members builds inputs: one per state letter (u up, d down, g degraded,
// n unknown), ids m0, m1, ...
func members(states string) []Input {
	in := make([]Input, len(states))
	for i, c := range states {
		st := map[rune]health.State{'u': health.Up, 'd': health.Down, 'g': health.Degraded, 'n': health.Unknown}[c]
		in[i] = Input{Spec: &target.Spec{ID: fmt.Sprintf("m%d", i), Address: fmt.Sprintf("127.0.0.%d:80", i+1)}, State: st, ErrorRate: -1}
	}
	return in
}

func TestEvaluatePanic(t *testing.T) {
	cases := []struct {
		name      string
		states    string
		threshold *int
		failOpen  string
		panic     bool
		serving   string // one letter per member: s serving, - not
	}{
		{"all up", "uuuu", nil, "", false, "ssss"},
		{"half up is not panic", "uudd", nil, "", false, "ss--"},
		{"below half: panic, all", "uddd", nil, "", true, "ssss"},
		{"below half: panic, not down", "udnd", nil, FailOpenNotDown, true, "s-s-"},
		{"degraded counts as healthy", "ggdd", nil, "", false, "ss--"},
		{"panic off", "uddd", intp(0), "", false, "s---"},
		{"all down, panic off", "dddd", intp(0), "", false, "----"},
		{"threshold 80", "uuud", intp(80), "", true, "ssss"},
		{"empty", "", nil, "", false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := Spec{Name: "web", Targets: []string{"x"}, PanicThreshold: c.threshold, FailOpen: c.failOpen}
			v := Evaluate(&spec, members(c.states))
			if v.Panic != c.panic {
				t.Fatalf("panic = %v, want %v", v.Panic, c.panic)
			}
			var got strings.Builder
			for _, m := range v.Members {
				if m.Serving {
					got.WriteByte('s')
				} else {
					got.WriteByte('-')
				}
			}
			if got.String() != c.serving {
				t.Fatalf("serving %q, want %q", got.String(), c.serving)
			}
			if v.Serving != strings.Count(c.serving, "s") {
				t.Fatalf("Serving = %d", v.Serving)
			}
		})
	}
}

func TestEjectedIsNotHealthy(t *testing.T) {
	in := members("uuuu")
	in[1].Ejection = &Ejection{Pool: "web", Member: "m1", At: t0, Until: t0.Add(time.Minute), Count: 1}
	v := Evaluate(&Spec{Name: "web", Targets: []string{"x"}}, in)
	if v.Healthy != 3 || v.Ejected != 1 || v.Members[1].Serving || v.Panic {
		t.Fatalf("view %+v", v)
	}
	if _, ok := v.Member("m1"); !ok {
		t.Fatal("Member(m1) not found")
	}
}

func TestParseStrategy(t *testing.T) {
	for _, s := range []string{"", "round_robin", "weighted", "least_latency", "random"} {
		if _, err := ParseStrategy(s); err != nil {
			t.Errorf("ParseStrategy(%q): %v", s, err)
		}
	}
	_, err := ParseStrategy("fastest")
	var fe target.FieldError
	if !errors.As(err, &fe) || fe.Field != "strategy" {
		t.Fatalf("ParseStrategy(fastest) = %v, want a strategy field error", err)
	}
}

func TestPick(t *testing.T) {
	spec := Spec{Name: "web", Targets: []string{"x"}}
	in := members("uudu")
	v := Evaluate(&spec, in)
	var p Picker
	t.Run("round robin skips the down member, in turn", func(t *testing.T) {
		var got []string
		for range 6 {
			m, ok := p.Pick(&v, RoundRobin, "")
			if !ok {
				t.Fatal("nothing picked")
			}
			got = append(got, m.ID)
		}
		if strings.Join(got, ",") != "m0,m1,m3,m0,m1,m3" {
			t.Fatalf("picks %v", got)
		}
	})
	t.Run("random never picks the down member", func(t *testing.T) {
		seen := map[string]int{}
		for range 3000 {
			m, _ := p.Pick(&v, Random, "")
			seen[m.ID]++
		}
		if seen["m2"] != 0 || len(seen) != 3 || seen["m0"] < 800 {
			t.Fatalf("random picks %v", seen)
		}
	})
	t.Run("weighted follows weight and health", func(t *testing.T) {
		in := members("uuu")
		in[0].Spec.Labels = map[string]string{"weight": "3"}
		in[1].ErrorRate = 0.5 // half its probes fail: half the share
		for i := range in {
			in[i].Latency = 10 * time.Millisecond
		}
		in[2].Latency = 40 * time.Millisecond // 4x the median: a quarter
		v := Evaluate(&spec, in)
		seen := map[string]int{}
		const n = 40000
		for range n {
			m, _ := p.Pick(&v, Weighted, "")
			seen[m.ID]++
		}
		// Shares 3 : 0.5 : 0.25 of 3.75.
		for id, want := range map[string]float64{"m0": 3 / 3.75, "m1": 0.5 / 3.75, "m2": 0.25 / 3.75} {
			if got := float64(seen[id]) / n; got < want*0.9 || got > want*1.1 {
				t.Errorf("%s: share %.3f, want %.3f", id, got, want)
			}
		}
	})
	t.Run("least latency takes the fastest, in turn among equals", func(t *testing.T) {
		in := members("uuuu")
		for i, l := range []time.Duration{50, 10, 11, 0} {
			in[i].Latency = l * time.Millisecond
		}
		v := Evaluate(&spec, in)
		seen := map[string]int{}
		for range 100 {
			m, _ := p.Pick(&v, LeastLatency, "")
			seen[m.ID]++
		}
		if seen["m1"] != 50 || seen["m2"] != 50 {
			t.Fatalf("least latency picks %v, want m1 and m2 in turn", seen)
		}
	})
	t.Run("nothing healthy and panic off", func(t *testing.T) {
		spec := Spec{Name: "off", Targets: []string{"x"}, PanicThreshold: intp(0)}
		v := Evaluate(&spec, members("dd"))
		for _, s := range Strategies {
			if m, ok := p.Pick(&v, s, ""); ok {
				t.Fatalf("%s picked %v from a pool with nothing healthy", s, m.ID)
			}
		}
	})
	t.Run("panic fails open", func(t *testing.T) {
		v := Evaluate(&spec, members("uddd"))
		seen := map[string]bool{}
		for range 8 {
			m, ok := p.Pick(&v, RoundRobin, "")
			if !ok {
				t.Fatal("nothing picked in panic")
			}
			seen[m.ID] = true
		}
		if len(seen) != 4 {
			t.Fatalf("panic picks %v, want every member", seen)
		}
	})
	t.Run("empty pool", func(t *testing.T) {
		v := Evaluate(&spec, nil)
		if _, ok := p.Pick(&v, RoundRobin, ""); ok {
			t.Fatal("picked from an empty pool")
		}
	})
}

func TestPickZone(t *testing.T) {
	spec := Spec{Name: "web", Targets: []string{"x"}}
	zoned := func(states string, zones string) View {
		in := members(states)
		for i := range in {
			in[i].Spec.Labels = map[string]string{"zone": string(zones[i])}
		}
		return Evaluate(&spec, in)
	}
	var p Picker
	cases := []struct {
		name, states, zones, zone string
		want                      string // the set of ids picks come from
	}{
		{"prefers the caller's zone", "uuuu", "aabb", "a", "m0,m1"},
		{"unknown zone: every zone", "uuuu", "aabb", "c", "m0,m1,m2,m3"},
		{"no zone asked", "uuuu", "aabb", "", "m0,m1,m2,m3"},
		{"half the zone healthy is enough", "udud", "aabb", "a", "m0"},
		{"zone below the threshold spills over", "uddduu", "aaabbb", "a", "m0,m4,m5"},
		{"zone all down spills over", "dduu", "aabb", "a", "m2,m3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := zoned(c.states, c.zones)
			seen := map[string]bool{}
			for range 30 {
				m, ok := p.Pick(&v, RoundRobin, c.zone)
				if !ok {
					t.Fatal("nothing picked")
				}
				seen[m.ID] = true
			}
			var got []string
			for _, m := range v.Members {
				if seen[m.ID] {
					got = append(got, m.ID)
				}
			}
			if strings.Join(got, ",") != c.want {
				t.Fatalf("picked from %v, want %s", got, c.want)
			}
		})
	}
}
