package config

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/cluster/gossipkey"

	"github.com/heckhq/heck/internal/graph"
	"github.com/heckhq/heck/internal/notify"
	"github.com/heckhq/heck/internal/pool"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/target"
)

// checker collects validation problems, placing each at its field's line
// when the config came from a file.
type checker struct {
	file string
	// pos gives the line and column of a field (or its nearest written
	// ancestor); isSet whether the file writes the field; skip whether the
	// field already failed to decode; written whether the file writes a
	// schedule key or replicas (of a target or the defaults block) out, so
	// that a zero written out is an error, not the default. All may be nil.
	pos      func(field string) (int, int)
	isSet    func(field string) bool
	skip     func(field string) bool
	written  map[string]bool
	problems []Problem
}

func (ch *checker) add(field, value, problem, fix string) {
	ch.addAt(field, field, value, problem, fix)
}

// addAt reports a problem with field, placed at the line of at.
func (ch *checker) addAt(at, field, value, problem, fix string) {
	if ch.skip != nil && ch.skip(field) {
		return
	}
	p := Problem{File: ch.file, Field: field, Value: value, Problem: problem, Fix: fix}
	if ch.pos != nil {
		p.Line, p.Column = ch.pos(at)
	}
	ch.problems = append(ch.problems, p)
}

func (ch *checker) set(field string) bool { return ch.isSet != nil && ch.isSet(field) }

// wrote reports whether the file writes field, a schedule key or replicas,
// out; always false for a config not read from a file.
func (ch *checker) wrote(field string) bool { return ch.written[field] }

// Validate checks c as it stands (after Default, Parse or Apply) and
// returns a *LoadError listing every problem, or nil. ${VAR} references in
// targets must name variables that are set.
func (c *Config) Validate() error {
	ch := &checker{file: c.Path}
	c.check(ch, os.LookupEnv)
	return asError(ch.problems)
}

func (c *Config) check(ch *checker, lookup target.LookupFunc) {
	if strings.TrimSpace(c.Node.Name) == "" {
		ch.add("node.name", "", "is empty", "set a name for this node, or leave node.name out to use the host name")
	}
	if strings.TrimSpace(c.Node.DataDir) == "" {
		ch.add("node.data_dir", "", "is empty", "set a directory such as \""+DefaultDataDir+"\"")
	}
	if problem, fix := listenProblem(c.Listen); problem != "" {
		ch.add("listen", c.Listen, problem, fix)
	} else if problem, fix := c.tokenProblem(); problem != "" {
		at := "listen"
		if ch.set("api.token") {
			at = "api.token"
		}
		ch.addAt(at, "api.token", "", problem, fix)
	}
	if !slices.Contains(LogLevels, strings.ToLower(c.Log.Level)) {
		ch.add("log.level", c.Log.Level, "is not a log level", "use one of "+strings.Join(LogLevels, ", "))
	}
	if !slices.Contains(LogFormats, strings.ToLower(c.Log.Format)) {
		ch.add("log.format", c.Log.Format, "is not a log format", "use text or json")
	}
	c.checkStore(ch)
	c.checkProbe(ch)
	c.checkCluster(ch)
	c.checkTargets(ch, lookup)
	c.checkPools(ch)
	c.checkListeners(ch)
	c.checkStatusPages(ch)
	if _, errs := graph.Build(c.Targets); len(errs) > 0 {
		for _, fe := range errs {
			ch.add(fe.Field, fe.Value, fe.Problem, fe.Fix)
		}
	}
	for _, fe := range notify.ValidateAll(c.Notifiers, lookup) {
		ch.add(fe.Field, fe.Value, fe.Problem, fe.Fix)
	}
	for i := range c.Routes {
		for _, fe := range c.Routes[i].Validate(nil) {
			fe = fe.Prefixed(fmt.Sprintf("routes[%d]", i))
			ch.add(fe.Field, fe.Value, fe.Problem, fe.Fix)
		}
	}
	seenWindow := map[string]int{}
	for i := range c.Maintenance {
		w := &c.Maintenance[i]
		at := fmt.Sprintf("maintenance[%d]", i)
		fes, _ := target.AsFieldErrors(w.Validate())
		for _, fe := range fes {
			fe = fe.Prefixed(at)
			ch.add(fe.Field, fe.Value, fe.Problem, fe.Fix)
		}
		if j, dup := seenWindow[w.ID]; dup && w.ID != "" {
			ch.add(at+".id", w.ID, fmt.Sprintf("is the id of maintenance[%d] too", j), "give each window its own id")
		}
		seenWindow[w.ID] = i
	}
}

