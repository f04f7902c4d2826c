package statuspage

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/target"
)

// Limits on what a page may hold.
const (
	MaxTitle       = 200
	MaxDescription = 2000
	MaxDisplayName = 100
	MaxGroups      = 50
	MaxEntries     = 200 // per page
)

// Kind is the status page kind's registration: its name and validator.
var Kind = objects.Kind[Page]{
	Name: "statuspage",
	Validate: func(key string, p Page) error {
		if p.ID != key {
			return target.FieldError{Field: "id", Value: p.ID, Problem: fmt.Sprintf("does not match the key %q it is stored under", key),
				Fix: "store a page under its own id"}
		}
		return p.Validate()
	},
}

// Collection is the replicated set of status pages.
type Collection = objects.Collection[Page]

var (
	slugPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	labelPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// ValidSlug reports whether id can name a page: 1 to 64 lower-case
// letters, digits and '-', starting with a letter or digit.
func ValidSlug(id string) bool { return slugPattern.MatchString(id) }

// HostProblem says what is wrong with a page's host name, if anything.
func HostProblem(h string) (problem, fix string) {
	const fix0 = "give a bare host name such as \"status.example.com\": lower case, no scheme, port or path"
	switch {
	case strings.Contains(h, "://") || strings.ContainsAny(h, "/:?#@ "):
		return "is not a bare host name", fix0
	case len(h) > 253:
		return "is longer than 253 bytes", fix0
	case h != strings.ToLower(h):
		return "has upper-case letters", "write it in lower case (" + strings.ToLower(h) + "); host names match without case"
	}
	labels := strings.Split(strings.TrimSuffix(h, "."), ".")
	for _, l := range labels {
		if !labelPattern.MatchString(l) {
			return fmt.Sprintf("has the label %q, which is not a DNS label", l), fix0
		}
	}
	return "", ""
}

// Targets returns the ids of every target the page shows, in page order,
// each once.
func (p *Page) Targets() []string {
	var out []string
	seen := map[string]bool{}
	for _, g := range p.Groups {
		for _, e := range g.Entries {
			if !seen[e.Target] {
				seen[e.Target] = true
				out = append(out, e.Target)
			}
		}
	}
	return out
}

// Shows reports whether the page shows the target, and under which name.
func (p *Page) Shows(id string) (string, bool) {
	for _, g := range p.Groups {
		for _, e := range g.Entries {
			if e.Target == id {
				return e.DisplayName, true
			}
		}
	}
	return "", false
}

// Validate checks every field and reports every problem, each naming the
// field, the value and the fix.
func (p *Page) Validate() error {
	var errs target.FieldErrors
	add := func(field, value, problem, fix string) {
		errs = append(errs, target.FieldError{Field: field, Value: value, Problem: problem, Fix: fix})
	}
	if !ValidSlug(p.ID) {
		fix := "use 1 to 64 lower-case letters, digits and '-', starting with a letter or digit: the page is served at /status/ID"
		if l := strings.ToLower(p.ID); l != p.ID && ValidSlug(l) {
			fix = "write it in lower case (" + l + "): the page is served at /status/ID"
		}
		add("id", p.ID, "is not a valid page slug", fix)
	}
	switch t := strings.TrimSpace(p.Title); {
	case t == "":
		add("title", "", "is missing", "give the page a title, such as \"Example status\"")
	case len(p.Title) > MaxTitle:
		add("title", p.Title[:32]+"...", fmt.Sprintf("is %d bytes long", len(p.Title)), fmt.Sprintf("keep it under %d bytes", MaxTitle))
	}
	if len(p.Description) > MaxDescription {
		add("description", p.Description[:32]+"...", fmt.Sprintf("is %d bytes long", len(p.Description)), fmt.Sprintf("keep it under %d bytes", MaxDescription))
	}
	if p.Host != "" {
		if problem, fix := HostProblem(p.Host); problem != "" {
			add("host", p.Host, problem, fix)
		}
	}
	if len(p.Groups) == 0 {
		add("groups", "", "is empty", "give at least one group with entries (name, and entries of target and display_name)")
	}
	if len(p.Groups) > MaxGroups {
		add("groups", fmt.Sprint(len(p.Groups)), "holds too many groups", fmt.Sprintf("use at most %d", MaxGroups))
	}
	entries := 0
	groupSeen := map[string]int{}
	for i, g := range p.Groups {
		at := fmt.Sprintf("groups[%d]", i)
		if strings.TrimSpace(g.Name) == "" {
			add(at+".name", "", "is missing", "name the group, such as \"Website\" or \"API\"")
		} else if len(g.Name) > MaxDisplayName {
			add(at+".name", g.Name[:32]+"...", fmt.Sprintf("is %d bytes long", len(g.Name)), fmt.Sprintf("keep it under %d bytes", MaxDisplayName))
		} else if j, dup := groupSeen[g.Name]; dup {
			add(at+".name", g.Name, fmt.Sprintf("is the name of groups[%d] too", j), "give each group its own name, or merge them")
		}
		groupSeen[g.Name] = i
		if len(g.Entries) == 0 {
			add(at+".entries", "", "is empty", "list the targets the group shows (target and display_name)")
		}
		seen := map[string]int{}
		for j, e := range g.Entries {
			entries++
			eat := fmt.Sprintf("%s.entries[%d]", at, j)
			if !target.ValidID(e.Target) {
				add(eat+".target", e.Target, "is not a valid target id", "use the id of a target (heck targets ls)")
			} else if k, dup := seen[e.Target]; dup {
				add(eat+".target", e.Target, fmt.Sprintf("is entries[%d] of the group too", k), "show each target once in a group")
			}
			seen[e.Target] = j
			switch d := strings.TrimSpace(e.DisplayName); {
			case d == "":
				add(eat+".display_name", "", "is missing", "give the name the public sees, such as \"Website\" (never the target's URL or address)")
			case len(e.DisplayName) > MaxDisplayName:
				add(eat+".display_name", e.DisplayName[:32]+"...", fmt.Sprintf("is %d bytes long", len(e.DisplayName)), fmt.Sprintf("keep it under %d bytes", MaxDisplayName))
			}
		}
	}
	if entries > MaxEntries {
		add("groups", fmt.Sprint(entries), "hold too many entries", fmt.Sprintf("show at most %d targets on one page", MaxEntries))
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
