// Package web owns heck's operator web UI: the dashboard, target, cluster,
// incident, status-page and user pages a node renders itself from embedded
// templates and assets (html/template, go:embed; a little hand-written JS
// for live updates), with the login and role checks of every page. It
// reads and writes the node through the small interfaces below; a nil
// optional interface hides its feature. Public status pages and badges are
// not here (internal/statuspage).
package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/history"
	"github.com/heckhq/heck/internal/incident"
	"github.com/heckhq/heck/internal/pool"
	"github.com/heckhq/heck/internal/statuspage"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/user"
	"github.com/heckhq/heck/internal/wire"
)

// Targets is what every page reads of the targets and what the target
// form writes: the API's Backend methods of the same names.
type Targets interface {
	Targets(ctx context.Context) []wire.TargetStatus
	Target(ctx context.Context, id string) (wire.TargetStatus, bool)
	PutTarget(ctx context.Context, spec target.Spec) (created bool, err error)
	DeleteTarget(ctx context.Context, id string) error
}

// History is a target's history and uptime (cluster scope by default).
type History interface {
	History(ctx context.Context, id string, from, to time.Time, step time.Duration, scope wire.Scope) ([]history.Point, wire.Coverage, error)
	Uptime(ctx context.Context, id string, scope wire.Scope) (history.Uptime, wire.Coverage, error)
}

// Transitions queries the log of state changes (api.Backend's method).
type Transitions interface {
	QueryTransitions(ctx context.Context, q store.TransitionQuery) ([]events.Transition, error)
}

// TransitionLog is the node's log of transitions as the live stream reads
// it (*events.Log and api.TransitionLog are one).
type TransitionLog interface {
	Last() int64
	Wait(ctx context.Context, after int64) error
	Read(ctx context.Context, after int64, limit int) ([]events.Transition, error)
}

// Members lists the cluster's members (api.ClusterBackend.Members).
type Members interface {
	Members(ctx context.Context) []wire.Member
}

// Pools lists the pools, evaluated.
type Pools interface {
	PoolViews(ctx context.Context) []pool.View
}

// Graph is the dependency graph with its states (api.GraphBackend.Graph).
type Graph interface {
	Graph(ctx context.Context) wire.Graph
}

// Vantages gives every observer's latest observation of a target.
type Vantages interface {
	Observations(ctx context.Context, id string) []health.Observation
}

// Auth is who a request acts as, logins and CSRF (internal/auth).
type Auth interface {
	// Principal returns who r acts as: a session cookie, a bearer user
	// token, or the node's api.token (admin); false when anonymous.
	Principal(r *http.Request) (user.Principal, bool)
	// Login checks name and password and returns the session cookie.
	Login(ctx context.Context, name, password, remote string) (*http.Cookie, error)
	// Logout revokes r's session and returns the cookie that clears it.
	Logout(r *http.Request) *http.Cookie
	// CSRFToken is the token r's forms carry (form field "csrf").
	CSRFToken(r *http.Request) string
	// CheckCSRF verifies an unsafe request carries its session's token.
	CheckCSRF(r *http.Request) error
}

// Users are the users admin pages' backend (internal/auth).
type Users interface {
	ListUsers(ctx context.Context) ([]user.User, error)
	Invite(ctx context.Context, name string, role user.Role, by string) (inviteToken string, err error)
	AcceptInvite(ctx context.Context, inviteToken, password string) error
	SetRole(ctx context.Context, name string, role user.Role, by string) error
	DeleteUser(ctx context.Context, name, by string) error
}

// Incidents are the incidents pages' backend.
type Incidents interface {
	Incidents(ctx context.Context) ([]incident.Incident, error)
	Incident(ctx context.Context, id string) (incident.Incident, error)
	PutIncident(ctx context.Context, in incident.Incident, by string) (incident.Incident, error)
	PostUpdate(ctx context.Context, id string, u incident.Update) (incident.Incident, error)
	DeleteIncident(ctx context.Context, id, by string) error
	IncidentFromTransition(ctx context.Context, transitionID, by string) (incident.Incident, error)
}

// StatusPages are the status pages' editing backend.
type StatusPages interface {
	StatusPages(ctx context.Context) ([]statuspage.Page, error)
	StatusPage(ctx context.Context, id string) (statuspage.Page, error)
	PutStatusPage(ctx context.Context, p statuspage.Page, by string) error
	DeleteStatusPage(ctx context.Context, id, by string) error
}

// Deps are what the UI is built over. Targets is required; every other
// nil interface hides its feature.
type Deps struct {
	Targets     Targets
	History     History
	Transitions Transitions
	// Log is the node's transition log the live stream follows.
	Log         TransitionLog
	Members     Members
	Pools       Pools
	Graph       Graph
	Vantages    Vantages
	Auth        Auth
	Users       Users
	Incidents   Incidents
	StatusPages StatusPages
}

// Options tune the UI.
type Options struct {
	// Title shows in the header (default "heck").
	Title string
	// NodeName names the node serving the pages.
	NodeName string
	// OpenReads lets anonymous visitors read the pages (api.open_reads,
	// or a node listening on loopback only). Without Auth they never
	// write.
	OpenReads bool
	// PageSize is the dashboard's rows per page (default 100).
	PageSize int
	// StatsTTL is how long a target's sparkline and uptime are reused
	// (default 30s).
	StatsTTL time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}
