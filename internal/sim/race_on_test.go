//go:build race

package sim

// raceOn: the race detector slows the simulation about tenfold, so the
// test sizes down to stay well under a minute on two cores.
const raceOn = true
