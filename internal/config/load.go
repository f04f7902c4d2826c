package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/heckhq/heck/internal/target"
)

// MaxFileSize is the largest config file read (64 MiB: some 200,000
// targets).
const MaxFileSize = 64 << 20

// Load reads and validates the config file at path. A file that cannot be
// read is a plain wrapped error; a file with problems gives a *LoadError
// listing every one of them with its line.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a config held in data; name is the file name
// shown in problems. It returns the config, or a *LoadError with every
// problem found. Fields the document leaves out take their Default()
// values; the `defaults:` block and then the built-in defaults fill each
// target's unset schedule fields (target.Schedule.Resolve), so the targets
// returned are resolved.
// ${VAR} references in config-level strings are expanded from the
// environment; in targets they are kept (the probes expand them) but must
// name variables that are set.
func Parse(name string, data []byte) (*Config, error) {
	return parse(name, data, os.LookupEnv)
}

func parse(name string, data []byte, lookup target.LookupFunc) (*Config, error) {
	d := &decoder{file: name, lookup: lookup, bad: map[string]bool{}, written: map[string]bool{}}
	c := Default()
	c.Path = name
	c.Store.Path = ""
	c.storePathDerived = false

	if len(data) > MaxFileSize {
		d.problem(0, 0, "", "", fmt.Sprintf("is %d bytes, larger than the %d bytes a config may have", len(data), MaxFileSize),
			"split the targets over several files or add them through the API")
		return nil, asError(d.problems)
	}
	root, ok := d.document(data)
	if !ok {
		return nil, asError(d.problems)
	}
	d.root = root
	if root != nil {
		d.budget = 4*countNodes(root, 0) + 10_000
		d.decode(root, reflect.ValueOf(c).Elem(), "", 0)
	}
	c.deriveStorePath()
	if !d.isSet("store.driver") {
		c.Store.inferDriver()
	}
	for i := range c.Targets {
		fillSchedule(&c.Targets[i].Schedule, &c.Defaults, d.written, targetPath(i))
		c.Targets[i].Origin = TargetOrigin
	}

	ch := &checker{
		file:    name,
		pos:     d.position,
		isSet:   d.isSet,
		skip:    d.isBad,
		written: d.written,
	}
	c.check(ch, lookup)
	if len(d.problems)+len(ch.problems) > 0 {
		return nil, asError(append(d.problems, ch.problems...))
	}
	for i := range c.Targets {
		resolveSchedule(&c.Targets[i].Schedule, &c.Defaults, d.written, targetPath(i))
	}
	return c, nil
}

// targetPath is the path of targets[i] with a trailing dot, ready for a
// key.
func targetPath(i int) string { return "targets[" + strconv.Itoa(i) + "]." }

// fillSchedule sets each field of sc the target leaves out from defaults.
// A field the target writes keeps its value, zero included: "jitter: 0"
// means no jitter whatever the defaults say, and "interval: 0s" stays zero
// for validation to reject.
//
// written holds the paths the file writes (see decoder.written); prefix is
// the target's path with a trailing dot ("targets[3].").
func fillSchedule(sc, defaults *target.Schedule, written map[string]bool, prefix string) {
	sc.Fill(*defaults, func(key string) bool { return written[prefix+key] })
}

// resolveSchedule bakes the rest of the defaults into a valid target's
// schedule (target.Schedule.Resolve): a config's targets enter the
// registry resolved, so every node probes them alike whatever its own
// defaults block says.
func resolveSchedule(sc, defaults *target.Schedule, written map[string]bool, prefix string) {
	*sc = sc.Resolve(*defaults, func(key string) bool { return written[prefix+key] })
}

// decoder walks a YAML node tree and the Go value it fills together, so
// that each problem knows its line, column and field path.
type decoder struct {
	file     string
	lookup   target.LookupFunc
	root     *yaml.Node // the document's top mapping
	problems []Problem
	// bad holds the paths that failed to decode; validation stays quiet
	// about them and what is under them, so one mistake is one problem.
	bad map[string]bool
	// budget bounds the nodes visited, aliases included (a "billion
	// laughs" document would otherwise expand forever).
	budget int
	// written holds the paths of the schedule keys and replicas that the
	// targets and the defaults block give a value ("targets[3].rise"), so
	// that a zero written out is told apart from a key left out.
	written map[string]bool
}

