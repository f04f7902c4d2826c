// Package health owns what heck knows about the state of targets: the State
// type, and the replicated table of observations, where each (target,
// observer node) is a single-writer register ordered by the observer's
// sequence number. The verdict for a target is derived from its owners'
// freshest observations; an observation older than a few intervals is stale.
package health
