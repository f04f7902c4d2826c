package node

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/heckhq/heck/internal/cluster"
	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/events"
	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/registry"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/user"
)

// maxAuditValue bounds the value an audit event carries.
const maxAuditValue = 2048

// auditConfig records changes of replicated objects as events, on every
// node with the same id (the kind, key and write stamp identify the
// change). A local change made through the API names its principal (the
// other nodes, which learn the change by gossip, do not know it).
func auditConfig[T any](n *Node, kind string, redact func(T) T, origin func(T) string) func(context.Context, []objects.Entry[T], bool) {
	return func(ctx context.Context, changed []objects.Entry[T], remote bool) {
		for _, e := range changed {
			n.auditChange(ctx, kind, e.Key, e.TS, e.Node, e.Deleted, nil, func() (any, string) {
				v := e.Value
				if redact != nil {
					v = redact(v)
				}
				o := ""
				if origin != nil {
					o = origin(e.Value)
				}
				return v, o
			})
		}
	}
}

// auditChange appends the config event of one write. before, when not nil,
// gives the value the write replaced (ok false: unknown, read the log).
func (n *Node) auditChange(ctx context.Context, kind, key string, ts crdt.Timestamp, writer string, deleted bool,
	before func() (string, bool), value func() (any, string)) {
	subject := kind + "/" + key
	by := ""
	if p, ok := user.FromContext(ctx); ok && writer == n.name {
		by = " by " + p.Name
	}
	ev := events.Transition{Type: events.TypeConfig, TargetID: subject, Subject: subject, At: ts.Wall(), Observer: writer}
	if kind == "target" {
		ev.TargetID = key
	}
	if deleted {
		ev.After, ev.Cause = "deleted", fmt.Sprintf("%s %s deleted%s on %s", kind, key, by, writer)
	} else {
		v, origin := value()
		via := "through the API"
		if origin == "config" {
			via = "from the config file"
		}
		ev.After, ev.Cause = auditValue(v), fmt.Sprintf("%s %s written%s %s of %s", kind, key, by, via, writer)
	}
	ev.ID = events.EventID(events.TypeConfig, subject+"@"+strconv.FormatUint(uint64(ts), 16), ev.At)
	// Before is what the subject's previous config event left: the value
	// the write replaced when the caller knows it, else as this node's log
	// holds it ("" for a new one).
	if before != nil {
		if b, ok := before(); ok {
			ev.Before = b
			n.tlog.Append(context.Background(), ev)
			return
		}
	}
	if prev, err := n.tlog.Query(context.Background(), store.TransitionQuery{TargetID: ev.TargetID, Type: events.TypeConfig, Limit: 4}); err == nil {
		for i := range prev {
			if prev[i].Subject == subject && prev[i].ID != ev.ID && !prev[i].At.After(ev.At) {
				ev.Before = prev[i].After
				break
			}
		}
	}
	n.tlog.Append(context.Background(), ev)
}

// auditValue is a config event's value: the object as JSON, cut at
// maxAuditValue.
func auditValue(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > maxAuditValue {
		b = append(b[:maxAuditValue], "..."...)
	}
	return string(b)
}

// auditRegistry records target changes. The before value comes from the
// entry each change replaced, so a registry sync of many new targets does
// not read the log once per target.
func (n *Node) auditRegistry(ctx context.Context, changed []registry.Entry, prior registry.Prior, _ bool) {
	for i, e := range changed {
		before := func() (string, bool) {
			p, held := prior(i)
			switch {
			case !held:
				return "", true
			case p.Deleted:
				return "deleted", true
			}
			return auditValue(p.Value.Redact()), true
		}
		n.auditChange(ctx, "target", e.Key, e.TS, e.Node, e.Deleted, before, func() (any, string) {
			s := e.Value.Redact()
			return s, s.Origin
		})
	}
}

// auditMember records a membership change this node saw.
func (n *Node) auditMember(ev cluster.Event, now time.Time) {
	what := ev.Type.String()
	t := events.Transition{Type: events.TypeMember, TargetID: "member/" + ev.Member.Name, Subject: "member/" + ev.Member.Name,
		At: now, Observer: n.name, After: ev.Member.State,
		Cause: fmt.Sprintf("member %s %s (%s), as %s saw it", ev.Member.Name, what, ev.Member.State, n.name)}
	t.ID = events.EventID(events.TypeMember, t.Subject+"/"+n.name, now)
	n.tlog.Append(context.Background(), t)
}
