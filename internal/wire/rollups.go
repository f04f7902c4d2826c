package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/heckhq/heck/internal/store"
)

// RollupsResponse is the body of GET /api/v1/targets/{id}/rollups: one
// node's own rollups of a target with minutes in [From, To), summed into
// groups of Step from From. It is what a node asks the other members for
// when it serves a cluster-scope history or uptime.
//
// On the wire each group is one array of integers (the "columns"):
//
//	[index, count, failures, latency_sum_us, latency_max_us, bucket_0, ..., bucket_k]
//
// index numbers the group (it starts at from + index*step), latencies are
// in microseconds, bucket_i counts the results of store.LatencyBuckets[i]
// (the last: slower), trailing zero buckets are left out, and empty groups
// are not sent. from and to are unix seconds, step seconds.
type RollupsResponse struct {
	TargetID string
	// Node is the member whose rollups these are.
	Node string
	// From and To are whole seconds; Step whole minutes.
	From, To time.Time
	Step     time.Duration
	// Rollups are the non-empty groups, oldest first; Minute is the
	// group's start, TargetID is left empty.
	Rollups []store.Rollup
}

// rollupColumns names the columns of a row of RollupsResponse.
var rollupColumns = []string{"index", "count", "failures", "latency_sum_us", "latency_max_us", "buckets..."}

var rollupColumnsJSON, _ = json.Marshal(rollupColumns)

// MarshalJSON writes the compact form described on RollupsResponse.
func (r RollupsResponse) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(make([]byte, 0, 128+len(r.Rollups)*24)), nil
}

func (r RollupsResponse) AppendJSON(b []byte) []byte {
	str := func(b []byte, s string) []byte {
		q, _ := json.Marshal(s) // a string always marshals
		return append(b, q...)
	}
	b = append(b, `{"target_id":`...)
	b = str(b, r.TargetID)
	b = append(b, `,"node":`...)
	b = str(b, r.Node)
	b = append(b, `,"from":`...)
	b = strconv.AppendInt(b, r.From.Unix(), 10)
	b = append(b, `,"to":`...)
	b = strconv.AppendInt(b, r.To.Unix(), 10)
	b = append(b, `,"step":`...)
	b = strconv.AppendInt(b, int64(r.Step/time.Second), 10)
	b = append(b, `,"columns":`...)
	b = append(b, rollupColumnsJSON...)
	b = append(b, `,"rollups":[`...)
	from, stepS := r.From.Unix(), int64(r.Step/time.Second)
	for i := range r.Rollups {
		g := &r.Rollups[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, (g.Minute.Unix()-from)/max(stepS, 1), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(g.Count), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(g.Failures), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, g.LatencySum, 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(g.LatencyMax), 10)
		last := len(g.Buckets)
		for last > 0 && g.Buckets[last-1] == 0 {
			last--
		}
		for _, n := range g.Buckets[:last] {
			b = append(b, ',')
			b = strconv.AppendUint(b, uint64(n), 10)
		}
		b = append(b, ']')
	}
	return append(b, "]}\n"...)
}

type rollupsJSON struct {
	TargetID string          `json:"target_id"`
	Node     string          `json:"node"`
	From     *int64          `json:"from"`
	To       *int64          `json:"to"`
	Step     int64           `json:"step"`
	Rollups  json.RawMessage `json:"rollups"`
}

// UnmarshalJSON reads what MarshalJSON writes and checks it: every group
// within [from, to) and after the one before, its failures and buckets
// adding up to its count. The rows are parsed by hand (a cluster read
// decodes one answer per member on its critical path).
func (r *RollupsResponse) UnmarshalJSON(b []byte) error {
	// The rows come last, as MarshalJSON writes them: only the few bytes
	// before them go through encoding/json. Anything else (keys in
	// another order, a bad row) is read again the general way, whose
	// answer stands.
	if head, rows, ok := splitRows(b); ok {
		var j rollupsJSON
		if json.Unmarshal(head, &j) == nil && j.Rollups == nil {
			j.Rollups = rows
			if r.decode(&j) == nil {
				return nil
			}
		}
	}
	var j rollupsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("rollups: %w", err)
	}
	return r.decode(&j)
}

// rowsKey starts the rows in MarshalJSON's output. Inside a JSON string a
// quote is always escaped, so the first match is the key itself.
var rowsKey = []byte(`,"rollups":`)

// splitRows splits MarshalJSON's output into the object without its rows
// and the rows.
func splitRows(b []byte) (head, rows []byte, ok bool) {
	i := bytes.Index(b, rowsKey)
	if i < 0 {
		return nil, nil, false
	}
	rest := bytes.TrimRight(b[i+len(rowsKey):], " \t\r\n")
	if len(rest) == 0 || rest[len(rest)-1] != '}' {
		return nil, nil, false
	}
	return append(b[:i:i], '}'), rest[:len(rest)-1], true
}

