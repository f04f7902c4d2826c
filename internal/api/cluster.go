package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/health"
)

// ClusterBackend is optionally implemented by a Backend that takes part in
// a cluster (internal/node implements it). It serves GET /api/v1/members,
// POST /api/v1/members/join and POST /api/v1/leave. Every method must be
// safe for concurrent use.
//
// A Backend without it is a single node: the members route lists one
// member, this node (named by Options.NodeName), and join and leave answer
// 409 with a problem of type TypeNotClustered.
type ClusterBackend interface {
	// Members lists every member this node knows, itself included (Self
	// set), with the number of targets each owns. A node running without
	// clustering returns itself alone, alive, owning every target.
	Members(ctx context.Context) []Member
	// Join contacts addrs (host:port or DNS names, every address of a
	// name; port 7946 when left out) and merges membership with each. It
	// returns how many answered and an error only when none did (the error
	// text is shown to the user: say why, such as a key mismatch). It
	// returns an error wrapping ErrNotClustered when the node runs without
	// clustering, and ErrLeft after Leave.
	Join(ctx context.Context, addrs []string) (contacted int, err error)
	// Leave leaves the cluster gracefully: the node stops probing, hands
	// its targets off (the others see it "left", not dead, and take its
	// targets over at once), then stops gossiping. The process keeps
	// serving the API until it is stopped; Members then lists the node as
	// left. Leaving again returns nil or ErrLeft (both answer 200). It
	// returns an error wrapping ErrNotClustered when there is no cluster.
	Leave(ctx context.Context) error
}

// Errors a ClusterBackend returns (wrapped or not) for the API to answer
// 409 Conflict with the fix.
var (
	// ErrNotClustered: the node runs without clustering (no cluster.bind
	// and no cluster.join).
	ErrNotClustered = errors.New("this node runs without clustering")
	// ErrLeft: the node has left the cluster and does not gossip any more.
	ErrLeft = errors.New("this node has left the cluster")
)

// Bounds of the cluster routes.
const (
	// MaxJoinAddrs is the most addresses one join may name.
	MaxJoinAddrs = 64
	// clusterOpTimeout bounds a join or a leave (under the client's 30 s).
	clusterOpTimeout = 25 * time.Second
)

const joinAddrFix = "write a gossip address such as 10.0.0.2:7946, a host (port 7946), or a DNS name such as heck-headless.default.svc.cluster.local"

func (s *Server) members(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, MemberList{Members: s.memberList(r.Context())})
}

