// Package testkit owns the helpers heck's test suites share, so that each
// suite states only what it checks:
//
//   - polling a condition with a deadline (Wait, Abort, True);
//   - loopback HTTP targets that count their hits (Targets for many ids,
//     Server for one);
//   - reading a running node: which targets it schedules, from its
//     /metrics (Scheduled, OneOwner), and what its API lists (Listed);
//   - loopback addresses (FreePort, ClosedAddr);
//   - a log sink safe for concurrent writers (SyncBuffer), quiet node
//     loggers (Logger) and memberlist timings for tests (FastGossip);
//   - building and running the heck binary as a real process (BuildHeck,
//     Heck, Proc).
//
// It is for tests only: no non-test code may import it.
package testkit