// ExtensionPrefix starts top-level keys the loader ignores, so that a file
// can hold anchors to merge elsewhere:
//
//	x-fast: &fast {interval: 1s, timeout: 500ms}
//	targets:
//	  - {<<: *fast, id: web, kind: http, url: "http://127.0.0.1:8080/"}
const ExtensionPrefix = "x-"

// maxDepth bounds nesting, which also stops alias cycles.
const maxDepth = 64

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document parses data into its root node; nil for an empty document.
func (d *decoder) document(data []byte) (root *yaml.Node, ok bool) {
	defer func() {
		// yaml.v3 is third-party code fed untrusted input: a panic in it
		// is one more problem with the file, not a crash.
		if r := recover(); r != nil {
			d.problem(0, 0, "", "", fmt.Sprintf("could not be parsed as YAML (%v)", r), "check the file's syntax")
			root, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, true
		}
		d.syntax(data, err)
		return nil, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.problem(next.Line, next.Column, "", "", "starts a second YAML document", "keep one document per config file (remove the \"---\" line)")
	case !errors.Is(err, io.EOF):
		d.syntax(data, err)
	}
	root = &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, len(d.problems) == 0
		}
		root = root.Content[0]
	}
	root = resolve(root)
	if root == nil || root.ShortTag() == "!!null" {
		return nil, len(d.problems) == 0
	}
	if root.Kind != yaml.MappingNode {
		d.problem(root.Line, root.Column, "", "", "is not a mapping of settings", "start the file with settings such as \"listen: 127.0.0.1:7800\" or \"targets:\"")
		return nil, false
	}
	return root, len(d.problems) == 0
}

// syntax records a YAML syntax error at the line and column where it is,
// with that line quoted. yaml.v3 reports some errors at the line where
// the enclosing block starts (a mis-indented key in a list is "line 1:
// did not find expected '-' indicator"), so the line is found as the first
// one at which the file's prefix fails with the same message.
func (d *decoder) syntax(data []byte, err error) {
	msg, line := splitYAMLError(err)
	if l := firstBadLine(data, msg); l > 0 {
		line = l
	}
	col := 0
	problem := "is not valid YAML: " + msg
	if text, ok := lineAt(data, line); ok {
		col = len(text) - len(strings.TrimLeft(text, " \t")) + 1
		if strings.TrimSpace(text) == "" {
			col = 0
		}
		problem += " at " + strconv.Quote(redactLine(text))
	}
	d.problem(line, col, "", "", problem, "check the indentation, the quoting and the \":\" after each key around this line")
}

// splitYAMLError is yaml.v3's message without its "yaml: line N: " prefix,
// and N (0 when it has none).
func splitYAMLError(err error) (msg string, line int) {
	msg = err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		return m[2], line
	}
	return strings.TrimPrefix(msg, "yaml: "), 0
}

// firstBadLine is the smallest n such that the file's first n lines fail
// to parse with the message msg, found by bisection (a YAML prefix cut at
// a line end parses unless the error is within it); 0 when no prefix
// shorter than the file does, and the file's own report stands.
func firstBadLine(data []byte, msg string) int {
	ends := lineEnds(data)
	fails := func(n int) bool {
		e := yamlSyntaxError(data[:ends[n-1]])
		if e == nil {
			return false
		}
		m, _ := splitYAMLError(e)
		return m == msg
	}
	lo, hi := 1, len(ends) // fails(hi) is assumed, as the whole file fails
	if hi == 0 {
		return 0
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if !fails(lo) {
		return 0
	}
	return lo
}

// lineEnds holds the offset just past each line of data (its "\n"
// included), the last line's end being len(data).
func lineEnds(data []byte) []int {
	var ends []int
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		ends = append(ends, len(data))
	}
	return ends
}

