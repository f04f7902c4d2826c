package config

import (
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/target"
)

// tcpTarget starts a document with one tcp target; the case adds its keys.
const tcpTarget = "targets:\n  - id: a\n    kind: tcp\n    address: 127.0.0.1:1\n"

// TestExplicitZeros: a schedule key or replicas written out as zero (or
// less), in a target or in the defaults block, is a problem at its line
// naming the field, the value and the fix; a key left out (or null) takes
// the default; initial_delay and jitter may be 0.
func TestExplicitZeros(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // Problem.String() of each problem, in order; none: the file loads
	}{
		{"interval 0s", tcpTarget + "    interval: 0s\n",
			[]string{`heck.yaml:5:15: targets[0].interval: "0s" is too short; set an interval from 100ms to 24h`}},
		{"interval as a bare 0", tcpTarget + "    interval: 0\n",
			[]string{`heck.yaml:5:15: targets[0].interval: "0s" is too short; set an interval from 100ms to 24h`}},
		{"interval negative", tcpTarget + "    interval: -1s\n",
			[]string{`heck.yaml:5:15: targets[0].interval: "-1s" is too short; set an interval from 100ms to 24h`}},
		{"timeout 0s", tcpTarget + "    timeout: 0s\n",
			[]string{`heck.yaml:5:14: targets[0].timeout: "0s" is too short; set a timeout from 1ms to 24h, below the interval`}},
		{"rise 0", tcpTarget + "    rise: 0\n",
			[]string{`heck.yaml:5:11: targets[0].rise: "0" is out of range; set 1 to 100 consecutive successes`}},
		{"rise negative", tcpTarget + "    rise: -3\n",
			[]string{`heck.yaml:5:11: targets[0].rise: "-3" is out of range; set 1 to 100 consecutive successes`}},
		{"fall 0", tcpTarget + "    fall: 0\n",
			[]string{`heck.yaml:5:11: targets[0].fall: "0" is out of range; set 1 to 100 consecutive failures`}},
		{"fast_interval 0s", tcpTarget + "    fast_interval: 0s\n",
			[]string{`heck.yaml:5:20: targets[0].fast_interval: "0s" is too short; set 100ms to 24h, or leave it out to use the interval`}},
		{"down_interval 0s", tcpTarget + "    down_interval: 0s\n",
			[]string{`heck.yaml:5:20: targets[0].down_interval: "0s" is too short; set 100ms to 24h, or leave it out to use the interval`}},
		{"replicas 0", tcpTarget + "    replicas: 0\n",
			[]string{`heck.yaml:5:15: targets[0].replicas: "0" is out of range; set 1 to 16 nodes, or leave it out for the cluster's default`}},
		{"every zero at once, one problem each", tcpTarget + "    interval: 0s\n    timeout: 0s\n    rise: 0\n    fall: 0\n",
			[]string{
				`heck.yaml:5:15: targets[0].interval: "0s" is too short; set an interval from 100ms to 24h`,
				`heck.yaml:6:14: targets[0].timeout: "0s" is too short; set a timeout from 1ms to 24h, below the interval`,
				`heck.yaml:7:11: targets[0].rise: "0" is out of range; set 1 to 100 consecutive successes`,
				`heck.yaml:8:11: targets[0].fall: "0" is out of range; set 1 to 100 consecutive failures`,
			}},
		{"zero in the second target only", tcpTarget + "  - id: b\n    kind: tcp\n    address: 127.0.0.1:2\n    rise: 0\n",
			[]string{`heck.yaml:8:11: targets[1].rise: "0" is out of range; set 1 to 100 consecutive successes`}},
		{"a written zero is not replaced by defaults", "defaults:\n  interval: 5s\n  rise: 3\n" + tcpTarget + "    interval: 0s\n    rise: 0\n",
			[]string{
				`heck.yaml:8:15: targets[0].interval: "0s" is too short; set an interval from 100ms to 24h`,
				`heck.yaml:9:11: targets[0].rise: "0" is out of range; set 1 to 100 consecutive successes`,
			}},
		{"zeros in defaults, reported once", "defaults:\n  interval: 0s\n  fall: 0\n  down_interval: 0s\n" + tcpTarget + "  - {id: b, kind: tcp, address: \"127.0.0.1:2\"}\n",
			[]string{
				`heck.yaml:2:13: defaults.interval: "0s" is too short; set an interval from 100ms to 24h`,
				`heck.yaml:3:9: defaults.fall: "0" is out of range; set 1 to 100 consecutive failures`,
				`heck.yaml:4:18: defaults.down_interval: "0s" is too short; set 100ms to 24h, or leave it out to use the interval`,
			}},
		{"zero merged in from an anchor", "x-bad: &bad {rise: 0}\n" + "targets:\n  - <<: *bad\n    id: a\n    kind: tcp\n    address: 127.0.0.1:1\n",
			[]string{`heck.yaml:1:20: targets[0].rise: "0" is out of range; set 1 to 100 consecutive successes`}},
		{"zero in flow style", "targets: [{id: a, kind: tcp, address: \"127.0.0.1:1\", timeout: 0s}]\n",
			[]string{`heck.yaml:1:63: targets[0].timeout: "0s" is too short; set a timeout from 1ms to 24h, below the interval`}},

		{"keys left out take the defaults", tcpTarget, nil},
		{"null values take the defaults", tcpTarget + "    interval:\n    rise: ~\n    replicas: null\n", nil},
		{"initial_delay and jitter may be 0", tcpTarget + "    initial_delay: 0s\n    jitter: 0\n", nil},
		{"initial_delay and jitter 0 in defaults", "defaults:\n  initial_delay: 0s\n  jitter: 0s\n" + tcpTarget, nil},
		{"positive values are fine", tcpTarget + "    interval: 1s\n    timeout: 500ms\n    rise: 1\n    fall: 1\n    fast_interval: 1s\n    down_interval: 1m\n    replicas: 1\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse("heck.yaml", []byte(tc.doc), env())
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("want the file to load, got:\n%v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; targets %+v", c.Targets)
			}
			var got []string
			for _, p := range problemsOf(t, err) {
				got = append(got, p.String())
			}
			if g, w := strings.Join(got, "\n"), strings.Join(tc.want, "\n"); g != w {
				t.Errorf("problems:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}

// TestWrittenZeroBeatsDefaults: initial_delay and jitter written as 0 in a
// target mean 0, not the defaults block's value; left out, they take it.
func TestWrittenZeroBeatsDefaults(t *testing.T) {
	doc := "defaults:\n  initial_delay: 5s\n  jitter: 2s\n  interval: 10s\n" + tcpTarget + "    initial_delay: 0s\n    jitter: 0\n" +
		"  - {id: b, kind: tcp, address: \"127.0.0.1:2\"}\n"
	c, err := parse("heck.yaml", []byte(doc), env())
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.Targets[0].Schedule, c.Targets[1].Schedule
	if a.InitialDelay != 0 || a.Jitter != 0 || a.Interval.D() != 10*time.Second {
		t.Errorf("target a = %+v, want initial_delay and jitter 0 as written, interval from defaults", a)
	}
	if b.InitialDelay.D() != 5*time.Second || b.Jitter.D() != 2*time.Second {
		t.Errorf("target b = %+v, want initial_delay and jitter from defaults", b)
	}
}

// TestValidateWithoutFile: a config built in code has no written keys, so
// zero keeps meaning "use the default" there.
func TestValidateWithoutFile(t *testing.T) {
	c := Default()
	c.Targets = append(c.Targets, target.Spec{ID: "a", Kind: target.KindTCP, Address: "127.0.0.1:1"})
	if err := c.Validate(); err != nil {
		t.Fatalf("a config built in code with zero schedule fields: %v", err)
	}
}
