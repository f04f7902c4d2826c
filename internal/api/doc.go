// Package api owns heck's REST API: the /api/v1 routes over targets, their
// history and uptime (scope cluster or local, with the Coverage of the
// answer), a node's own rollups (the compact RollupsResponse other nodes
// ask for), and transitions; the server-sent event stream of
// transitions; the cluster's members, join and leave; the gossip keyring
// (list, install, use, remove: runtime key rotation); /livez and /readyz;
// bearer-token authorisation; and RFC 9457 problem details for every
// error. It serves /metrics behind the same read rules but does not build
// it: Options.Metrics is the handler (internal/metrics owns the metrics
// and their exposition; internal/node assembles them).
//
// GET /api/v1/targets filters, orders and pages through internal/listing
// (docs/listing.md): over the Backend's Lister when it has one, so only the
// statuses shown are built, else over Targets; the whole list is streamed.
//
// The API reads and writes through Backend, an interface defined here and
// implemented by internal/node, so the handlers can be tested against a
// fake. The cluster routes use ClusterBackend when the Backend implements
// it; otherwise the node is a single node: GET /api/v1/members lists it
// alone (named by Options.NodeName) and join and leave answer 409. The
// keyring routes use KeyringBackend the same way; keys are accepted in
// request bodies only and never written back or logged: answers and logs
// name a key by its Fingerprint.
//
// Access: reads are open when the server listens only on loopback or when
// OpenReads is set; otherwise they need the token. Mutations need the token
// whenever one is configured or the server is not loopback-only; with no
// token off loopback they are refused with a problem saying to set
// api.token.
//
// Roles (access.go): with Options.Auth, a request acts as a principal (a
// session cookie, a user token or api.token, which is an admin); reads need
// a viewer, changes an editor, notifiers, keys, members and users an admin.
// Unsafe session requests need the session's CSRF token. Anonymous
// requests keep the rules above, except that once a user exists changes
// on loopback need a principal too. /api/v1/users and /api/v1/tokens are
// served through Options.Users (users.go).
package api
