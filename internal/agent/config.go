package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/hostcheck"
	"github.com/heckhq/heck/internal/target"
)

// DefaultListen is where an agent listens when neither its config nor
// --listen says.
const DefaultListen = "127.0.0.1:7900"

// MaxConfigSize is the largest agent config read.
const MaxConfigSize = 4 << 20

// Config is an agent's configuration: where it listens and its checks.
type Config struct {
	// Path is the file the config came from ("" when built in code).
	Path string `yaml:"-"`
	// Listen is host:port of /livez, /readyz and /healthz.
	Listen string `yaml:"listen"`
	// Defaults fills the schedule fields each check leaves out, as a heck
	// config's defaults: block does for targets.
	Defaults target.Schedule `yaml:"defaults"`
	Checks   []Check         `yaml:"checks"`
}

// Check is one check of an agent: a host check (cpu, memory, swap, disk,
// load, process, file, port, command, with the block of its kind) or a
// dependency of any target kind heck probes (http, tcp, ... with url or
// address and the kind's block, as in a heck config's targets). Name is
// what /healthz?check=NAME asks for.
type Check struct {
	// Target carries name, kind, url, address, the schedule and the
	// target kinds' blocks; an agent check has no id, labels, replicas,
	// spread or depends_on.
	Target target.Spec `yaml:",inline"`
	// Critical checks decide /readyz; true unless set false.
	Critical *bool `yaml:"critical"`

	CPU     *hostcheck.CPUOptions     `yaml:"cpu"`
	Memory  *hostcheck.MemoryOptions  `yaml:"memory"`
	Swap    *hostcheck.MemoryOptions  `yaml:"swap"`
	Disk    *hostcheck.DiskOptions    `yaml:"disk"`
	Load    *hostcheck.LoadOptions    `yaml:"load"`
	Process *hostcheck.ProcessOptions `yaml:"process"`
	File    *hostcheck.FileOptions    `yaml:"file"`
	Port    *hostcheck.PortOptions    `yaml:"port"`
	Command *hostcheck.CommandOptions `yaml:"command"`
}

// Name is the check's name.
func (c *Check) Name() string { return c.Target.Name }

// Kind is the check's kind.
func (c *Check) Kind() string { return string(c.Target.Kind) }

// IsCritical reports whether the check is critical (the default).
func (c *Check) IsCritical() bool { return c.Critical == nil || *c.Critical }

// IsHost reports whether the check is a host check rather than a
// dependency probed through a target kind.
func (c *Check) IsHost() bool { return hostcheck.IsKind(c.Kind()) }

// hostBlocks are the host kinds' blocks of c, in hostcheck.Kinds order.
func (c *Check) hostBlocks() []struct {
	kind hostcheck.Kind
	set  bool
} {
	return []struct {
		kind hostcheck.Kind
		set  bool
	}{
		{hostcheck.KindCPU, c.CPU != nil}, {hostcheck.KindMemory, c.Memory != nil}, {hostcheck.KindSwap, c.Swap != nil},
		{hostcheck.KindDisk, c.Disk != nil}, {hostcheck.KindLoad, c.Load != nil}, {hostcheck.KindProcess, c.Process != nil},
		{hostcheck.KindFile, c.File != nil}, {hostcheck.KindPort, c.Port != nil}, {hostcheck.KindCommand, c.Command != nil},
	}
}