// checkPools validates every pool and that names are not repeated.
func (c *Config) checkPools(ch *checker) {
	seen := map[string]int{}
	for i := range c.Pools {
		p := &c.Pools[i]
		at := fmt.Sprintf("pools[%d]", i)
		fes, _ := target.AsFieldErrors(p.Validate())
		for _, fe := range fes {
			fe = fe.Prefixed(at)
			ch.add(fe.Field, fe.Value, fe.Problem, fe.Fix)
		}
		if j, dup := seen[p.Name]; dup && p.Name != "" {
			ch.add(at+".name", p.Name, fmt.Sprintf("is the name of pools[%d] too", j), "give each pool its own name")
		}
		seen[p.Name] = i
	}
}

// checkListeners validates the DNS and HAProxy agent listeners.
func (c *Config) checkListeners(ch *checker) {
	if c.DNS.Listen != "" {
		if problem, fix := bindProblem(c.DNS.Listen, "127.0.0.1:8053"); problem != "" {
			ch.add("dns.listen", c.DNS.Listen, problem, fix)
		}
	}
	if problem, fix := DNSZoneProblem(c.DNS.Zone); problem != "" {
		ch.add("dns.zone", c.DNS.Zone, problem, fix)
	}
	if ttl := c.DNS.TTL.D(); ttl < time.Second || ttl > time.Hour {
		ch.add("dns.ttl", c.DNS.TTL.String(), "is out of range", "give a TTL from 1s to 1h (default 5s: consumers must see changes soon)")
	}
	if c.HAProxy.Listen != "" {
		if problem, fix := bindProblem(c.HAProxy.Listen, "127.0.0.1:5555"); problem != "" {
			ch.add("haproxy_agent.listen", c.HAProxy.Listen, problem, fix)
		}
	}
}

// DNSZoneProblem says what is wrong with a DNS zone name, if anything.
func DNSZoneProblem(zone string) (problem, fix string) {
	z := strings.TrimSuffix(zone, ".")
	if z == "" {
		return "is empty", "give a zone such as \"heck.\" or \"health.example.internal.\""
	}
	for _, label := range strings.Split(z, ".") {
		if !pool.ValidName(strings.ToLower(label)) {
			return fmt.Sprintf("has the label %q, which is not a DNS label", label),
				"use labels of letters, digits and '-', separated by dots, such as \"heck.\""
		}
	}
	return "", ""
}

func (c *Config) checkStore(ch *checker) {
	s := &c.Store
	known := storeDrivers.names()
	open, ok := storeDrivers.lookup(s.Driver)
	if !ok {
		ch.add("store.driver", s.Driver, "is not a known store driver", driverFix(s.Driver, known))
	}
	for _, name := range slices.Sorted(maps.Keys(s.Sections)) {
		field := "store." + name
		switch _, isDriver := storeDrivers.lookup(name); {
		case !isDriver:
			ch.add(field, "", "is not a known setting or store driver", sectionFix(name, known))
		case name != s.Driver:
			ch.add(field, "", "is the section of the "+name+" store, but store.driver is "+strconv.Quote(s.Driver),
				"remove store."+name+", or set store.driver to "+name+" (only the chosen driver's section may be written)")
		}
	}
	// store.path is the SQLite file: written out (not derived from the
	// data directory) it must not be given twice or to another driver.
	pathWritten := !c.storePathDerived
	if _, twice := s.Sections[DriverSQLite][sqlitePath]; pathWritten && twice && s.Driver == DriverSQLite {
		ch.add("store.sqlite.path", "", "is set twice (store.path too)", "keep one of store.path and store.sqlite.path")
	}
	if pathWritten && ok && s.Driver != DriverSQLite {
		ch.add("store.path", s.Path, "is the SQLite file, but store.driver is "+strconv.Quote(s.Driver),
			"remove store.path; the "+s.Driver+" store takes its settings from store."+s.Driver)
	}
	if ok {
		_, sectionPath := s.Sections[DriverSQLite][sqlitePath]
		errs := open.Check(s.DriverSettings())
		slices.SortStableFunc(errs, func(a, b store.SettingError) int { return strings.Compare(a.Key, b.Key) })
		for _, e := range errs {
			field := "store." + s.Driver + "." + e.Key
			if s.Driver == DriverSQLite && e.Key == sqlitePath && !sectionPath {
				field = "store.path"
			}
			ch.add(field, e.Value, e.Problem, e.Fix)
		}
	}
	for _, r := range []struct {
		field string
		val   target.Duration
	}{
		{"store.retention.results", c.Store.Retention.Results},
		{"store.retention.rollups", c.Store.Retention.Rollups},
		{"store.retention.transitions", c.Store.Retention.Transitions},
	} {
		if r.val < 0 {
			ch.add(r.field, r.val.String(), "is negative", "set a duration such as \"30d\", or 0 to keep forever")
		}
	}
	if c.Store.Recent < 1 || c.Store.Recent > MaxRecent {
		ch.add("store.recent", strconv.Itoa(c.Store.Recent), "is out of range", fmt.Sprintf("keep 1 to %d recent results per target", MaxRecent))
	}
}

