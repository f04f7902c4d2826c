package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/heckhq/heck/internal/target"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 1 << 20

// readBody reads at most MaxBodyBytes of r's body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *Problem) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		mt = strings.TrimSpace(strings.ToLower(mt))
		if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			return nil, problem(http.StatusUnsupportedMediaType, TypeUnsupported, "Unsupported media type",
				fmt.Sprintf("Content-Type %q is not JSON; send the body as application/json", ct))
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, problem(http.StatusRequestEntityTooLarge, TypeTooLarge, "Request body too large",
				fmt.Sprintf("the body is over %d bytes; send at most 1 MiB", MaxBodyBytes))
		}
		return nil, problem(http.StatusBadRequest, TypeInvalidJSON, "Unreadable request body", err.Error())
	}
	return body, nil
}

// DecodeTarget decodes the JSON of one target strictly: malformed JSON is
// answered with the byte offset of the error, and every unknown field or
// value of the wrong type is named with its full path ("http.methd"). It
// does not validate the spec, and cannot tell "interval":"0s" from no
// interval at all; DecodeTargetWritten can.
func DecodeTarget(body []byte) (target.Spec, *Problem) {
	spec, _, p := DecodeTargetWritten(body)
	return spec, p
}

// DecodeTargetWritten is DecodeTarget that also says which of the keys
// whose zero means "use the default" (target.ZeroMeansDefault: interval,
// rise, replicas...) the JSON gives a non-null value, matched as
// encoding/json matches them (case-insensitively). Pass written to
// Spec.ValidateWritten so that {"interval":"0s"} is an error instead of
// the default interval. written is never nil.
func DecodeTargetWritten(body []byte) (spec target.Spec, written func(key string) bool, p *Problem) {
	none := func(string) bool { return false }
	spec, p = decodeTarget(body)
	if p != nil {
		return spec, none, p
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		// decodeTarget read an object out of body: not reached.
		return spec, none, nil
	}
	var set []string
	for k, v := range members {
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			continue // null leaves the field alone, as if left out
		}
		for _, z := range target.ZeroMeansDefault {
			if strings.EqualFold(k, z) && !slices.Contains(set, z) {
				set = append(set, z)
			}
		}
	}
	return spec, func(key string) bool { return slices.Contains(set, key) }, nil
}

func decodeTarget(body []byte) (target.Spec, *Problem) {
	var spec target.Spec
	if len(bytes.TrimSpace(body)) == 0 {
		return spec, problem(http.StatusBadRequest, TypeInvalidJSON, "Invalid JSON",
			"the request body is empty; send a target as a JSON object such as {\"id\":\"web\",\"kind\":\"http\",\"url\":\"http://127.0.0.1:8080/\"}")
	}
	if err := syntaxCheck(body); err != nil {
		return spec, err
	}
	var errs []FieldProblem
	checkValue(json.RawMessage(body), specType, "", &errs)
	if len(errs) > 0 {
		p := problem(http.StatusBadRequest, TypeInvalidJSON, "Invalid target JSON",
			fmt.Sprintf("%d field(s) of the target could not be read", len(errs)))
		p.Errors = errs
		return spec, p
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		// checkValue accepted what the decoder refuses: report it plainly.
		return target.Spec{}, problem(http.StatusBadRequest, TypeInvalidJSON, "Invalid target JSON", err.Error())
	}
	return spec, nil
}

// syntaxCheck reports malformed JSON with its offset, and data after the
// first value.
func syntaxCheck(body []byte) *Problem {
	dec := json.NewDecoder(bytes.NewReader(body))
	var v json.RawMessage
	err := dec.Decode(&v)
	if err == nil {
		if _, err2 := dec.Token(); err2 != io.EOF {
			off := dec.InputOffset()
			return problem(http.StatusBadRequest, TypeInvalidJSON, "Invalid JSON",
				fmt.Sprintf("unexpected data after the JSON object at offset %d; send exactly one object", off))
		}
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return problem(http.StatusBadRequest, TypeInvalidJSON, "Invalid JSON",
			fmt.Sprintf("malformed JSON at offset %d (line %d): %s", se.Offset, lineOf(body, se.Offset), se.Error()))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return problem(http.StatusBadRequest, TypeInvalidJSON, "Invalid JSON",
			fmt.Sprintf("the JSON ends early at offset %d; close every object and string", len(body)))
	}
	return problem(http.StatusBadRequest, TypeInvalidJSON, "Invalid JSON", err.Error())
}

