package api

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/target"
)

// History query defaults and bounds.
const (
	DefaultHistoryRange = 24 * time.Hour
	DefaultHistoryStep  = 5 * time.Minute
	MinHistoryStep      = time.Second
	MaxHistoryPoints    = 10000
)

const timeFix = "use RFC 3339 (2024-05-01T12:00:00Z), unix seconds (1714564800), \"now\", or a time relative to now such as -24h or -7d"

// parseRange reads from, to and step of a history query.
func parseRange(q url.Values, now time.Time) (from, to time.Time, step time.Duration, p *Problem) {
	var errs []FieldProblem
	to, okTo := parseTime(q.Get("to"), now, now)
	if !okTo {
		errs = append(errs, FieldProblem{Field: "to", Value: q.Get("to"), Problem: "is not a time", Fix: timeFix})
	}
	from, okFrom := parseTime(q.Get("from"), to.Add(-DefaultHistoryRange), now)
	if !okFrom {
		errs = append(errs, FieldProblem{Field: "from", Value: q.Get("from"), Problem: "is not a time", Fix: timeFix})
	}
	step = DefaultHistoryStep
	if v := q.Get("step"); v != "" {
		d, err := target.ParseDuration(v)
		switch {
		case err != nil:
			errs = append(errs, FieldProblem{Field: "step", Value: v, Problem: "is not a duration",
				Fix: "use a duration such as 1m, 5m, 1h or 1d"})
		case d < MinHistoryStep:
			errs = append(errs, FieldProblem{Field: "step", Value: v, Problem: "is below 1s",
				Fix: "use a step of 1s or more, such as 1m or 5m"})
		default:
			step = d
		}
	}
	if okTo && okFrom && !from.Before(to) {
		errs = append(errs, FieldProblem{Field: "from", Value: q.Get("from"), Problem: "is not before to (" + to.Format(time.RFC3339) + ")",
			Fix: "set from earlier than to"})
	} else if okTo && okFrom && step > 0 && to.Sub(from)/step > MaxHistoryPoints {
		errs = append(errs, FieldProblem{Field: "step", Value: step.String(),
			Problem: "makes more than " + strconv.Itoa(MaxHistoryPoints) + " points over " + to.Sub(from).String(),
			Fix:     "use a larger step or a shorter range"})
	}
	if len(errs) > 0 {
		return from, to, step, queryProblem(errs...)
	}
	return from, to, step, nil
}

// parseTime reads a time: empty (def), "now", relative ("-24h", "-7d"),
// unix seconds or RFC 3339.
func parseTime(v string, def, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return def, true
	case v == "now":
		return now, true
	case v[0] == '-' || v[0] == '+':
		d, err := target.ParseDuration(v[1:])
		if err != nil {
			return def, false
		}
		if v[0] == '-' {
			d = -d
		}
		return now.Add(d), true
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 || f > 1e11 {
			return def, false
		}
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), true
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return def, false
	}
	return t, true
}
