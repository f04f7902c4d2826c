// Package testkit owns the helpers heck's test suites share, so that each
// suite states only what it checks: polling a condition with a deadline
// (Wait), loopback HTTP targets that count their hits (Targets, Server), reading
// which targets a node schedules from its /metrics (Scheduled, OneOwner),
// loopback addresses (FreePort, ClosedAddr), a log sink safe for
// concurrent writers (SyncBuffer), quiet node loggers (Logger), memberlist
// timings for tests (FastGossip), and building and running the heck binary as a real
// process (BuildHeck, Heck, Proc).
//
// It is for tests only: no non-test code may import it.
package testkit
