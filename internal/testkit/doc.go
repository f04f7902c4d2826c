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
//     Heck, Proc);
//   - real PostgreSQL and Redis servers on loopback, in temporary
//     directories, shared by a test binary's tests (StartPostgres,
//     StartRedis, Shared), skipped when not installed unless
//     HECK_INTEGRATION=1.
//
// It is for tests only: no non-test code may import it.
package testkit
