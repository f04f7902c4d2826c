package pool

import (
	"slices"
	"sort"
	"time"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/target"
)

// Input is what the node knows of one member target when it evaluates a
// pool: the target, the cluster's verdict of it, its latest latency, and
// its ejection if it has one in force.
type Input struct {
	Spec    *target.Spec
	State   health.State
	Latency time.Duration // 0: none known
	// ErrorRate is the share of recent probes that failed, -1 when
	// unknown; Fails the consecutive failed probes.
	ErrorRate float64
	Fails     int
	// Interval is the member's probe interval (0: unknown).
	Interval time.Duration
	Ejection *Ejection // nil: not ejected
}

// Member is one member of a pool as consumers see it.
type Member struct {
	ID      string       `json:"id"`
	Name    string       `json:"name,omitempty"`
	State   health.State `json:"state"`
	Address string       `json:"address,omitempty"`
	Port    int          `json:"port,omitempty"`
	Weight  int          `json:"weight"`
	Zone    string       `json:"zone,omitempty"`
	// Healthy is true when the member is up or degraded and not ejected.
	Healthy bool `json:"healthy"`
	// Ejected is set while an outlier ejection holds the member out.
	Ejected *Ejection `json:"ejected,omitempty"`
	// Serving is true when consumers get this member: it is healthy, or
	// the pool is in panic and fails open over it.
	Serving bool `json:"serving"`
	// Latency, ErrorRate (-1: unknown) and Fails are the member's recent
	// probe summary, for weighted picks and outlier detection.
	Latency   time.Duration `json:"-"`
	LatencyMS float64       `json:"latency_ms,omitempty"`
	ErrorRate float64       `json:"error_rate"`
	Fails     int           `json:"consecutive_failures,omitempty"`
	Interval  time.Duration `json:"-"`
}

// View is a pool evaluated: its members, sorted by id, and whether it is in
// panic.
type View struct {
	Name    string   `json:"name"`
	Members []Member `json:"members"`
	// Healthy counts the healthy members, Serving those consumers get.
	Healthy int `json:"healthy"`
	Serving int `json:"serving"`
	// Panic is true when fewer than Threshold percent of the members are
	// healthy: consumers then fail open (FailOpen) instead of sending all
	// traffic to the few left.
	Panic     bool   `json:"panic"`
	Threshold int    `json:"panic_threshold"`
	FailOpen  string `json:"fail_open"`
	// Ejected counts the members held out by outlier ejection.
	Ejected int `json:"ejected"`
	// MedianLatency is the median latency of the serving members with one
	// known (0: none), for weighted picks.
	MedianLatency time.Duration `json:"-"`
	// Spec is the pool as written.
	Spec Spec `json:"spec"`
}

// Healthy reports whether a member in state s with no ejection may take
// traffic in normal operation: up, or degraded (it still answers).
func Healthy(s health.State) bool { return s == health.Up || s == health.Degraded }

// Evaluate builds the view of pool spec from its members' inputs (in any
// order; only the members of the pool should be given).
func Evaluate(spec *Spec, in []Input) View {
	v := View{Name: spec.Name, Threshold: spec.Threshold(), FailOpen: spec.FailOpenMode(), Spec: *spec,
		Members: make([]Member, len(in))}
	for i := range in {
		ep := spec.Endpoint(in[i].Spec)
		m := Member{ID: in[i].Spec.ID, Name: in[i].Spec.Name, State: in[i].State, Address: ep.Address, Port: ep.Port,
			Weight: ep.Weight, Zone: ep.Zone, Ejected: in[i].Ejection, Latency: in[i].Latency, ErrorRate: in[i].ErrorRate, Fails: in[i].Fails, Interval: in[i].Interval}
		m.LatencyMS = float64(m.Latency.Microseconds()) / 1000
		m.Healthy = Healthy(m.State) && m.Ejected == nil
		if m.Healthy {
			v.Healthy++
		}
		if m.Ejected != nil {
			v.Ejected++
		}
		v.Members[i] = m
	}
	sort.Slice(v.Members, func(i, j int) bool { return v.Members[i].ID < v.Members[j].ID })
	v.Panic = InPanic(v.Healthy, len(v.Members), v.Threshold)
	for i := range v.Members {
		m := &v.Members[i]
		switch {
		case m.Healthy:
			m.Serving = true
		case v.Panic && v.FailOpen == FailOpenAll:
			m.Serving = true
		case v.Panic && v.FailOpen == FailOpenNotDown:
			m.Serving = m.State != health.Down
		}
		if m.Serving {
			v.Serving++
		}
	}
	var ls []time.Duration
	for i := range v.Members {
		if m := &v.Members[i]; m.Serving && m.Latency > 0 {
			ls = append(ls, m.Latency)
		}
	}
	if len(ls) > 0 {
		slices.Sort(ls)
		v.MedianLatency = ls[len(ls)/2]
	}
	return v
}

// InPanic reports whether healthy of total members is below threshold
// percent. An empty pool is not in panic: there is nothing to fail open
// over.
func InPanic(healthy, total, threshold int) bool {
	return total > 0 && threshold > 0 && healthy*100 < threshold*total
}

// Member returns the member with id, if the view has it.
func (v *View) Member(id string) (*Member, bool) {
	i := sort.Search(len(v.Members), func(i int) bool { return v.Members[i].ID >= id })
	if i < len(v.Members) && v.Members[i].ID == id {
		return &v.Members[i], true
	}
	return nil, false
}

// ServingMembers returns the members consumers get, in id order.
func (v *View) ServingMembers() []Member {
	out := make([]Member, 0, v.Serving)
	for _, m := range v.Members {
		if m.Serving {
			out = append(out, m)
		}
	}
	return out
}
