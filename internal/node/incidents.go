package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/api"
	"github.com/heckhq/heck/internal/health"
	"github.com/heckhq/heck/internal/incident"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

// The node keeps incidents: a replicated collection (kind "incident")
// persisted in the store, written on any node and gossiped to all.
var _ api.IncidentBackend = (*Node)(nil)

// Incidents lists every incident, newest first.
func (n *Node) Incidents(context.Context) ([]incident.Incident, error) {
	es := n.incidents.List()
	out := make([]incident.Incident, len(es))
	for i, e := range es {
		out[i] = e.Value
	}
	slices.SortStableFunc(out, func(a, b incident.Incident) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// Incident returns one incident; an error wrapping store.ErrNotFound when
// there is none.
func (n *Node) Incident(_ context.Context, id string) (incident.Incident, error) {
	in, ok := n.incidents.Get(id)
	if !ok {
		return incident.Incident{}, fmt.Errorf("incident %q: %w", id, store.ErrNotFound)
	}
	return in, nil
}

// PutIncident creates or replaces an incident and returns it as stored. A
// new one gets an id, Created and CreatedBy (by) when they are empty;
// replacing one with no updates given keeps its updates and status (an
// edit of the title, impact or targets), and keeps Created and CreatedBy.
// Every target must exist. Problems come back as target.FieldErrors.
func (n *Node) PutIncident(ctx context.Context, in incident.Incident, by string) (incident.Incident, error) {
	now := time.Now()
	if in.ID != "" {
		if cur, ok := n.incidents.Get(in.ID); ok {
			if in.Updates == nil {
				in.Updates, in.Status, in.Resolved = cur.Updates, cur.Status, cur.Resolved
			}
			if in.Created.IsZero() {
				in.Created = cur.Created
			}
			if in.CreatedBy == "" {
				in.CreatedBy = cur.CreatedBy
			}
		}
	}
	if in.CreatedBy == "" {
		in.CreatedBy = by
	}
	in.Prepare(now)
	var errs target.FieldErrors
	if fes, ok := target.AsFieldErrors(in.Validate()); ok {
		errs = append(errs, fes...)
	}
	for i, id := range in.Targets {
		if fe, bad := n.unknownTarget(fmt.Sprintf("targets[%d]", i), id); bad {
			errs = append(errs, fe)
		}
	}
	if len(errs) > 0 {
		return incident.Incident{}, errs
	}
	if err := n.incidents.Put(ctx, in.ID, in); err != nil {
		return incident.Incident{}, fmt.Errorf("store incident %s: %w", in.ID, err)
	}
	return in, nil
}

// unknownTarget reports a valid target id that names no target.
func (n *Node) unknownTarget(field, id string) (target.FieldError, bool) {
	if !target.ValidID(id) {
		return target.FieldError{}, false // reported by validation
	}
	if _, ok := n.reg.Get(id); ok {
		return target.FieldError{}, false
	}
	return target.FieldError{Field: field, Value: id, Problem: "is not a known target",
		Fix: "use the id of a target (heck targets ls), or add the target first"}, true
}

// PostUpdate posts an update on an incident: its status (empty: the
// current one) and message; a resolved update sets Resolved.
func (n *Node) PostUpdate(ctx context.Context, id string, u incident.Update) (incident.Incident, error) {
	in, err := n.Incident(ctx, id)
	if err != nil {
		return incident.Incident{}, err
	}
	var errs target.FieldErrors
	if u.Status != "" && !incident.ValidStatus(u.Status) {
		errs = append(errs, target.FieldError{Field: "status", Value: string(u.Status), Problem: "is not an incident status",
			Fix: "use one of investigating, identified, monitoring, resolved"})
	} else if u.Status != "" && slices.Index(incident.Statuses, u.Status) < slices.Index(incident.Statuses, in.Status) {
		errs = append(errs, target.FieldError{Field: "status", Value: string(u.Status), Problem: "goes back from " + string(in.Status),
			Fix: fmt.Sprintf("post %s or a later status; to reopen a resolved incident, open a new one", in.Status)})
	}
	if strings.TrimSpace(u.Message) == "" {
		errs = append(errs, target.FieldError{Field: "message", Value: "", Problem: "is missing",
			Fix: "say what is known, what is being done, or that it is fixed"})
	}
	if len(errs) > 0 {
		return incident.Incident{}, errs
	}
	in.Post(u, time.Now())
	if err := in.Validate(); err != nil {
		return incident.Incident{}, err
	}
	if err := n.incidents.Put(ctx, in.ID, in); err != nil {
		return incident.Incident{}, fmt.Errorf("store incident %s: %w", in.ID, err)
	}
	return in, nil
}

// DeleteIncident deletes an incident everywhere; an error wrapping
// store.ErrNotFound when there is none.
func (n *Node) DeleteIncident(ctx context.Context, id, by string) error {
	if err := n.incidents.Delete(ctx, id); err != nil {
		return fmt.Errorf("delete incident %q (asked by %s): %w", id, byName(by), err)
	}
	return nil
}

func byName(by string) string {
	if by == "" {
		return "an API client"
	}
	return by
}

// ErrNoTransition is wrapped by IncidentFromTransition's error when the
// transition is not in this node's log (also wraps store.ErrNotFound).
var ErrNoTransition = fmt.Errorf("no such transition: %w", store.ErrNotFound)

// IncidentFromTransition opens an incident from a state transition (one
// click in the UI): titled after the target and its new state, attached to
// the target, investigating. An open incident already opened from the same
// transition is returned instead of a second one.
func (n *Node) IncidentFromTransition(ctx context.Context, transitionID, by string) (incident.Incident, error) {
	for _, e := range n.incidents.List() {
		if e.Value.Transition == transitionID && e.Value.Open() {
			return e.Value, nil
		}
	}
	seq, ok := n.tlog.SeqOf(ctx, transitionID)
	if !ok {
		return incident.Incident{}, fmt.Errorf("transition %q: %w", transitionID, ErrNoTransition)
	}
	ts, err := n.tlog.Read(ctx, seq-1, 1)
	if err != nil {
		return incident.Incident{}, fmt.Errorf("read transition %q: %w", transitionID, err)
	}
	if len(ts) == 0 || ts[0].ID != transitionID {
		return incident.Incident{}, fmt.Errorf("transition %q: %w", transitionID, ErrNoTransition)
	}
	t := ts[0]
	if t.Type != "" {
		return incident.Incident{}, target.FieldErrors{{Field: "transition", Value: transitionID,
			Problem: "is a " + t.Type + " event, not a change of a target's state", Fix: "open an incident from a target's transition (GET /api/v1/transitions)"}}
	}
	// The incident is public on the status pages: it names the target as
	// a page shows it, else by its name or id.
	name := t.TargetID
	var targets []string
	if spec, ok := n.reg.Get(t.TargetID); ok {
		targets = []string{spec.ID}
		if spec.Name != "" {
			name = spec.Name
		}
	}
	for _, e := range n.pages.List() { // by page id: the first page's name
		if dn, ok := e.Value.Shows(t.TargetID); ok {
			name = dn
			break
		}
	}
	impact := incident.ImpactMinor
	if t.To == health.Down {
		impact = incident.ImpactMajor
	}
	now := time.Now()
	in := incident.Incident{
		Title:      fmt.Sprintf("%s is %s", name, t.To),
		Impact:     impact,
		Targets:    targets,
		Transition: transitionID,
		CreatedBy:  by,
	}
	in.Prepare(now)
	in.Post(incident.Update{Status: incident.Investigating, By: by,
		Message: fmt.Sprintf("We are investigating: %s has been %s since %s.", name, t.To, t.At.UTC().Format("15:04 UTC, 2 Jan"))}, now)
	if err := in.Validate(); err != nil {
		return incident.Incident{}, err
	}
	if err := n.incidents.Put(ctx, in.ID, in); err != nil {
		return incident.Incident{}, fmt.Errorf("store incident %s: %w", in.ID, err)
	}
	return in, nil
}