// yamlSyntaxError is the error of parsing every document of data, nil when
// it parses; a panic of the parser counts as an error.
func yamlSyntaxError(data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// lineAt is line n (1-based) of data without its line break.
func lineAt(data []byte, n int) (string, bool) {
	if n < 1 {
		return "", false
	}
	for i, l := range strings.Split(string(data), "\n") {
		if i+1 == n {
			return strings.TrimSuffix(l, "\r"), true
		}
	}
	return "", false
}

// secretKey matches the keys whose values are not quoted back.
var secretKey = regexp.MustCompile(`(?i)(token|secret|password|passwd|dsn|key)`)

// redactLine keeps a quoted line from echoing a secret: the value of a key
// that may hold one is replaced by "...". Long lines are cut.
func redactLine(l string) string {
	if k, _, ok := strings.Cut(l, ":"); ok && secretKey.MatchString(k) {
		l = k + ": ..."
	}
	if len(l) > 120 {
		l = l[:117] + "..."
	}
	return l
}

func (d *decoder) problem(line, col int, field, value, problem, fix string) {
	d.problems = append(d.problems, Problem{File: d.file, Line: line, Column: col, Field: field, Value: value, Problem: problem, Fix: fix})
}

func (d *decoder) fail(n *yaml.Node, field, value, problem, fix string) {
	d.bad[field] = true
	d.problem(n.Line, n.Column, field, value, problem, fix)
}

// isBad reports whether field, or a field it is part of, failed to decode.
func (d *decoder) isBad(field string) bool {
	for p := field; ; {
		if d.bad[p] {
			return true
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			return false
		}
		p = p[:i]
	}
}

// position is the line and column of field's value, or of its nearest
// ancestor written in the file.
func (d *decoder) position(field string) (int, int) {
	n, _ := findNode(d.root, field)
	if n == nil {
		return 0, 0
	}
	return n.Line, n.Column
}

// presenceKeys are the keys whose presence the decoder records: those
// whose zero value otherwise means "use the default".
var presenceKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range fieldsOf(scheduleType).names {
		m[k] = true
	}
	m["replicas"] = true
	return m
}()

// recordWritten notes that key of the struct at path has a non-null value,
// when the struct is a target or the defaults block.
func (d *decoder) recordWritten(t reflect.Type, path, key string, val *yaml.Node) {
	if (t != specType && t != scheduleType) || !presenceKeys[key] {
		return
	}
	if val = resolve(val); val != nil && val.ShortTag() != "!!null" {
		d.written[join(path, key)] = true
	}
}