// Load reads and validates the agent config at path. A file that cannot be
// read is a plain wrapped error; a config with problems is a
// *config.LoadError listing every one, each with its line, field, value and
// fix.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load agent config %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse decodes and validates an agent config held in data; name is the
// file name shown in problems. Each check's schedule is resolved (its
// defaults filled) in the config returned.
func Parse(name string, data []byte) (*Config, error) {
	p := &parser{file: name}
	if len(data) > MaxConfigSize {
		p.add(0, 0, "", "", fmt.Sprintf("is %d bytes, larger than the %d an agent config may have", len(data), MaxConfigSize), "split the checks over several agents")
		return nil, p.err()
	}
	c := &Config{Path: name}
	if !p.decode(data, c) {
		return nil, p.err()
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	p.validate(c)
	if len(p.problems) > 0 {
		return nil, p.err()
	}
	for i := range c.Checks {
		w := p.writtenFunc(fmt.Sprintf("checks[%d]", i))
		c.Checks[i].Target.Schedule = c.Checks[i].Target.Schedule.Resolve(c.Defaults, w)
		c.Checks[i].Target.ID = c.Checks[i].Target.Name
	}
	return c, nil
}

// parser decodes one config and gathers its problems.
type parser struct {
	file     string
	root     *yaml.Node
	problems []config.Problem
}

func (p *parser) add(line, col int, field, value, problem, fix string) {
	p.problems = append(p.problems, config.Problem{File: p.file, Line: line, Column: col, Field: field, Value: value, Problem: problem, Fix: fix})
}

// addAt adds a problem of field, located at the field's value in the file
// (or its nearest ancestor there).
func (p *parser) addAt(fe target.FieldError) {
	line, col := p.position(fe.Field)
	p.add(line, col, fe.Field, fe.Value, fe.Problem, fe.Fix)
}

func (p *parser) err() error {
	if len(p.problems) == 0 {
		return nil
	}
	return &config.LoadError{Problems: p.problems}
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// decode parses data into c, strictly (an unknown key is a problem), and
// keeps the node tree to locate problems. It reports false when nothing
// could be decoded.
func (p *parser) decode(data []byte, c *Config) (ok bool) {
	defer func() {
		if r := recover(); r != nil { // third-party parser on untrusted input
			p.add(0, 0, "", "", fmt.Sprintf("could not be parsed as YAML (%v)", r), "check the file's syntax")
			ok = false
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 0
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		if l := firstFailingLine(data, err.Error()); l > 0 {
			line = l
		}
		p.add(line, 0, "", "", "is not valid YAML: "+msg, "check the indentation, the quoting and the \":\" after each key around this line")
		return false
	}
	if len(doc.Content) == 0 {
		p.add(0, 0, "", "", "is empty", "list the checks under checks:, as in examples/agent.yaml")
		return false
	}
	p.root = doc.Content[0]
	if p.root.Kind != yaml.MappingNode {
		p.add(p.root.Line, p.root.Column, "", "", "is not a mapping of settings", "start the file with listen: and checks:, as in examples/agent.yaml")
		return false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(c)
	var te *yaml.TypeError
	switch {
	case err == nil, errors.Is(err, io.EOF):
	case errors.As(err, &te):
		for _, e := range te.Errors {
			p.typeError(e)
		}
	default:
		p.add(0, 0, "", "", "could not be decoded: "+err.Error(), "check the file against examples/agent.yaml")
		return false
	}
	return true
}

// firstFailingLine is the first line n at which the file's first n lines
// fail to parse with the same error as the whole file: yaml.v3 reports
// some errors at the line their block starts, not where the mistake is.
// 0 when no shorter prefix fails so.
func firstFailingLine(data []byte, msg string) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	fails := func(n int) bool {
		var v yaml.Node
		err := yaml.Unmarshal(bytes.Join(lines[:n], nil), &v)
		return err != nil && err.Error() == msg
	}
	// fails is monotonic enough for the errors that matter: once a prefix
	// holds the mistake, longer ones do too.
	lo, hi := 1, len(lines)
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo < len(lines) && fails(lo) {
		return lo
	}
	return 0
}

var (
	unknownField = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	cannotRead   = regexp.MustCompile("^cannot unmarshal (\\S+) `(.*)` into (\\S+)$")
)

// typeError turns one of yaml.v3's decoding errors into a problem.
func (p *parser) typeError(e string) {
	line := 0
	if m := yamlLine.FindStringSubmatch(e); m != nil {
		line, _ = strconv.Atoi(m[1])
		e = m[2]
	}
	if m := unknownField.FindStringSubmatch(e); m != nil {
		p.add(line, 0, m[1], "", "is not a known setting", "remove it or correct its spelling; the settings are listed in docs/agent.md")
		return
	}
	if m := cannotRead.FindStringSubmatch(e); m != nil {
		want := m[3]
		switch {
		case strings.Contains(want, "float") || strings.Contains(want, "int"):
			want = "a number"
		case strings.Contains(want, "bool"):
			want = "true or false"
		case strings.HasPrefix(want, "[]"):
			want = "a list"
		case strings.Contains(want, "string"):
			want = "a single value"
		default:
			want = "a mapping of settings"
		}
		p.add(line, 0, "", m[2], "cannot be read as "+want, "write "+want+" there")
		return
	}
	p.add(line, 0, "", "", "cannot be read: "+e, "check the value's type against docs/agent.md")
}

// node finds the node of a field path such as "checks[2].cpu.max_percent":
// the node itself (exact) or its nearest ancestor in the file.
func (p *parser) node(field string) (*yaml.Node, bool) {
	n := p.root
	if n == nil {
		return nil, false
	}
	for _, part := range splitPath(field) {
		next := (*yaml.Node)(nil)
		switch {
		case part.index >= 0 && n.Kind == yaml.SequenceNode && part.index < len(n.Content):
			next = n.Content[part.index]
		case part.index < 0 && n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part.key {
					next = n.Content[i+1]
					break
				}
			}
		}
		if next == nil {
			return n, false
		}
		n = next
	}
	return n, true
}

type pathPart struct {
	key   string
	index int // -1 for a key
}

// splitPath splits "checks[2].cpu" into checks, [2], cpu.
func splitPath(field string) []pathPart {
	var out []pathPart
	for _, seg := range strings.Split(field, ".") {
		key, rest, _ := strings.Cut(seg, "[")
		if key != "" {
			out = append(out, pathPart{key: key, index: -1})
		}
		for rest != "" {
			num, after, _ := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if err != nil {
				break
			}
			out = append(out, pathPart{index: i})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return out
}

func (p *parser) position(field string) (int, int) {
	n, _ := p.node(field)
	if n == nil {
		return 0, 0
	}
	return n.Line, n.Column
}

// written reports whether the file gives field a non-null value.
func (p *parser) written(field string) bool {
	n, exact := p.node(field)
	return exact && n.ShortTag() != "!!null"
}

// writtenFunc is written for the keys of the mapping at prefix.
func (p *parser) writtenFunc(prefix string) func(key string) bool {
	return func(key string) bool { return p.written(prefix + "." + key) }
}

// dummyAddr makes a tcp spec out of a schedule, to validate the schedule
// with the rules of targets (as internal/config does for defaults:).
const dummyAddr = "127.0.0.1:1"

// scheduleKeys are the keys of a schedule.
var scheduleKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, b := range target.Bounds {
		m[b.Key] = true
	}
	return m
}()

// validate checks c and records every problem.
func (p *parser) validate(c *Config) {
	if c.Listen != "" {
		if host, port, err := net.SplitHostPort(c.Listen); err != nil {
			p.addAt(target.FieldError{Field: "listen", Value: c.Listen, Problem: "is not host:port", Fix: "set host:port, such as " + DefaultListen})
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 || (host != "" && net.ParseIP(host) == nil && host != "localhost") {
			p.addAt(target.FieldError{Field: "listen", Value: c.Listen, Problem: "is not an IP address and port", Fix: "set an IP and port, such as " + DefaultListen + " (0.0.0.0:7900 for every interface)"})
		}
	}
	dummy := target.Spec{ID: "defaults", Kind: target.KindTCP, Address: dummyAddr, Schedule: c.Defaults}
	badDefault := map[string]bool{}
	for _, fe := range dummy.ValidateWritten(p.writtenFunc("defaults")) {
		badDefault[fe.Field] = true
		p.addAt(fe.Prefixed("defaults"))
	}
	if len(c.Checks) == 0 {
		p.addAt(target.FieldError{Field: "checks", Problem: "lists no check", Fix: "add at least one check, as in examples/agent.yaml"})
	}
	seen := map[string]int{}
	for i := range c.Checks {
		prefix := fmt.Sprintf("checks[%d]", i)
		for _, fe := range c.Checks[i].validate(c.Defaults, p.writtenFunc(prefix)) {
			if scheduleKeys[fe.Field] && !p.written(prefix+"."+fe.Field) && p.written("defaults."+fe.Field) {
				if badDefault[fe.Field] {
					continue // reported once, at the defaults block
				}
				fe.Problem += " (" + fe.Field + " comes from defaults)"
			}
			p.addAt(fe.Prefixed(prefix))
		}
		name := c.Checks[i].Name()
		if name == "" {
			continue
		}
		if j, dup := seen[name]; dup {
			p.addAt(target.FieldError{Field: prefix + ".name", Value: name, Problem: fmt.Sprintf("is already the name of checks[%d]", j), Fix: "give each check a unique name"})
		} else {
			seen[name] = i
		}
	}
}

// kindList names every kind a check may have.
func kindList() string {
	var names []string
	for _, k := range hostcheck.Kinds {
		names = append(names, string(k))
	}
	for _, k := range target.Kinds {
		if k != target.KindHeartbeat {
			names = append(names, string(k))
		}
	}
	return strings.Join(names, ", ")
}

// validate checks one check; fields are relative to the check.
func (c *Check) validate(defaults target.Schedule, written func(string) bool) target.FieldErrors {
	var errs target.FieldErrors
	add := func(field, value, problem, fix string) {
		errs = append(errs, target.FieldError{Field: field, Value: value, Problem: problem, Fix: fix})
	}
	s := c.Target
	switch {
	case s.Name == "":
		add("name", "", "is missing", "give the check a unique name such as \"disk-root\"")
	case !target.ValidID(s.Name):
		add("name", s.Name, "is not a valid name", "use 1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit")
	}
	if s.ID != "" {
		add("id", s.ID, "does not apply to an agent check", "name the check with name: instead")
	}
	if len(s.Labels) > 0 {
		add("labels", "", "do not apply to an agent check", "remove them")
	}
	if s.Replicas != 0 {
		add("replicas", strconv.Itoa(s.Replicas), "does not apply to an agent check", "remove it: the agent is its only prober")
	}
	if s.Spread != "" {
		add("spread", s.Spread, "does not apply to an agent check", "remove it")
	}
	if len(s.DependsOn) > 0 {
		add("depends_on", "", "does not apply to an agent check", "remove it; mark a check critical: false instead")
	}
	// The schedule as it will run: the check's own, filled from defaults.
	sc := s.Schedule
	sc.Fill(defaults, written)
	kind := string(s.Kind)
	switch {
	case kind == "":
		add("kind", "", "is missing", "set kind to one of "+kindList())
	case c.IsHost():
		dummy := target.Spec{ID: "x", Kind: target.KindTCP, Address: dummyAddr, Schedule: sc}
		for _, fe := range dummy.ValidateWritten(written) {
			if scheduleKeys[fe.Field] {
				errs = append(errs, fe)
			}
		}
		errs = append(errs, c.validateHost()...)
	case s.Kind == target.KindHeartbeat:
		add("kind", kind, "is a push target, not a check", "use a file check with max_age for something that must happen on time, or set kind to one of "+kindList())
	case !knownTarget(s.Kind):
		add("kind", kind, "is not a known kind", "set kind to one of "+kindList())
	default:
		for _, b := range c.hostBlocks() {
			if b.set {
				add(string(b.kind), "", "options do not apply to a "+kind+" check", "remove the "+string(b.kind)+" block or set kind: "+string(b.kind))
			}
		}
		spec := s.Clone()
		spec.ID, spec.Name, spec.Schedule = s.Name, "", sc
		if spec.ID == "" {
			spec.ID = "x" // reported as name above
		}
		for _, fe := range spec.ValidateWritten(written) {
			if fe.Field == "id" {
				continue // the name, reported above
			}
			errs = append(errs, fe)
		}
		if len(spec.EnvRefs()) > 0 {
			_, err := spec.Expand(nil)
			fes, _ := target.AsFieldErrors(err)
			errs = append(errs, fes...)
		}
	}
	return errs
}

func knownTarget(k target.Kind) bool {
	for _, x := range target.Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// validateHost checks the blocks of a host check.
func (c *Check) validateHost() target.FieldErrors {
	var errs target.FieldErrors
	kind := c.Kind()
	add := func(field, value, problem, fix string) {
		errs = append(errs, target.FieldError{Field: field, Value: value, Problem: problem, Fix: fix})
	}
	s := &c.Target
	if s.URL != "" {
		add("url", s.URL, "does not apply to a "+kind+" check", "remove it")
	}
	if s.Address != "" {
		add("address", s.Address, "does not apply to a "+kind+" check", "remove it")
	}
	for _, b := range []struct {
		name string
		set  bool
	}{{"http", s.HTTP != nil}, {"tcp", s.TCP != nil}, {"dns", s.DNS != nil}, {"tls", s.TLS != nil},
		{"grpc", s.GRPC != nil}, {"icmp", s.ICMP != nil}, {"heartbeat", s.Heartbeat != nil}, {"agent", s.Agent != nil}} {
		if b.set {
			add(b.name, "", "options do not apply to a "+kind+" check", "remove the "+b.name+" block or set kind: "+b.name)
		}
	}
	for _, b := range c.hostBlocks() {
		if b.set && string(b.kind) != kind {
			add(string(b.kind), "", "options do not apply to a "+kind+" check", "remove the "+string(b.kind)+" block or set kind: "+string(b.kind))
		}
	}
	sub := func(block string, fes target.FieldErrors) {
		for _, fe := range fes {
			errs = append(errs, fe.Prefixed(block))
		}
	}
	need := func(block, example string) {
		add(block, "", "is missing", "a "+kind+" check needs its block, such as "+example)
	}
	switch hostcheck.Kind(kind) {
	case hostcheck.KindCPU:
		if c.CPU != nil {
			sub("cpu", c.CPU.Validate())
		}
	case hostcheck.KindMemory:
		if c.Memory != nil {
			sub("memory", c.Memory.Validate())
		}
	case hostcheck.KindSwap:
		if c.Swap != nil {
			sub("swap", c.Swap.Validate())
		}
	case hostcheck.KindDisk:
		if c.Disk == nil {
			need("disk", "disk: {path: /}")
		} else {
			sub("disk", c.Disk.Validate())
		}
	case hostcheck.KindLoad:
		if c.Load == nil {
			need("load", "load: {max_load5: 2, per_cpu: true}")
		} else {
			sub("load", c.Load.Validate())
		}
	case hostcheck.KindProcess:
		if c.Process == nil {
			need("process", "process: {name: nginx}")
		} else {
			sub("process", c.Process.Validate())
		}
	case hostcheck.KindFile:
		if c.File == nil {
			need("file", "file: {path: /var/lib/backup/last, max_age: 25h}")
		} else {
			sub("file", c.File.Validate())
		}
	case hostcheck.KindPort:
		if c.Port == nil {
			need("port", "port: {port: 5432}")
		} else {
			sub("port", c.Port.Validate())
		}
	case hostcheck.KindCommand:
		if c.Command == nil {
			need("command", "command: {argv: [/usr/bin/pg_isready, -q]}")
		} else {
			sub("command", c.Command.Validate())
		}
	}
	return errs
}

// ValidateFile is heck validate's view of an agent config: whether data
// (the file at path) is one, its top level listing checks:, and if so how
// many checks it has, or a *config.LoadError with every problem.
func ValidateFile(path string, data []byte) (checks int, isAgent bool, err error) {
	var top map[string]yaml.Node
	if yaml.Unmarshal(data, &top) != nil {
		return 0, false, nil
	}
	if _, ok := top["checks"]; !ok {
		return 0, false, nil
	}
	if _, ok := top["targets"]; ok {
		return 0, false, nil // a heck config, with a stray key its loader reports
	}
	c, err := Parse(path, data)
	if err != nil {
		return 0, true, err
	}
	return len(c.Checks), true, nil
}
