package cluster

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

func TestFrameRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ     byte
		from    string
		payload []byte
	}{
		{msgDelta, "n1", []byte("hello")},
		{msgDirect, "a-much-longer-node-name.example", nil},
		{msgDigest, "", []byte{0, 1, 2}},
		{99, "x", bytes.Repeat([]byte("y"), 5000)},
	}
	for _, tt := range tests {
		b := appendFrame(nil, tt.typ, tt.from, tt.payload)
		if len(b) != frameSize(tt.from, tt.payload) {
			t.Errorf("frameSize = %d, encoded %d", frameSize(tt.from, tt.payload), len(b))
		}
		typ, from, payload, err := parseFrame(b)
		if err != nil || typ != tt.typ || from != tt.from || !bytes.Equal(payload, tt.payload) {
			t.Errorf("parse(%d,%q) = %d, %q, %d bytes, %v", tt.typ, tt.from, typ, from, len(payload), err)
		}
	}
	for _, bad := range [][]byte{nil, {1}, {1, 5, 'a'}, {1, 0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if _, _, _, err := parseFrame(bad); err == nil {
			t.Errorf("parseFrame(%v) accepted a malformed frame", bad)
		}
	}
}

func TestMetaRoundTripAndLimits(t *testing.T) {
	t.Parallel()
	m := Meta{Zone: "eu-west-1a", APIAddr: "10.0.0.1:7800", Version: "v0.1.0", Weight: 2.5}
	b := m.encode()
	got, err := decodeMeta(b)
	if err != nil || got != m {
		t.Fatalf("decode = %+v, %v; want %+v", got, err, m)
	}
	// A newer encoding may append fields; they are ignored.
	if got, err := decodeMeta(append(bytes.Clone(b), 7, 7, 7)); err != nil || got != m {
		t.Errorf("trailing bytes: %+v, %v", got, err)
	}
	for i := range b {
		if _, err := decodeMeta(b[:i]); !errors.Is(err, errBadMeta) {
			t.Errorf("truncated to %d bytes: %v, want errBadMeta", i, err)
		}
	}
	// Undecodable metadata still yields a member with weight 1.
	mem := memberFromNode(&memberlist.Node{Name: "x", Addr: net.ParseIP("127.0.0.1"), Port: 1, Meta: []byte{9}})
	if mem.Weight != 1 || mem.Zone != "" || mem.State != StateAlive {
		t.Errorf("member from bad meta = %+v", mem)
	}
}

func TestParseLogLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line  string
		level slog.Level
		msg   string
	}{
		{"[DEBUG] memberlist: Stream connection from=127.0.0.1:1\n", slog.LevelDebug, "Stream connection from=127.0.0.1:1"},
		{"[INFO] memberlist: Suspect n2 has failed\n", slog.LevelInfo, "Suspect n2 has failed"},
		{"[WARN] memberlist: Refuting a suspect message\n", slog.LevelWarn, "Refuting a suspect message"},
		{"[ERR] memberlist: failed to receive: no installed keys could decrypt the message\n", slog.LevelError, "failed to receive: no installed keys could decrypt the message"},
		{"2024/01/02 03:04:05 [ERROR] memberlist: x\n", slog.LevelError, "x"},
		{"Err: Could not set the deadline: boom\n", slog.LevelInfo, "Err: Could not set the deadline: boom"},
	}
	for _, tt := range tests {
		level, msg := parseLogLine([]byte(tt.line))
		if level != tt.level || msg != tt.msg {
			t.Errorf("parseLogLine(%q) = %v %q, want %v %q", tt.line, level, msg, tt.level, tt.msg)
		}
	}
}

