// Package statuspage owns public status pages: a title, groups of targets
// shown under display names that hide what is internal, their current
// state, a 90-day history and the incidents that affect them, served
// without a login at their own path and optionally on their own host name,
// and the SVG badges. A page is one kind of replicated object
// (internal/objects, kind "statuspage"), so every node serves the same ones.
package statuspage

// Page is one status page. ID is its slug: the page is served at
// /status/{ID} and, when Host is set, at / on that host name.
type Page struct {
	ID          string  `json:"id" yaml:"id"`
	Title       string  `json:"title" yaml:"title"`
	Description string  `json:"description,omitempty" yaml:"description,omitempty"`
	Host        string  `json:"host,omitempty" yaml:"host,omitempty"`
	Groups      []Group `json:"groups" yaml:"groups"`
	// ShowErrors shows a down target's error text on the page; off by
	// default, since error texts name internal addresses.
	ShowErrors bool `json:"show_errors,omitempty" yaml:"show_errors,omitempty"`
	// ShowLatency shows response times.
	ShowLatency bool `json:"show_latency,omitempty" yaml:"show_latency,omitempty"`
	// Origin is "config" for a config file's pages, "" for the API's.
	Origin string `json:"origin,omitempty" yaml:"-"`
}

// Group is a titled group of entries on a page.
type Group struct {
	Name    string  `json:"name" yaml:"name"`
	Entries []Entry `json:"entries" yaml:"entries"`
}

// Entry is one target as a page shows it: by its display name only.
type Entry struct {
	Target      string `json:"target" yaml:"target"`
	DisplayName string `json:"display_name" yaml:"display_name"`
}