// isSet reports whether the file gives field a (non-null) value.
func (d *decoder) isSet(field string) bool {
	n, exact := findNode(d.root, field)
	return exact && n.ShortTag() != "!!null"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

func countNodes(n *yaml.Node, depth int) int {
	if n == nil || depth > maxDepth {
		return 0
	}
	c := 1
	for _, k := range n.Content {
		c += countNodes(k, depth+1)
	}
	return c
}

var (
	durationType = reflect.TypeFor[target.Duration]()
	timeType     = reflect.TypeFor[time.Time]()
	stringType   = reflect.TypeFor[string]()
	specType     = reflect.TypeFor[target.Spec]()
	storeType    = reflect.TypeFor[Store]()
)

// secretField reports whether the value at path must never be echoed:
// the API token, gossip keys, and the settings of store drivers (a DSN
// holds a password; the driver says which values it shows).
func secretField(path string) bool {
	return path == "api.token" || strings.HasPrefix(path, "cluster.keys") || storeSection(path)
}

// storeSection reports whether path is in a driver's section of store.
func storeSection(path string) bool {
	rest, ok := strings.CutPrefix(path, "store.")
	if !ok {
		return false
	}
	key, _, _ := strings.Cut(rest, ".")
	_, field := fieldsOf(storeType).byName[key]
	return !field
}

// spend takes one from the budget of nodes a document may make the decoder
// visit; false once it is spent (reported once).
func (d *decoder) spend(n *yaml.Node, path string) bool {
	if d.budget--; d.budget >= 0 {
		return true
	}
	if d.budget == -1 {
		d.fail(n, path, "", "expands to too many values (aliases that refer to aliases?)", "write the values out instead of nesting aliases")
	}
	return false
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) {
	n = resolve(n)
	if n == nil || !d.spend(n, path) {
		return
	}
	if depth > maxDepth {
		d.fail(n, path, "", "is nested too deeply", "flatten the structure; heck's config is at most a few levels deep")
		return
	}
	if n.ShortTag() == "!!null" {
		return // absent: keep the default
	}
	t := v.Type()
	switch {
	case t == durationType:
		d.duration(n, v, path)
		return
	case t == timeType:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "", "is "+kindName(n)+", not a time", "write an RFC 3339 time such as 2026-12-13T02:00:00+01:00")
			return
		}
		tm, err := time.Parse(time.RFC3339, n.Value)
		if err != nil {
			d.fail(n, path, n.Value, "is not an RFC 3339 time", "write a time with its offset, such as 2026-12-13T02:00:00+01:00 or 2026-12-13T01:00:00Z")
			return
		}
		v.Set(reflect.ValueOf(tm))
		return
	case t.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, v.Elem(), path, depth+1)
		return
	case t.Kind() == reflect.Struct:
		d.structure(n, v, path, depth)
		return
	case t.Kind() == reflect.Slice:
		d.sequence(n, v, path, depth)
		return
	case t.Kind() == reflect.Map:
		d.mapping(n, v, path, depth)
		return
	}
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "", "is "+kindName(n)+", not a single value", "write a single value after \""+lastKey(path)+":\"")
		return
	}
	switch t.Kind() {
	case reflect.String:
		s := n.Value
		if !strings.HasPrefix(path, "targets") {
			s = d.expand(n, path, s)
		}
		v.SetString(s)
	case reflect.Bool:
		var b bool
		if n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.fail(n, path, n.Value, "is not true or false", "write true or false")
			return
		}
		v.SetBool(b)
	case reflect.Int:
		var i int
		if n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			d.fail(n, path, n.Value, "is not a whole number", "write a number such as 3")
			return
		}
		v.SetInt(int64(i))
	case reflect.Float64:
		var f float64
		if (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&f) != nil {
			d.fail(n, path, n.Value, "is not a number", "write a number such as 1 or 2.5")
			return
		}
		v.SetFloat(f)
	default:
		// Every type in Config is handled above; TestEveryFieldDecodes
		// keeps it that way.
		d.fail(n, path, n.Value, "has a type the loader does not know ("+t.String()+")", "report this as a bug in heck")
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a single value"
}

func lastKey(path string) string {
	if i := strings.LastIndexAny(path, ".]"); i >= 0 && i+1 < len(path) {
		return path[i+1:]
	}
	return path
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	const fix = "write a number with a unit, such as \"500ms\", \"10s\", \"5m\" or \"30d\""
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "", "is "+kindName(n)+", not a duration", fix)
		return
	}
	if tag := n.ShortTag(); tag == "!!int" || tag == "!!float" {
		// A bare number is seconds, as target.Duration reads it.
		var f float64
		if n.Decode(&f) != nil || math.IsNaN(f) || math.Abs(f) > float64(math.MaxInt64/int64(time.Second)) {
			d.fail(n, path, n.Value, "is not a duration", fix)
			return
		}
		v.SetInt(int64(f * float64(time.Second)))
		return
	}
	dur, err := target.ParseDuration(n.Value)
	if err != nil {
		d.fail(n, path, n.Value, "is not a duration", fix)
		return
	}
	v.SetInt(int64(dur))
}

// envRef matches the ${NAME} references expanded from the environment.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expand replaces the ${VAR} references in s, reporting unset variables.
func (d *decoder) expand(n *yaml.Node, path, s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return envRef.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		val, ok := d.lookup(name)
		if !ok {
			d.fail(n, path, m, "refers to environment variable "+name+", which is not set",
				"export "+name+" before starting heck, or write the value instead")
		}
		return val
	})
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.SequenceNode {
		ex := "[\"127.0.0.1:7946\"]"
		if v.Type().Elem().Kind() == reflect.Struct {
			ex = "\"- \" lines, one per entry"
		}
		value := ""
		if n.Kind == yaml.ScalarNode && !secretField(path) {
			value = n.Value
		}
		d.fail(n, path, value, "is "+kindName(n)+", not a list", "write a list, such as "+ex)
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, e := range n.Content {
		d.decode(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1)
	}
	v.Set(s)
}