type recordHandler struct {
	recs []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.recs = append(h.recs, r)
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

func TestStdLoggerGoesThroughSlog(t *testing.T) {
	t.Parallel()
	h := &recordHandler{}
	l := newStdLogger(slog.New(h))
	l.Printf("[WARN] memberlist: Binding to public address without encryption!")
	if len(h.recs) != 1 || h.recs[0].Level != slog.LevelWarn || h.recs[0].Message != "Binding to public address without encryption!" {
		t.Fatalf("records = %+v", h.recs)
	}
}

func TestSplitHostPortAndResolveJoin(t *testing.T) {
	t.Parallel()
	resolve := func(_ context.Context, host string) ([]net.IP, error) {
		switch host {
		case "seeds.test":
			return []net.IP{net.ParseIP("127.0.0.2"), net.ParseIP("::1"), net.ParseIP("127.0.0.2")}, nil
		case "empty.test":
			return nil, nil
		}
		return nil, errors.New("no such host")
	}
	tests := []struct {
		entry   string
		want    []string
		wantErr string
	}{
		{"127.0.0.1:7000", []string{"127.0.0.1:7000"}, ""},
		{"127.0.0.1", []string{"127.0.0.1:7946"}, ""},
		{"::1", []string{"[::1]:7946"}, ""},
		{"[::1]", []string{"[::1]:7946"}, ""},
		{"[::1]:8000", []string{"[::1]:8000"}, ""},
		{"seeds.test", []string{"127.0.0.2:7946", "[::1]:7946"}, ""},
		{"seeds.test:9000", []string{"127.0.0.2:9000", "[::1]:9000"}, ""},
		{"empty.test", nil, "no addresses"},
		{"missing.test:1", nil, "resolve missing.test"},
		{"seeds.test:http", nil, "port"},
		{"seeds.test:0", nil, "port 0"},
		{":7946", nil, "no host"},
		{"", nil, "empty"},
	}
	for _, tt := range tests {
		got, err := resolveJoin(context.Background(), resolve, tt.entry)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("resolveJoin(%q) error = %v, want it to mention %q", tt.entry, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("resolveJoin(%q) = %v, %v; want %v", tt.entry, got, err, tt.want)
		}
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	ok := Config{NodeName: "n", Bind: "127.0.0.1:0"}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"valid", func(*Config) {}, ""},
		{"no name", func(c *Config) { c.NodeName = "" }, "node name is empty"},
		{"bind host name", func(c *Config) { c.Bind = "localhost:7946" }, `cluster.bind "localhost:7946": host must be an IP`},
		{"bind bad port", func(c *Config) { c.Bind = "127.0.0.1:99999" }, "cluster.bind"},
		{"negative weight", func(c *Config) { c.Weight = -1 }, "cluster.weight -1"},
		{"nan weight", func(c *Config) { c.Weight = math.NaN() }, "cluster.weight"},
		{"short key", func(c *Config) { c.Keys = [][]byte{key(1), []byte("short")} }, "cluster.keys[1]: key is 5 bytes: want 16, 24 or 32"},
		{"bad join", func(c *Config) { c.Join = []string{"127.0.0.1:1", "host:port"} }, `cluster.join[1] "host:port"`},
		{"join port 0", func(c *Config) { c.Join = []string{"127.0.0.1:0"} }, "cluster.join[0]"},
		{"bad advertise", func(c *Config) { c.Advertise = "1.2.3.4:x" }, "cluster.advertise"},
		{"huge zone", func(c *Config) { c.Zone = strings.Repeat("z", 600) }, "shorten cluster.zone (600 bytes)"},
	}
	for _, tt := range tests {
		cfg := ok
		tt.mod(&cfg)
		c, err := New(cfg, newFakeReplica(nil))
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			} else {
				_ = c.Close()
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error %v, want it to contain %q", tt.name, err, tt.wantErr)
		}
	}
	if _, err := New(ok, nil); err == nil {
		t.Error("nil Replica accepted")
	}
}

func TestEventQueueCoalesces(t *testing.T) {
	t.Parallel()
	q := newEventQueue()
	m := func(name, zone string) Member { return Member{Name: name, Zone: zone} }
	q.push(Event{EventJoin, m("a", "z1")})
	q.push(Event{EventUpdate, m("a", "z2")})
	q.push(Event{EventJoin, m("b", "")})
	q.push(Event{EventLeave, m("b", "")})
	q.push(Event{EventUpdate, m("c", "z3")})
	got := q.take()
	want := []Event{{EventJoin, m("a", "z2")}, {EventLeave, m("b", "")}, {EventUpdate, m("c", "z3")}}
	if !slices.Equal(got, want) {
		t.Errorf("take = %v, want %v", got, want)
	}
	if got := q.take(); got != nil {
		t.Errorf("second take = %v, want nil", got)
	}
}