func (r *RollupsResponse) decode(j *rollupsJSON) error {
	if j.From == nil || j.To == nil {
		return errors.New("rollups: from or to is missing")
	}
	if j.Step < 60 || j.Step%60 != 0 {
		return fmt.Errorf("rollups: step %d is not a whole number of minutes in seconds", j.Step)
	}
	if *j.To < *j.From {
		return fmt.Errorf("rollups: to %d is before from %d", *j.To, *j.From)
	}
	groups := (*j.To - *j.From + j.Step - 1) / j.Step
	*r = RollupsResponse{TargetID: j.TargetID, Node: j.Node, From: time.Unix(*j.From, 0).UTC(),
		To: time.Unix(*j.To, 0).UTC(), Step: time.Duration(j.Step) * time.Second}
	// A row takes 12 bytes at least: room for all without growing.
	r.Rollups = make([]store.Rollup, 0, min(groups, int64(len(j.Rollups)/12+1)))
	var row [5 + store.NumBuckets]uint64
	i := 0
	err := parseRows(j.Rollups, row[:], func(cols int) error {
		if cols < 5 {
			return fmt.Errorf("row %d has %d columns, want 5 to %d", i, cols, 5+store.NumBuckets)
		}
		if row[0] >= uint64(groups) {
			return fmt.Errorf("row %d: group %d is outside the %d groups of [from, to)", i, row[0], groups)
		}
		for _, c := range []int{1, 2, 4} {
			if row[c] > math.MaxUint32 {
				return fmt.Errorf("row %d: %s %d is too large", i, rollupColumns[c], row[c])
			}
		}
		g := store.Rollup{Minute: time.Unix(*j.From+int64(row[0])*j.Step, 0).UTC(),
			Count: uint32(row[1]), Failures: uint32(row[2]), LatencySum: row[3], LatencyMax: uint32(row[4])}
		var sum uint64
		for k, n := range row[5:cols] {
			if n > math.MaxUint32 {
				return fmt.Errorf("row %d: bucket %d count %d is too large", i, k, n)
			}
			g.Buckets[k] = uint32(n)
			sum += n
		}
		if g.Failures > g.Count || sum != uint64(g.Count) {
			return fmt.Errorf("row %d: count %d, failures %d and buckets adding up to %d disagree", i, g.Count, g.Failures, sum)
		}
		if n := len(r.Rollups); n > 0 && !r.Rollups[n-1].Minute.Before(g.Minute) {
			return fmt.Errorf("row %d: group %d is not after the previous one", i, row[0])
		}
		r.Rollups = append(r.Rollups, g)
		i++
		return nil
	})
	if err != nil {
		return fmt.Errorf("rollups: %w", err)
	}
	return nil
}

// parseRows reads a JSON array of arrays of non-negative integers, each
// inner array into row (at most len(row) of them), calling fn with how
// many it held. null or an absent value is no rows.
func parseRows(b []byte, row []uint64, fn func(cols int) error) error {
	p := 0
	ws := func() {
		for p < len(b) && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r') {
			p++
		}
	}
	expect := func(c byte) error {
		ws()
		if p >= len(b) || b[p] != c {
			return fmt.Errorf("offset %d: want %q", p, c)
		}
		p++
		return nil
	}
	ws()
	if len(b) == 0 || string(b[p:]) == "null" {
		return nil
	}
	if err := expect('['); err != nil {
		return err
	}
	ws()
	if p < len(b) && b[p] == ']' {
		p++
		return nil
	}
	for {
		if err := expect('['); err != nil {
			return err
		}
		cols := 0
		for {
			ws()
			start := p
			var v uint64
			for p < len(b) && b[p] >= '0' && b[p] <= '9' {
				d := uint64(b[p] - '0')
				if v > (math.MaxUint64-d)/10 {
					return fmt.Errorf("offset %d: number out of range", start)
				}
				v = v*10 + d
				p++
			}
			if p == start {
				return fmt.Errorf("offset %d: want a non-negative integer", p)
			}
			if cols == len(row) {
				return fmt.Errorf("offset %d: a row has more than %d columns", start, len(row))
			}
			row[cols] = v
			cols++
			ws()
			if p < len(b) && b[p] == ',' {
				p++
				continue
			}
			if err := expect(']'); err != nil {
				return err
			}
			break
		}
		if err := fn(cols); err != nil {
			return err
		}
		ws()
		if p < len(b) && b[p] == ',' {
			p++
			continue
		}
		if err := expect(']'); err != nil {
			return err
		}
		ws()
		if p != len(b) {
			return fmt.Errorf("offset %d: data after the rows", p)
		}
		return nil
	}
}

// MaxRollupGroups bounds the groups one rollups read may ask for (30 days
// of minutes is 43,200).
const MaxRollupGroups = 100_000

// IsTargetNotFound reports whether p is the API's answer for a target it
// does not know (and not, say, for a route an older node lacks).
func IsTargetNotFound(p Problem) bool {
	return p.Status == http.StatusNotFound && p.Type == TypeNotFound && p.Title == TargetNotFoundTitle
}

const TargetNotFoundTitle = "Target not found"
