package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/cluster/gossipkey"
)

// keyFix says how to get a good key.
const keyFix = "send the base64 of a 16, 24 or 32-byte key; generate one with `heck keys generate` (or `head -c 32 /dev/urandom | base64`)"

// keyOpTimeout bounds one keyring change.
const keyOpTimeout = 10 * time.Second

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	kb, ok := s.b.(KeyringBackend)
	if !ok {
		writeProblem(w, notClustered("list gossip keys of"))
		return
	}
	keys, err := kb.Keys(r.Context())
	if err != nil {
		if errors.Is(err, ErrNotClustered) {
			writeProblem(w, notClustered("list gossip keys of"))
			return
		}
		s.internal(w, r, "list gossip keys", err)
		return
	}
	writeJSON(w, http.StatusOK, KeyList{Keys: sortKeys(keys)})
}

// sortKeys puts the primary key first and the rest by fingerprint, and
// never returns nil (the JSON is an array).
func sortKeys(keys []KeyInfo) []KeyInfo {
	out := append([]KeyInfo{}, keys...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Primary != out[j].Primary {
			return out[i].Primary
		}
		return out[i].Fingerprint < out[j].Fingerprint
	})
	return out
}

// keyOp is one of install, use and remove.
type keyOp struct {
	verb string // "install", for messages
	run  func(KeyringBackend, context.Context, []byte) error
	// check refuses the change before it is tried, from the keyring as
	// it is (fp is the key's fingerprint), or returns nil.
	check func(keys []KeyInfo, fp string) *Problem
}

var (
	installOp = keyOp{verb: "install", run: KeyringBackend.InstallKey}
	useOp     = keyOp{verb: "use", run: KeyringBackend.UseKey, check: func(keys []KeyInfo, fp string) *Problem {
		if !hasKey(keys, fp) {
			return notInstalled(fp)
		}
		return nil
	}}
	removeOp = keyOp{verb: "remove", run: KeyringBackend.RemoveKey, check: func(keys []KeyInfo, fp string) *Problem {
		for _, k := range keys {
			if k.Primary && k.Fingerprint == fp {
				return isPrimary(fp)
			}
		}
		return nil
	}}
)

func hasKey(keys []KeyInfo, fp string) bool {
	for _, k := range keys {
		if k.Fingerprint == fp {
			return true
		}
	}
	return false
}

func notInstalled(fp string) *Problem {
	return problem(http.StatusUnprocessableEntity, TypeKeyNotInstalled, "Key not installed",
		"the key with fingerprint "+fp+" is not installed on this node, so it cannot encrypt; install it first "+
			"(POST /api/v1/keys/install, or heck keys install KEY --all to install it on every node), then use it")
}

func isPrimary(fp string) *Problem {
	return problem(http.StatusConflict, TypeKeyPrimary, "Key is primary",
		"the key with fingerprint "+fp+" is the primary key: it encrypts this node's gossip and cannot be removed; "+
			"make another installed key primary first (heck keys use NEWKEY --all), then remove this one")
}

func encryptionOff(verb string) *Problem {
	return problem(http.StatusConflict, TypeEncryptionOff, "Gossip encryption off",
		"this node gossips without encryption, so it has no keyring to "+verb+" a key in, and encryption cannot be "+
			"turned on at runtime; set cluster.keys (the same key on every node) in each node's config and restart the nodes")
}

func (s *Server) installKey(w http.ResponseWriter, r *http.Request) { s.changeKey(w, r, installOp) }
func (s *Server) useKey(w http.ResponseWriter, r *http.Request)     { s.changeKey(w, r, useOp) }
func (s *Server) removeKey(w http.ResponseWriter, r *http.Request)  { s.changeKey(w, r, removeOp) }