// memberList is the backend's members sorted by name, or this node alone.
func (s *Server) memberList(ctx context.Context) []Member {
	cb, ok := s.b.(ClusterBackend)
	if !ok {
		return []Member{s.singleNode(ctx)}
	}
	ms := cb.Members(ctx)
	if ms == nil {
		ms = []Member{}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	return ms
}

// singleNode describes this node when the backend is not clustered: it
// owns every target.
func (s *Server) singleNode(ctx context.Context) Member {
	n := 0
	if ss, ok := s.b.(StateSource); ok {
		ss.EachState(func(string, health.State) { n++ })
	} else {
		n = len(s.b.Targets(ctx))
	}
	return Member{Name: s.nodeName, State: MemberAlive, Weight: 1, Targets: n, Self: true}
}

func (s *Server) join(w http.ResponseWriter, r *http.Request) {
	body, p := readBody(w, r)
	if p != nil {
		writeProblem(w, p)
		return
	}
	req, p := decodeJoin(body)
	if p != nil {
		writeProblem(w, p)
		return
	}
	cb, ok := s.b.(ClusterBackend)
	if !ok {
		writeProblem(w, notClustered("join"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), clusterOpTimeout)
	defer cancel()
	n, err := cb.Join(ctx, req.Addrs)
	if err != nil {
		switch {
		case errors.Is(err, ErrNotClustered):
			writeProblem(w, notClustered("join"))
		case errors.Is(err, ErrLeft):
			writeProblem(w, left("join"))
		case r.Context().Err() != nil:
			// the client went away
		default:
			s.log.Warn("api: join failed", "addrs", req.Addrs, "err", err)
			writeProblem(w, problem(http.StatusBadGateway, TypeJoinFailed, "Join failed",
				err.Error()+"; check that each address is a member's gossip address (its cluster.bind, port 7946 by default, not the API port), that the member runs, and that cluster.keys match"))
		}
		return
	}
	writeJSON(w, http.StatusOK, JoinResponse{Contacted: n, Members: s.memberList(r.Context())})
}

// decodeJoin reads and checks a join request: at least one address, at
// most MaxJoinAddrs, each a plausible host or host:port.
func decodeJoin(body []byte) (JoinRequest, *Problem) {
	var req JoinRequest
	if len(bytes.TrimSpace(body)) == 0 {
		return req, problem(http.StatusBadRequest, TypeInvalidJSON, "Invalid JSON",
			`the request body is empty; send {"addrs": ["10.0.0.2:7946"]}`)
	}
	if p := syntaxCheck(body); p != nil {
		return req, p
	}
	var errs []FieldProblem
	checkValue(json.RawMessage(body), joinRequestType, "", &errs)
	if len(errs) > 0 {
		p := problem(http.StatusBadRequest, TypeInvalidJSON, "Invalid join request",
			fmt.Sprintf(`%d field(s) could not be read; send {"addrs": ["10.0.0.2:7946"]}`, len(errs)))
		p.Errors = errs
		return req, p
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return req, problem(http.StatusBadRequest, TypeInvalidJSON, "Invalid join request", err.Error())
	}
	switch {
	case len(req.Addrs) == 0:
		errs = append(errs, FieldProblem{Field: "addrs", Problem: "is empty",
			Fix: "name at least one member's gossip address, such as 10.0.0.2:7946"})
	case len(req.Addrs) > MaxJoinAddrs:
		errs = append(errs, FieldProblem{Field: "addrs", Value: strconv.Itoa(len(req.Addrs)) + " addresses",
			Problem: fmt.Sprintf("names more than %d addresses", MaxJoinAddrs),
			Fix:     "name a few members (or one DNS name that resolves to them); the rest are found by gossip"})
	default:
		for i, a := range req.Addrs {
			if prob := joinAddrProblem(a); prob != "" {
				errs = append(errs, FieldProblem{Field: "addrs[" + strconv.Itoa(i) + "]", Value: safeValue("", a),
					Problem: prob, Fix: joinAddrFix})
			}
		}
	}
	if len(errs) > 0 {
		p := problem(http.StatusUnprocessableEntity, TypeInvalidRequest, "Invalid join request",
			fmt.Sprintf("%d problem(s) with the addresses; fix each field listed in errors", len(errs)))
		p.Errors = errs
		return req, p
	}
	for i, a := range req.Addrs {
		req.Addrs[i] = strings.TrimSpace(a)
	}
	return req, nil
}

var joinRequestType = reflect.TypeFor[JoinRequest]()

// joinAddrProblem says what is wrong with a join address, or "".
func joinAddrProblem(a string) string {
	a = strings.TrimSpace(a)
	switch {
	case a == "":
		return "is blank"
	case strings.Contains(a, "://"):
		return "is a URL, not a gossip address"
	case strings.ContainsAny(a, " \t\r\n/?#@"):
		return "is not host or host:port"
	}
	host := a
	if h, port, err := net.SplitHostPort(a); err == nil {
		n, perr := strconv.Atoi(port)
		if perr != nil || n < 1 || n > 65535 {
			return "has a port that is not a number from 1 to 65535"
		}
		host = h
	} else if strings.HasPrefix(a, "[") && strings.HasSuffix(a, "]") {
		host = a[1 : len(a)-1]
	}
	if host == "" {
		return "has no host"
	}
	if net.ParseIP(host) != nil {
		return ""
	}
	if strings.Contains(host, ":") {
		return "is not host or host:port (write an IPv6 address with a port as [::1]:7946)"
	}
	if len(host) > 253 {
		return "is a host name longer than 253 characters"
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return fmt.Sprintf("has %q, which no host name has", c)
		}
	}
	return ""
}

func (s *Server) leave(w http.ResponseWriter, r *http.Request) {
	cb, ok := s.b.(ClusterBackend)
	if !ok {
		writeProblem(w, notClustered("leave"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), clusterOpTimeout)
	defer cancel()
	if err := cb.Leave(ctx); err != nil && !errors.Is(err, ErrLeft) {
		if errors.Is(err, ErrNotClustered) {
			writeProblem(w, notClustered("leave"))
			return
		}
		s.internal(w, r, "leave the cluster", err)
		return
	}
	resp := LeaveResponse{State: MemberLeft}
	for _, m := range cb.Members(r.Context()) {
		if m.Self {
			resp.Name = m.Name
			if m.State != "" {
				resp.State = m.State
			}
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func notClustered(what string) *Problem {
	return problem(http.StatusConflict, TypeNotClustered, "Not clustered",
		"this node runs without clustering, so there is nothing to "+what+
			"; start it with cluster.bind (heck serve --gossip ADDR) or cluster.join (--join ADDR) to form a cluster")
}

func left(what string) *Problem {
	return problem(http.StatusConflict, TypeNodeLeft, "Node has left",
		"this node has left the cluster and cannot "+what+" again; restart it (heck serve) to rejoin")
}

// hostName names a single node when Options.NodeName is empty.
func hostName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "heck"
}