// driverFix is the fix for an unknown store.driver: the near miss among
// the known drivers, and the list of them.
func driverFix(name string, known []string) string {
	if len(known) == 0 {
		return "this program registers no store drivers (a build without internal/store/drivers); use the heck binary"
	}
	list := "use one of: " + strings.Join(known, ", ")
	if near := nearest(name, known); near != "" {
		return "did you mean \"" + near + "\"? (" + list + ")"
	}
	return list
}

// sectionFix is the fix for a block under store: that is neither a
// setting nor a driver: the near miss among both.
func sectionFix(name string, known []string) string {
	if near := nearest(name, append(slices.Clone(fieldsOf(storeType).names), known...)); near != "" {
		return "did you mean \"" + near + "\"?"
	}
	return "remove it, or use one of: " + strings.Join(fieldsOf(storeType).names, ", ") +
		" or a store driver's section (" + strings.Join(known, ", ") + ")"
}

func (c *Config) checkProbe(ch *checker) {
	for i, n := range c.Probe.DenyNetworks {
		if !networkOK(n) {
			ch.add(fmt.Sprintf("probe.deny_networks[%d]", i), n, "is not a network",
				"write a CIDR such as \"169.254.0.0/16\" or \"fe80::/10\", or a single address")
		}
	}
	if c.Probe.Concurrency < 1 {
		ch.add("probe.concurrency", strconv.Itoa(c.Probe.Concurrency), "is below 1",
			fmt.Sprintf("allow 1 or more probes in flight (default %d)", DefaultProbeConcurrency))
	}
}

// networkOK reports whether s is a CIDR or a single address, as the probe
// guard reads probe.deny_networks.
func networkOK(s string) bool {
	s = strings.TrimSpace(s)
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}

func (c *Config) checkCluster(ch *checker) {
	cl := &c.Cluster
	if cl.Bind != "" {
		if problem, fix := bindProblem(cl.Bind, "127.0.0.1:7946"); problem != "" {
			ch.add("cluster.bind", cl.Bind, problem, fix)
		}
	}
	if cl.Advertise != "" {
		if problem, fix := advertiseProblem(cl.Advertise); problem != "" {
			ch.add("cluster.advertise", cl.Advertise, problem, fix)
		}
	}
	for i, j := range cl.Join {
		if problem, fix := joinProblem(j); problem != "" {
			ch.add(fmt.Sprintf("cluster.join[%d]", i), j, problem, fix)
		}
	}
	if !weightOK(cl.Weight) {
		ch.add("cluster.weight", strconv.FormatFloat(cl.Weight, 'g', -1, 64), "is not a positive number",
			"set a weight above 0, such as 1 (the default) or 2 for a node with twice the capacity")
	}
	for i, k := range cl.Keys {
		if _, err := gossipkey.Parse(k); err != nil {
			problem := err.Error()
			// Never echo a key, not even a broken one.
			ch.add(fmt.Sprintf("cluster.keys[%d]", i), "", problem,
				"generate a key with \"head -c 32 /dev/urandom | base64\" and give it through the environment, such as \"${HECK_GOSSIP_KEY}\"")
		}
	}
	if cl.Replicas < 1 {
		ch.add("cluster.replicas", strconv.Itoa(cl.Replicas), "is below 1", "set 1 (the default) or more nodes to probe each target")
	}
	if cl.Spread != "" && cl.Spread != SpreadZone {
		ch.add("cluster.spread", cl.Spread, "is not a known spread", "set spread: zone, or leave it out")
	}
	if cl.TombstoneHorizon.D() < MinTombstoneHorizon {
		ch.add("cluster.tombstone_horizon", cl.TombstoneHorizon.String(), "is too short",
			"set 1h or more (default 7d); it must outlast the longest partition you expect to heal")
	}
}

// hostPortProblem checks a host:port address; emptyHost allows ":7946"
// (every interface).
func hostPortProblem(addr, example string, emptyHost bool) (problem, fix string) {
	return addrProblem(addr, example, emptyHost, 1)
}

// bindProblem checks an address to listen on: port 0 asks the kernel for
// a free port (tests and benchmarks use it).
func bindProblem(addr, example string) (problem, fix string) {
	return addrProblem(addr, example, true, 0)
}

func addrProblem(addr, example string, emptyHost bool, minPort int) (problem, fix string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || (host == "" && !emptyHost) || strings.ContainsAny(host, " /") {
		return "is not host:port", "write an address such as \"" + example + "\""
	}
	if p, err := strconv.Atoi(port); err != nil || p < minPort || p > 65535 {
		return "has no valid port", "set a port from 1 to 65535, such as \"" + example + "\""
	}
	return "", ""
}