func lineOf(b []byte, off int64) int {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(b[:off], []byte("\n")) + 1
}

var (
	specType        = reflect.TypeFor[target.Spec]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	fieldCache      sync.Map // reflect.Type -> map[string]reflect.Type
)

// jsonFields lists the JSON member names of struct type t, with embedded
// structs without a tag inlined, as encoding/json does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				m[k] = v
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}

// checkValue walks raw against type t and reports unknown fields and
// values of the wrong type, each with its path.
func checkValue(raw json.RawMessage, t reflect.Type, path string, errs *[]FieldProblem) {
	if len(*errs) >= 50 {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return
	}
	switch {
	case reflect.PointerTo(t).Implements(unmarshalerType):
		checkLeaf(raw, t, path, errs)
	case t.Kind() == reflect.Struct:
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			*errs = append(*errs, FieldProblem{Field: orRoot(path), Value: safeValue(path, short(raw)),
				Problem: "is not an object", Fix: "write it as a JSON object {...}"})
			return
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			name := k
			if !ok {
				for fk, fv := range fields {
					if strings.EqualFold(fk, k) {
						ft, ok, name = fv, true, fk
						break
					}
				}
			}
			p := join(path, name)
			if !ok {
				fix := "remove it"
				if s := closest(k, fields); s != "" {
					fix = fmt.Sprintf("did you mean %q? otherwise remove it", s)
				}
				*errs = append(*errs, FieldProblem{Field: join(path, k), Problem: "is not a known field", Fix: fix})
				continue
			}
			checkValue(m[k], ft, p, errs)
		}
	case t.Kind() == reflect.Slice && elemIsStruct(t.Elem()):
		var arr []json.RawMessage
		if err := json.Unmarshal(raw, &arr); err != nil {
			*errs = append(*errs, FieldProblem{Field: path, Value: safeValue(path, short(raw)),
				Problem: "is not an array", Fix: "write it as a JSON array [...]"})
			return
		}
		for i, e := range arr {
			checkValue(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", errs)
		}
	default:
		checkLeaf(raw, t, path, errs)
	}
}

func elemIsStruct(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(unmarshalerType)
}

func checkLeaf(raw json.RawMessage, t reflect.Type, path string, errs *[]FieldProblem) {
	v := reflect.New(t).Interface()
	if err := json.Unmarshal(raw, v); err != nil {
		*errs = append(*errs, FieldProblem{Field: orRoot(path), Value: safeValue(path, short(raw)),
			Problem: "is not " + describe(t), Fix: "write " + describe(t)})
	}
}

func describe(t reflect.Type) string {
	if t == reflect.TypeFor[target.Duration]() {
		return "a duration such as \"1s\", \"500ms\" or \"30d\""
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Map:
		return "an object of " + strings.TrimPrefix(strings.TrimPrefix(describe(t.Elem()), "a "), "an ") + " values"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(describe(t.Elem()), "a "), "an ") + " values"
	}
	return "a " + t.Kind().String()
}

func short(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if uq, err := strconv.Unquote(s); err == nil && strings.HasPrefix(s, "\"") {
		s = uq
	}
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return s
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func orRoot(path string) string {
	if path == "" {
		return "(body)"
	}
	return path
}

// closest returns the known field nearest to name by edit distance, when
// it is near enough to be a likely typo.
func closest(name string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for k := range fields {
		if d := editDistance(strings.ToLower(name), k); d < bestD || (d == bestD && best != "" && k < best) {
			best, bestD = k, d
		}
	}
	if bestD > 2 || bestD*2 > len(name) {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
