// Package e2e holds end-to-end tests of the heck binary: TestMain builds
// cmd/heck once, and the tests run it as real processes (heck serve on free
// loopback ports with temporary data directories, and the client commands
// against them) the way the README tells a user to. Everything they touch
// is on loopback and made by the tests; there is nothing to skip.
package e2e