// mapping decodes a map[string]string (labels, headers).
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "", "is "+kindName(n)+", not a mapping", "write \"name: value\" lines under \""+lastKey(path)+":\"")
		return
	}
	if v.Type().Key() != stringType {
		d.fail(n, path, "", "has a type the loader does not know ("+v.Type().String()+")", "report this as a bug in heck")
		return
	}
	m := reflect.MakeMap(v.Type())
	pairs, bad := mergedPairs(n, depth)
	d.badMerges(bad, path)
	seen := map[string]*yaml.Node{}
	for _, p := range pairs {
		if !d.spend(p.key, path) {
			return
		}
		key, ok := d.key(p, path, seen)
		if !ok {
			continue
		}
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(p.val, e, join(path, key), depth+1)
		m.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), e)
	}
	v.Set(m)
}

// key returns p's key, reporting keys that are not plain names and keys
// written twice.
func (d *decoder) key(p pair, path string, seen map[string]*yaml.Node) (string, bool) {
	k := resolve(p.key)
	if k == nil || k.Kind != yaml.ScalarNode {
		n := p.key
		if k != nil {
			n = k
		}
		d.fail(n, path, "", "has a key that is "+kindName(n)+", not a name", "write keys as plain names")
		return "", false
	}
	if first, dup := seen[k.Value]; dup {
		if p.merged {
			return "", false // a merged key loses to one written out
		}
		d.fail(k, join(path, k.Value), "", fmt.Sprintf("is set twice (first on line %d)", first.Line), "keep one of them")
		return "", false
	}
	seen[k.Value] = k
	return k.Value, true
}

func (d *decoder) badMerges(bad []*yaml.Node, path string) {
	for _, b := range bad {
		d.fail(b, join(path, "<<"), "", "merges "+kindName(b)+", not a mapping", "merge an alias of a mapping, such as \"<<: *defaults\"")
	}
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		what := "\"key: value\" lines"
		if path != "" {
			what = "the fields of " + lastKey(path) + " as \"key: value\" lines under it"
		}
		value := ""
		if n.Kind == yaml.ScalarNode && !secretField(path) {
			value = n.Value
		}
		d.fail(n, path, value, "is "+kindName(n)+", not a mapping", "write "+what)
		return
	}
	fields := fieldsOf(v.Type())
	pairs, bad := mergedPairs(n, depth)
	d.badMerges(bad, path)
	seen := map[string]*yaml.Node{}
	for _, p := range pairs {
		if !d.spend(p.key, path) {
			return
		}
		key, ok := d.key(p, path, seen)
		if !ok {
			continue
		}
		f, known := fields.byName[key]
		if !known && path == "" && strings.HasPrefix(key, ExtensionPrefix) {
			continue // a place for anchors, as in Compose files
		}
		if !known && fields.rest != nil {
			// A block of its own beside the known keys: a store driver's
			// section, checked once the config is decoded.
			if val := resolve(p.val); val != nil && val.Kind == yaml.MappingNode {
				d.rest(val, v.FieldByIndex(fields.rest), join(path, key), key, depth)
				continue
			}
		}
		if !known {
			k := resolve(p.key)
			d.fail(k, join(path, key), "", "is not a known setting", suggest(key, v.Type(), fields))
			continue
		}
		d.recordWritten(v.Type(), path, key, p.val)
		d.decode(p.val, v.FieldByIndex(f), join(path, key), depth+1)
	}
}

// rest decodes n, the block written as key, into m, the map[string]T that
// collects a struct's other blocks.
func (d *decoder) rest(n *yaml.Node, m reflect.Value, path, key string, depth int) {
	if m.IsNil() {
		m.Set(reflect.MakeMap(m.Type()))
	}
	e := reflect.New(m.Type().Elem()).Elem()
	d.decode(n, e, path, depth+1)
	m.SetMapIndex(reflect.ValueOf(key), e)
}

