//go:build race

package schedule

// raceEnabled: the race detector slows the large memory test tenfold.
const raceEnabled = true