func TestDigestQueueKeepsLatestPerPeer(t *testing.T) {
	t.Parallel()
	q := newDigestQueue()
	q.put("a", []byte("1"))
	q.put("b", []byte("x"))
	q.put("a", []byte("2"))
	ctx := context.Background()
	for _, want := range []struct{ from, d string }{{"a", "2"}, {"b", "x"}} {
		from, d, ok := q.next(ctx)
		if !ok || from != want.from || string(d) != want.d {
			t.Errorf("next = %q %q %v, want %q %q", from, d, ok, want.from, want.d)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, ok := q.next(cctx); ok {
		t.Error("next on an empty queue with a cancelled ctx returned ok")
	}
}

func TestPartitionerCutsBothWays(t *testing.T) {
	t.Parallel()
	p := NewPartitioner()
	var a, b memberlist.MockNetwork
	_ = a
	ta := b.NewTransport("a")
	tb := b.NewTransport("b")
	pa, err := p.Wrap("a", ta)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := p.Wrap("b", tb)
	if err != nil {
		t.Fatal(err)
	}
	addrB := memberlist.Address{Addr: "127.0.0.1:2"}
	p.Partition([]string{"a"}, []string{"b"})
	if !p.cut("a", addrB) || !p.cut("b", memberlist.Address{Name: "a"}) {
		t.Fatal("partition not in force both ways")
	}
	if _, err := pa.DialAddressTimeout(addrB, 0); !errors.Is(err, errPartitioned) {
		t.Errorf("dial across partition: %v", err)
	}
	if _, err := pb.WriteTo([]byte("x"), "127.0.0.1:1"); err != nil {
		t.Errorf("dropped write returned %v, want nil (silent loss)", err)
	}
	if p.cut("a", memberlist.Address{Addr: "127.0.0.1:99"}) {
		t.Error("unknown address cut")
	}
	p.Heal()
	if p.cut("a", addrB) {
		t.Error("still cut after Heal")
	}
}

func TestKeyErrorsLogAHint(t *testing.T) {
	t.Parallel()
	h := &recordHandler{}
	newStdLogger(slog.New(h)).Printf("[ERR] memberlist: failed to receive: No installed keys could decrypt the message from=127.0.0.1:1")
	if len(h.recs) != 1 {
		t.Fatalf("records = %d", len(h.recs))
	}
	var hint string
	h.recs[0].Attrs(func(a slog.Attr) bool {
		if a.Key == "hint" {
			hint = a.Value.String()
		}
		return true
	})
	if !strings.Contains(hint, "cluster.keys") {
		t.Errorf("hint = %q, want it to point at cluster.keys", hint)
	}
}

func TestChooseRejoin(t *testing.T) {
	t.Parallel()
	addrs := func(prefix string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, prefix+strconv.Itoa(i)+":7946")
		}
		return out
	}
	many := addrs("127.0.1.", 10)
	tests := []struct {
		name       string
		live       []string
		dead, join []string
		wantAll    []string // exactly these, in any order
		wantDead   int      // else: this many from dead, plus wantJoin
		wantJoin   []string
	}{
		{name: "nothing dead, no join", wantAll: nil},
		{name: "two-node cluster: the peer", dead: []string{"127.0.0.2:7946"}, wantAll: []string{"127.0.0.2:7946"}},
		{name: "RejoinMax dead: all", dead: many[:RejoinMax], wantAll: many[:RejoinMax]},
		{name: "few dead and join addresses: all", dead: many[:2], join: []string{"127.0.0.9:7946"},
			wantAll: append(slices.Clone(many[:2]), "127.0.0.9:7946")},
		{name: "many dead: RejoinMax of them", dead: many, wantDead: RejoinMax},
		{name: "many dead: join addresses kept, live ones not", dead: many, live: []string{"127.0.0.8:7946"},
			join: []string{"127.0.0.8:7946", "127.0.0.9:7946", "127.0.0.9:7946"}, wantDead: RejoinMax, wantJoin: []string{"127.0.0.9:7946"}},
		{name: "a join address that is dead is not in the quota", dead: many[:RejoinMax+1], join: many[:1],
			wantAll: many[:RejoinMax+1]},
		{name: "duplicates and live addresses are skipped", dead: []string{many[0], many[0], many[1], many[2], many[3]},
			live: []string{many[3], many[2]}, wantAll: many[:2]},
		{name: "all join addresses live", join: many[:2], live: many[:2], wantAll: nil},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tt := range tests {
		live := map[string]bool{}
		for _, a := range tt.live {
			live[a] = true
		}
		deadBefore := slices.Clone(tt.dead)
		got, picked := chooseRejoin(live, tt.dead, tt.join, RejoinMax, rng.IntN)
		for i, a := range got {
			if isDead := slices.Contains(tt.dead, a) && !slices.Contains(tt.join, a); (i < picked) != isDead {
				t.Errorf("%s: picked = %d of %v, but %s (index %d) dead-only is %v", tt.name, picked, got, a, i, isDead)
			}
		}
		if !slices.Equal(tt.dead, deadBefore) {
			t.Errorf("%s: chooseRejoin changed its dead argument: %v, was %v", tt.name, tt.dead, deadBefore)
		}
		if len(slices.Compact(slices.Sorted(slices.Values(got)))) != len(got) {
			t.Errorf("%s: %v has an address twice", tt.name, got)
		}
		if tt.wantDead == 0 {
			if !sameSet(got, tt.wantAll) {
				t.Errorf("%s: got %v, want %v (any order)", tt.name, got, tt.wantAll)
			}
			continue
		}
		if len(got) != tt.wantDead+len(tt.wantJoin) {
			t.Errorf("%s: got %d addresses %v, want %d dead plus %v", tt.name, len(got), got, tt.wantDead, tt.wantJoin)
			continue
		}
		for _, a := range got[:tt.wantDead] {
			if !slices.Contains(tt.dead, a) || live[a] {
				t.Errorf("%s: %s among the dead picks %v is not a dead, non-live address", tt.name, a, got)
			}
		}
		if !sameSet(got[tt.wantDead:], tt.wantJoin) {
			t.Errorf("%s: join addresses %v, want %v", tt.name, got[tt.wantDead:], tt.wantJoin)
		}
	}
}

// TestChooseRejoinIsRandom: over many rounds each of 10 dead members is
// tried about RejoinMax/10 of the time, so the halves of a partition do
// not all pick the same few members (which might be the unreachable ones).
func TestChooseRejoinIsRandom(t *testing.T) {
	t.Parallel()
	var dead []string
	for i := range 10 {
		dead = append(dead, "127.0.1."+strconv.Itoa(i)+":7946")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const rounds = 3000
	count := map[string]int{}
	for range rounds {
		addrs, _ := chooseRejoin(nil, dead, nil, RejoinMax, rng.IntN)
		for _, a := range addrs {
			count[a]++
		}
	}
	want := float64(rounds*RejoinMax) / float64(len(dead)) // 900
	for _, a := range dead {
		if c := float64(count[a]); c < 0.8*want || c > 1.2*want {
			t.Errorf("%s tried in %.0f of %d rounds, want about %.0f", a, c, rounds, want)
		}
	}
}

// TestNextRejoin: fast rounds follow rounds in which a dead member
// answered, at most RejoinBurstRounds in a row; a round that heals nothing
// returns to the interval and resets the streak.
func TestNextRejoin(t *testing.T) {
	t.Parallel()
	const iv = 5 * time.Second
	streak := 0
	var got []time.Duration
	healed := []bool{false, true, true}
	for range RejoinBurstRounds {
		healed = append(healed, true)
	}
	healed = append(healed, false, true)
	for _, h := range healed {
		var d time.Duration
		d, streak = NextRejoin(iv, h, streak)
		got = append(got, d)
	}
	want := []time.Duration{iv}
	for range RejoinBurstRounds {
		want = append(want, RejoinBurst)
	}
	want = append(want, iv, iv, iv, RejoinBurst) // the streak is spent; a quiet round resets it
	if !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	if d, _ := NextRejoin(500*time.Millisecond, true, 0); d != 500*time.Millisecond {
		t.Errorf("an interval shorter than RejoinBurst: wait %v, want the interval", d)
	}
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}