// pair is one key and value of a mapping, written out or merged in ("<<").
type pair struct {
	key, val *yaml.Node
	merged   bool
}

// mergedPairs lists the entries of mapping n: those written out, in order,
// then those merged in with "<<" that are not written out (the first merged
// mapping wins, as YAML's merge key says). bad lists merge values that are
// not mappings. Each merged mapping is visited once, however many times
// aliases name it, so merges of merges cannot blow up.
func mergedPairs(n *yaml.Node, depth int) (pairs []pair, bad []*yaml.Node) {
	visited := map[*yaml.Node]bool{n: true}
	var walk func(n *yaml.Node, depth int, merged bool)
	walk = func(n *yaml.Node, depth int, merged bool) {
		var merges []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			if k != nil && k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				merges = append(merges, n.Content[i+1])
				continue
			}
			pairs = append(pairs, pair{key: n.Content[i], val: n.Content[i+1], merged: merged})
		}
		if depth > maxDepth {
			return
		}
		var sources []*yaml.Node
		for _, m := range merges {
			m = resolve(m)
			switch {
			case m == nil:
			case m.Kind == yaml.MappingNode:
				sources = append(sources, m)
			case m.Kind == yaml.SequenceNode:
				for _, e := range m.Content {
					if e = resolve(e); e != nil && e.Kind == yaml.MappingNode {
						sources = append(sources, e)
					} else if e != nil {
						bad = append(bad, e)
					}
				}
			default:
				bad = append(bad, m)
			}
		}
		for _, src := range sources {
			if !visited[src] {
				visited[src] = true
				walk(src, depth+1, true)
			}
		}
	}
	walk(n, depth, false)
	return pairs, bad
}

// findNode returns the value node of path ("targets[3].http.expect_status[1]")
// under root and true, or the node of its nearest ancestor written in the
// file and false.
func findNode(root *yaml.Node, path string) (*yaml.Node, bool) {
	cur := root
	rest := path
	for depth := 0; rest != "" && cur != nil; depth++ {
		if depth > maxDepth {
			return cur, false
		}
		if rest[0] == '[' {
			end := strings.IndexByte(rest, ']')
			i, err := strconv.Atoi(rest[1:max(end, 1)])
			if cur.Kind != yaml.SequenceNode || end < 0 || err != nil || i < 0 || i >= len(cur.Content) {
				return cur, false
			}
			next := resolve(cur.Content[i])
			if next == nil {
				return cur, false
			}
			cur, rest = next, strings.TrimPrefix(rest[end+1:], ".")
			continue
		}
		if cur.Kind != yaml.MappingNode {
			return cur, false
		}
		var best *pair
		bestLen := -1
		pairs, _ := mergedPairs(cur, depth)
		for i := range pairs {
			k := resolve(pairs[i].key)
			if k == nil || k.Kind != yaml.ScalarNode || len(k.Value) <= bestLen {
				continue
			}
			if rest == k.Value || strings.HasPrefix(rest, k.Value+".") || strings.HasPrefix(rest, k.Value+"[") {
				best, bestLen = &pairs[i], len(k.Value)
			}
		}
		if best == nil {
			return cur, false
		}
		next := resolve(best.val)
		if next == nil {
			return cur, false
		}
		cur, rest = next, strings.TrimPrefix(rest[bestLen:], ".")
	}
	return cur, rest == "" && cur != nil
}

// structFields is what the decoder knows of a struct type: its YAML keys
// (inline structs flattened) and the index of the field each fills, and
// the inline map that takes the other blocks, if it has one.
type structFields struct {
	byName map[string][]int
	names  []string
	rest   []int
}

var fieldCache sync.Map // reflect.Type -> *structFields

func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	sf := &structFields{byName: map[string][]int{}}
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" {
				continue
			}
			idx := append(append([]int(nil), index...), i)
			if strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct {
				walk(f.Type, idx)
				continue
			}
			if strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Map {
				sf.rest = idx
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			sf.byName[name] = idx
			sf.names = append(sf.names, name)
		}
	}
	walk(t, nil)
	f, _ := fieldCache.LoadOrStore(t, sf)
	return f.(*structFields)
}
