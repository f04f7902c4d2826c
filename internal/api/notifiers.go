package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/heckhq/heck/internal/dispatch"
	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/wire"
)

// NotifierBackend is optionally implemented by a Backend that keeps
// notifiers (internal/node does: a replicated collection). It serves
// /api/v1/notifiers; a Backend without it answers 501 there.
type NotifierBackend interface {
	Notifiers(ctx context.Context) []notify.Spec
	Notifier(ctx context.Context, id string) (notify.Spec, bool)
	// PutNotifier stores a validated notifier; created says it is new.
	PutNotifier(ctx context.Context, s notify.Spec) (created bool, err error)
	// DeleteNotifier deletes one; an error wrapping store.ErrNotFound
	// when there is none.
	DeleteNotifier(ctx context.Context, id string) error
	// TestNotifier sends a test message; an error wrapping
	// store.ErrNotFound when there is no such notifier, else the
	// channel's error.
	TestNotifier(ctx context.Context, id string) error
}

// Problem types of the notifier routes.
const (
	TypeInvalidNotifier = wire.TypeInvalidNotifier
	TypeNoNotifiers     = wire.TypeNoNotifiers
	TypeNotifyFailed    = wire.TypeNotifyFailed
)

func (s *Server) notifiers(w http.ResponseWriter) (NotifierBackend, bool) {
	nb, ok := s.b.(NotifierBackend)
	if !ok {
		writeProblem(w, problem(http.StatusNotImplemented, TypeNoNotifiers, "Notifiers not supported",
			"this server keeps no notifiers; run heck serve (a node) to use them"))
	}
	return nb, ok
}

func notifierNotFound(id string) *Problem {
	return problem(http.StatusNotFound, TypeNotFound, "Notifier not found",
		fmt.Sprintf("no notifier with id %q; list them with GET /api/v1/notifiers (heck notifiers ls)", id))
}

// Notifiers are shown redacted: a secret written as a value, not a ${VAR},
// never leaves the node.
func (s *Server) listNotifiers(w http.ResponseWriter, r *http.Request) {
	nb, ok := s.notifiers(w)
	if !ok {
		return
	}
	out := []notify.Spec{}
	for _, n := range nb.Notifiers(r.Context()) {
		out = append(out, n.Redacted())
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getNotifier(w http.ResponseWriter, r *http.Request) {
	nb, ok := s.notifiers(w)
	if !ok {
		return
	}
	n, ok := nb.Notifier(r.Context(), r.PathValue("id"))
	if !ok {
		writeProblem(w, notifierNotFound(r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, n.Redacted())
}

func (s *Server) addNotifier(w http.ResponseWriter, r *http.Request) { s.writeNotifier(w, r, "", true) }
func (s *Server) putNotifier(w http.ResponseWriter, r *http.Request) {
	s.writeNotifier(w, r, r.PathValue("id"), false)
}

// writeNotifier validates the body with this node's environment (a
// ${VAR} that is not set is refused here, naming the field) and stores it.
func (s *Server) writeNotifier(w http.ResponseWriter, r *http.Request, id string, create bool) {
	nb, ok := s.notifiers(w)
	if !ok {
		return
	}
	var spec notify.Spec
	if !decodeStrict(w, r, &spec, "notifier", `{"id":"ops", "kind":"webhook", "webhook":{"url":"https://..."}}`) {
		return
	}
	if id != "" {
		if spec.ID == "" {
			spec.ID = id
		}
		if spec.ID != id {
			writeProblem(w, problem(http.StatusUnprocessableEntity, TypeInvalidNotifier, "Invalid notifier",
				fmt.Sprintf("the body names notifier %q but the path %q; use the same id, or leave id out", spec.ID, id)))
			return
		}
	}
	fes := spec.Validate(os.LookupEnv)
	fes = append(fes, redactedNotifier(&spec)...)
	if len(fes) > 0 {
		writeInvalid(w, TypeInvalidNotifier, "notifier", fes)
		return
	}
	if create {
		if _, exists := nb.Notifier(r.Context(), spec.ID); exists {
			writeProblem(w, problem(http.StatusConflict, TypeConflict, "Notifier exists",
				fmt.Sprintf("a notifier with id %q exists; replace it with PUT /api/v1/notifiers/%s or delete it first", spec.ID, spec.ID)))
			return
		}
	}
	created, err := nb.PutNotifier(r.Context(), spec)
	if err != nil {
		s.internal(w, r, "store notifier "+spec.ID, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
		w.Header().Set("Location", "/api/v1/notifiers/"+url.PathEscape(spec.ID))
	}
	writeJSON(w, code, spec.Redacted())
}

// redactedNotifier refuses a spec that carries the redaction placeholder
// (one read back from the API and sent again would replace a secret).
func redactedNotifier(s *notify.Spec) target.FieldErrors {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(s) != nil || !bytes.Contains(b.Bytes(), []byte(target.Redacted)) {
		return nil
	}
	return target.FieldErrors{{Field: "notifier", Problem: "contains the redaction placeholder " + target.Redacted,
		Fix: "send the real value, or a ${VAR} reference to an environment variable of the node"}}
}

func (s *Server) deleteNotifier(w http.ResponseWriter, r *http.Request) {
	nb, ok := s.notifiers(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := nb.DeleteNotifier(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeProblem(w, notifierNotFound(id))
			return
		}
		s.internal(w, r, "delete notifier "+id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// testNotifier sends a test message: 200 when the channel took it, 502
// with the channel's error (and whether a retry may help) when not.
func (s *Server) testNotifier(w http.ResponseWriter, r *http.Request) {
	nb, ok := s.notifiers(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	err := nb.TestNotifier(r.Context(), id)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "sent": true})
	case errors.Is(err, store.ErrNotFound):
		writeProblem(w, notifierNotFound(id))
	default:
		retry := "a retry may help"
		if notify.Permanent(err) {
			retry = "the channel refused it: fix the notifier before retrying"
		}
		writeProblem(w, problem(http.StatusBadGateway, TypeNotifyFailed, "Test message not delivered",
			fmt.Sprintf("notifier %s: %v (%s)", id, err, retry)))
	}
}

// DeliveryBackend is optionally implemented by a Backend that notifies:
// GET /api/v1/notifications?target=&limit= lists its delivery records.
type DeliveryBackend interface {
	Deliveries(ctx context.Context, target string, limit int) []dispatch.Delivery
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	db, ok := s.b.(DeliveryBackend)
	if !ok {
		writeProblem(w, problem(http.StatusNotImplemented, TypeNoNotifiers, "Notifications not supported",
			"this server sends no notifications; run heck serve (a node)"))
		return
	}
	limit, ok := transitionLimit(w, r)
	if !ok {
		return
	}
	out := db.Deliveries(r.Context(), r.URL.Query().Get("target"), limit)
	if out == nil {
		out = []dispatch.Delivery{}
	}
	writeJSON(w, http.StatusOK, out)
}
