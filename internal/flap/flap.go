// Package flap owns flap detection: deciding, from a target's recent
// transitions, that it changes state too often for each change to be
// worth telling anyone, and when it has settled again.
//
// It follows Nagios: the percent state change over a window, each change
// weighted by how recent it is (the oldest counts 0.8, the newest 1.2),
// against two thresholds with hysteresis: a target starts flapping when
// the percentage rises above High and stops when it falls below Low. Heck
// judges a window of time rather than Nagios's 21 checks, since what it
// has cluster-wide are transitions, not every probe: a change counts as
// one of Slots possible per window (the window divided by the target's
// interval, capped at 20 as Nagios's 21 checks give 20 changes).
package flap

import (
	"fmt"
	"time"
)

// Defaults, as Nagios's: 21 checks (20 possible changes), start flapping
// above 50%, stop below 25%.
const (
	DefaultHigh  = 50.0
	DefaultLow   = 25.0
	DefaultSlots = 20
)

// Options tune a Detector. Zero values take the defaults.
type Options struct {
	// High and Low are the percent state change above which a target
	// starts flapping and below which it stops (Low < High).
	High, Low float64
	// Slots is the most changes a window can hold (default 20).
	Slots int
}

func (o Options) withDefaults() Options {
	if o.High <= 0 {
		o.High = DefaultHigh
	}
	if o.Low <= 0 || o.Low >= o.High {
		o.Low = min(DefaultLow, o.High/2)
	}
	if o.Slots <= 0 {
		o.Slots = DefaultSlots
	}
	return o
}

// Validate reports thresholds that cannot work.
func (o Options) Validate() error {
	if o.High < 0 || o.High > 100 || o.Low < 0 || o.Low > 100 {
		return fmt.Errorf("flap thresholds %.0f%%/%.0f%% are not percentages; give low and high from 0 to 100", o.Low, o.High)
	}
	if o.High > 0 && o.Low >= o.High {
		return fmt.Errorf("flap threshold low %.0f%% is not below high %.0f%%; give low < high (default 25 and 50)", o.Low, o.High)
	}
	return nil
}

// Percent returns the weighted percent state change of changes (the times
// of a target's transitions, in any order) over the window ending at now,
// for a target probed every interval.
func Percent(changes []time.Time, now time.Time, window, interval time.Duration, slots int) float64 {
	if window <= 0 {
		return 0
	}
	if interval <= 0 {
		interval = window / time.Duration(slots)
	}
	possible := min(int(window/interval), slots)
	if possible < 1 {
		possible = 1
	}
	start := now.Add(-window)
	var sum float64
	for _, c := range changes {
		if c.Before(start) || c.After(now) {
			continue
		}
		// 0.8 for a change at the window's start, 1.2 for one now.
		sum += 0.8 + 0.4*float64(c.Sub(start))/float64(window)
	}
	return min(100*sum/float64(possible), 100)
}

// Detector keeps one target's flapping state with hysteresis.
type Detector struct {
	opts     Options
	flapping bool
}

// New returns a detector that is not flapping.
func New(opts Options) *Detector { return &Detector{opts: opts.withDefaults()} }

// Flapping reports the state decided last.
func (d *Detector) Flapping() bool { return d.flapping }

// Update decides the state at now from the target's transitions and
// reports whether it changed (started or stopped flapping), with the
// percentage.
func (d *Detector) Update(changes []time.Time, now time.Time, window, interval time.Duration) (changed bool, percent float64) {
	p := Percent(changes, now, window, interval, d.opts.Slots)
	switch {
	case !d.flapping && p > d.opts.High:
		d.flapping = true
		return true, p
	case d.flapping && p < d.opts.Low:
		d.flapping = false
		return true, p
	}
	return false, p
}