func (s *Server) changeKey(w http.ResponseWriter, r *http.Request, op keyOp) {
	body, p := readBody(w, r)
	if p != nil {
		writeProblem(w, p)
		return
	}
	key, p := decodeKey(body)
	if p != nil {
		writeProblem(w, p)
		return
	}
	kb, ok := s.b.(KeyringBackend)
	if !ok {
		writeProblem(w, notClustered(op.verb+" gossip keys in"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), keyOpTimeout)
	defer cancel()
	fp := gossipkey.Fingerprint(key)
	before, err := kb.Keys(ctx)
	if err != nil {
		s.keyError(w, r, op, fp, err)
		return
	}
	if len(before) == 0 {
		writeProblem(w, encryptionOff(op.verb))
		return
	}
	if op.check != nil {
		if p := op.check(before, fp); p != nil {
			writeProblem(w, p)
			return
		}
	}
	if err := op.run(kb, ctx, key); err != nil {
		s.keyError(w, r, op, fp, err)
		return
	}
	after, err := kb.Keys(ctx)
	if err != nil {
		s.keyError(w, r, op, fp, err)
		return
	}
	s.log.Info("api: gossip keyring changed", "op", op.verb, "fingerprint", fp, "keys", len(after))
	writeJSON(w, http.StatusOK, KeyResponse{Fingerprint: fp, Changed: !sameKeys(before, after), Keys: sortKeys(after)})
}

func sameKeys(a, b []KeyInfo) bool {
	a, b = sortKeys(a), sortKeys(b)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// keyError answers a backend's keyring error. The backend's errors carry
// no sentinel for a missing or primary key (memberlist's keyring says it
// in words), so those are recognised by their text as a second line of
// defence behind the checks made before the change.
func (s *Server) keyError(w http.ResponseWriter, r *http.Request, op keyOp, fp string, err error) {
	msg := strings.ToLower(err.Error())
	switch {
	case errors.Is(err, ErrNotClustered):
		writeProblem(w, notClustered(op.verb+" gossip keys in"))
	case strings.Contains(msg, "encryption is off"):
		writeProblem(w, encryptionOff(op.verb))
	case strings.Contains(msg, "not in the keyring"):
		writeProblem(w, notInstalled(fp))
	case strings.Contains(msg, "primary key"):
		writeProblem(w, isPrimary(fp))
	default:
		s.internal(w, r, op.verb+" gossip key "+fp, err)
	}
}

var keyRequestFields = map[string]bool{"key": true}

// decodeKey reads a key request strictly and decodes its key. No problem
// it answers contains the key or any part of the body.
func decodeKey(body []byte) ([]byte, *Problem) {
	const example = `send {"key": "<base64 of 32 bytes>"}`
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, problem(http.StatusBadRequest, TypeInvalidJSON, "Invalid JSON", "the request body is empty; "+example)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		// Say where, never what: the body holds a key.
		detail := "the body is not a JSON object; " + example
		var se *json.SyntaxError
		if errors.As(err, &se) {
			detail = fmt.Sprintf("malformed JSON at offset %d (line %d); %s", se.Offset, lineOf(body, se.Offset), example)
		} else if errors.Is(err, io.ErrUnexpectedEOF) {
			detail = fmt.Sprintf("the JSON ends early at offset %d; %s", len(body), example)
		}
		return nil, problem(http.StatusBadRequest, TypeInvalidJSON, "Invalid JSON", detail)
	}
	if m == nil {
		return nil, problem(http.StatusBadRequest, TypeInvalidJSON, "Invalid key request", "the body is null; "+example)
	}
	var errs []FieldProblem
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if keyRequestFields[k] {
			continue
		}
		fix := "remove it"
		if strings.EqualFold(k, "key") {
			fix = `write it as "key" (lower case)`
		}
		errs = append(errs, FieldProblem{Field: fieldName(k), Problem: "is not a known field", Fix: fix})
	}
	raw, ok := m["key"]
	var key string
	switch {
	case !ok:
		errs = append(errs, FieldProblem{Field: "key", Problem: "is missing", Fix: keyFix})
	case json.Unmarshal(raw, &key) != nil:
		errs = append(errs, FieldProblem{Field: "key", Problem: "is not a string", Fix: keyFix})
	}
	if len(errs) > 0 {
		p := problem(http.StatusBadRequest, TypeInvalidJSON, "Invalid key request",
			fmt.Sprintf("%d field(s) could not be read; %s", len(errs), example))
		p.Errors = errs
		return nil, p
	}
	k, err := gossipkey.Parse(key)
	if err != nil {
		p := problem(http.StatusUnprocessableEntity, TypeInvalidRequest, "Invalid key",
			"the key "+err.Error()+"; the key is not shown back")
		p.Errors = []FieldProblem{{Field: "key", Problem: err.Error(), Fix: keyFix}}
		return nil, p
	}
	return k, nil
}

// fieldName shows an unknown field's name when it looks like a field
// name, and hides it otherwise (it might be a key sent as a name).
func fieldName(k string) string {
	if len(k) == 0 || len(k) > 32 {
		return "(an unknown field)"
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			return "(an unknown field)"
		}
	}
	return k
}