func listenProblem(addr string) (problem, fix string) {
	return bindProblem(addr, DefaultListen)
}

// tokenProblem says why api.token is needed, when it is: the API listens
// beyond loopback and no token guards its mutations.
func (c *Config) tokenProblem() (problem, fix string) {
	if c.API.Token != "" {
		return "", ""
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil || loopbackHost(host) {
		return "", ""
	}
	return fmt.Sprintf("is required because listen %q is not a loopback address", c.Listen),
		"set api.token to \"${HECK_API_TOKEN}\" and export HECK_API_TOKEN as a long random string (such as the output of \"head -c 32 /dev/urandom | base64\"), or listen on 127.0.0.1"
}

// loopbackHost reports whether host only ever means this machine.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// concreteHost reports whether host is one address others can reach, not
// "every interface".
func concreteHost(host string) bool {
	if host == "" {
		return false
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return !ip.IsUnspecified()
	}
	return true
}

func advertiseProblem(addr string) (problem, fix string) {
	if problem, fix := hostPortProblem(addr, "10.0.0.5:7946", false); problem != "" {
		return problem, fix
	}
	host, _, _ := net.SplitHostPort(addr)
	if !concreteHost(host) {
		return "is not an address other nodes can reach", "advertise this node's own address, such as \"10.0.0.5:7946\""
	}
	return "", ""
}

var dnsName = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$`)

// joinProblem checks a join entry: host:port, or a host (IP or DNS name)
// that gets DefaultGossipPort.
func joinProblem(j string) (problem, fix string) {
	const fix0 = "write host:port or a host name, such as \"127.0.0.1:7946\" or \"heck.default.svc\" (port 7946 is the default)"
	if strings.TrimSpace(j) == "" {
		return "is empty", fix0
	}
	if host, port, err := net.SplitHostPort(j); err == nil {
		if host == "" || !(dnsName.MatchString(host) || validIP(host)) {
			return "is not host:port", fix0
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return "has no valid port", "set a port from 1 to 65535, such as \"127.0.0.1:7946\""
		}
		return "", ""
	}
	host := strings.TrimSuffix(strings.TrimPrefix(j, "["), "]")
	if validIP(host) || dnsName.MatchString(host) {
		return "", ""
	}
	return "is not host:port or a host", fix0
}

func validIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// checkTargets validates the defaults block and the targets (duplicate ids
// included), and that every ${VAR} a target refers to is set. A schedule
// key or replicas written out as zero (or less) is an error there, while
// a key left out takes the default.
func (c *Config) checkTargets(ch *checker, lookup target.LookupFunc) {
	dummy := target.Spec{ID: "defaults", Kind: target.KindTCP, Address: "127.0.0.1:1", Schedule: c.Defaults}
	badDefault := map[string]bool{}
	for _, fe := range dummy.ValidateWritten(func(key string) bool { return ch.wrote("defaults." + key) }) {
		badDefault[fe.Field] = true
		ch.add("defaults."+fe.Field, fe.Value, fe.Problem, fe.Fix)
	}
	schedKeys := fieldsOf(scheduleType).byName
	var written func(i int, key string) bool
	if ch.written != nil {
		at, prefix := -1, ""
		written = func(i int, key string) bool {
			if i != at { // asked key by key, target by target
				at, prefix = i, targetPath(i)
			}
			return ch.written[prefix+key]
		}
	}
	for _, fe := range target.ValidateAllWritten(c.Targets, written) {
		problem := fe.Problem
		if key, ok := scheduleField(fe.Field, schedKeys); ok && !ch.set(fe.Field) && ch.set("defaults."+key) {
			if badDefault[key] {
				continue // reported once, at the defaults block
			}
			problem += " (" + key + " comes from defaults)"
		}
		ch.add(fe.Field, fe.Value, problem, fe.Fix)
	}
	for i := range c.Targets {
		if len(c.Targets[i].EnvRefs()) == 0 {
			continue
		}
		_, err := c.Targets[i].Expand(lookup)
		fes, _ := target.AsFieldErrors(err)
		for _, fe := range fes {
			fe = fe.Prefixed(fmt.Sprintf("targets[%d]", i))
			ch.add(fe.Field, fe.Value, fe.Problem, fe.Fix)
		}
	}
}

var scheduleType = reflect.TypeFor[target.Schedule]()

// scheduleField returns the schedule key of a target field path such as
// "targets[3].timeout".
func scheduleField(field string, keys map[string][]int) (string, bool) {
	_, rest, ok := strings.Cut(field, "].")
	if !ok || !strings.HasPrefix(field, "targets[") {
		return "", false
	}
	_, known := keys[rest]
	return rest, known
}
