package testkit

import (
	"time"

	"github.com/hashicorp/memberlist"
)

// FastGossip shortens memberlist's timings for tests on loopback while
// leaving slack for -race on two busy cores: a failure is detected in
// about a second.
func FastGossip(mc *memberlist.Config) {
	mc.ProbeInterval = 250 * time.Millisecond
	mc.ProbeTimeout = 150 * time.Millisecond
	mc.GossipInterval = 50 * time.Millisecond
	mc.PushPullInterval = 500 * time.Millisecond
	mc.GossipToTheDeadTime = 500 * time.Millisecond
	mc.SuspicionMult = 3
	mc.SuspicionMaxTimeoutMult = 2
	mc.TCPTimeout = 2 * time.Second
}
