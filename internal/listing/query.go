package listing

import (
	"encoding/base64"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/target"
)

// Paging bounds.
const (
	// DefaultLimit is a page's size when a cursor is given without limit.
	DefaultLimit = 100
	// MaxLimit is the largest page.
	MaxLimit = 1000
	// MaxText is the longest free-text query, in bytes.
	MaxText = 200
)

// Params are the query parameters Parse reads.
var Params = []string{"state", "kind", "label", "pool", "q", "limit", "cursor"}

// Label is one name=value pair of a label selector.
type Label struct{ Name, Value string }

// Query selects and pages targets. The zero Query lists every target.
type Query struct {
	// States keeps the targets in any of these states (none: every state).
	States []health.State
	// Kind keeps the targets of this kind ("": every kind).
	Kind target.Kind
	// Labels keeps the targets that carry every pair.
	Labels []Label
	// Pool names the pool whose members are kept; InPool must then say
	// who they are (the caller resolves the pool, see internal/api).
	Pool   string
	InPool func(*target.Spec) bool
	// Text keeps the targets whose id, name, URL (without user info),
	// address, or a label name or value contains it, ignoring case.
	Text string
	// Limit is the page size; 0 lists everything, unpaged.
	Limit int
	// After is the id the page starts after (a decoded cursor).
	After string

	text []byte // Text lowered, when ASCII
}

// Paged reports whether q asks for a page rather than the whole list.
func (q *Query) Paged() bool { return q.Limit > 0 }

func (q *Query) filtersState() bool { return len(q.States) > 0 }

func (q *Query) filtersSpec() bool {
	return q.Kind != "" || len(q.Labels) > 0 || q.Pool != "" || q.Text != ""
}

// Parse reads a query from URL parameters (see Params); parameters it does
// not know are left to the caller. Every bad value is reported, each as a
// field error naming the parameter, its value and the fix.
func Parse(v url.Values) (Query, target.FieldErrors) {
	var q Query
	var errs target.FieldErrors
	for _, raw := range v["state"] {
		for _, name := range strings.Split(raw, ",") {
			st, err := health.ParseState(strings.TrimSpace(name))
			if err != nil {
				errs = append(errs, target.FieldError{Field: "state", Value: raw, Problem: "is not a state",
					Fix: "use one or more (comma-separated) of unknown, up, down, degraded, impacted, late, stale"})
				break
			}
			q.States = append(q.States, st)
		}
	}
	if k := v.Get("kind"); k != "" {
		if !knownKind(k) {
			errs = append(errs, target.FieldError{Field: "kind", Value: k, Problem: "is not a known kind",
				Fix: "use one of " + kindNames()})
		}
		q.Kind = target.Kind(k)
	}
	for _, l := range v["label"] {
		name, val, ok := strings.Cut(l, "=")
		if !ok || name == "" {
			errs = append(errs, target.FieldError{Field: "label", Value: l, Problem: "is not name=value",
				Fix: "write label=name=value, such as label=env=prod"})
			continue
		}
		q.Labels = append(q.Labels, Label{Name: name, Value: val})
	}
	q.Pool = v.Get("pool")
	if t := strings.TrimSpace(v.Get("q")); len(t) > MaxText {
		errs = append(errs, target.FieldError{Field: "q", Value: t[:MaxText] + "...",
			Problem: "is longer than " + strconv.Itoa(MaxText) + " bytes", Fix: "search for a shorter text"})
	} else {
		q.SetText(t)
	}
	_, hasLimit := v["limit"]
	if hasLimit {
		l := v.Get("limit")
		n, err := strconv.Atoi(l)
		switch {
		case err != nil:
			errs = append(errs, target.FieldError{Field: "limit", Value: l, Problem: "is not a whole number",
				Fix: "use a page size from 1 to " + strconv.Itoa(MaxLimit) + ", such as limit=100"})
		case n < 1 || n > MaxLimit:
			errs = append(errs, target.FieldError{Field: "limit", Value: l, Problem: "is out of range",
				Fix: "use a page size from 1 to " + strconv.Itoa(MaxLimit) + ", such as limit=100"})
		default:
			q.Limit = n
		}
	}
	if c, ok := v["cursor"]; ok {
		after, err := DecodeCursor(c[0])
		if err != nil {
			errs = append(errs, target.FieldError{Field: "cursor", Value: c[0], Problem: "is not a cursor of this listing",
				Fix: "pass the next_cursor of the previous page unchanged, or leave cursor out to start from the first page"})
		}
		q.After = after
		if !hasLimit {
			q.Limit = DefaultLimit
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
	return q, errs
}

// SetText sets the free-text filter.
func (q *Query) SetText(t string) {
	q.Text = t
	q.text = nil
	if t != "" && isASCII(t) {
		q.text = []byte(strings.ToLower(t))
	}
}

// EncodeCursor returns the cursor of a page that ends with the target id:
// opaque to clients (URL-safe base64 of the id).
func EncodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id))
}

// DecodeCursor returns the id a cursor names.
func DecodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(c, "="))
	if err != nil {
		return "", err
	}
	if len(b) == 0 || !utf8.Valid(b) {
		return "", base64.CorruptInputError(0)
	}
	return string(b), nil
}

func knownKind(k string) bool {
	for _, kk := range target.Kinds {
		if string(kk) == k {
			return true
		}
	}
	return false
}

func kindNames() string {
	n := make([]string, len(target.Kinds))
	for i, k := range target.Kinds {
		n[i] = string(k)
	}
	return strings.Join(n, ", ")
}

// Match reports whether q keeps a target with spec s in state st.
func (q *Query) Match(s *target.Spec, st health.State) bool {
	return (!q.filtersSpec() || q.matchSpec(s)) && (!q.filtersState() || q.matchState(st))
}

func (q *Query) matchState(st health.State) bool {
	for _, s := range q.States {
		if s == st {
			return true
		}
	}
	return false
}

// matchSpec applies the filters that need only the spec.
func (q *Query) matchSpec(s *target.Spec) bool {
	if q.Kind != "" && s.Kind != q.Kind {
		return false
	}
	for _, l := range q.Labels {
		if v, ok := s.Labels[l.Name]; !ok || v != l.Value {
			return false
		}
	}
	if q.Pool != "" && (q.InPool == nil || !q.InPool(s)) {
		return false
	}
	if q.Text != "" && !q.matchText(s) {
		return false
	}
	return true
}

func (q *Query) matchText(s *target.Spec) bool {
	if q.contains(s.ID) || q.contains(s.Name) || q.contains(withoutUserinfo(s.URL)) || q.contains(s.Address) {
		return true
	}
	for k, v := range s.Labels {
		if q.contains(k) || q.contains(v) {
			return true
		}
	}
	return false
}

// contains reports whether s holds the text, ignoring case, without
// allocating when the text is ASCII.
func (q *Query) contains(s string) bool {
	if q.text == nil {
		return strings.Contains(strings.ToLower(s), strings.ToLower(q.Text))
	}
	t := q.text
	if len(t) > len(s) {
		return false
	}
	for i := 0; i+len(t) <= len(s); i++ {
		j := 0
		for ; j < len(t); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != t[j] {
				break
			}
		}
		if j == len(t) {
			return true
		}
	}
	return false
}

// withoutUserinfo drops the user and password of a URL, so a search never
// matches (and so never reveals) a secret the listing redacts.
func withoutUserinfo(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	rest := u[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return u
	}
	return u[:i+3] + rest[at+1:]
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
