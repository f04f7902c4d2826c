// Package store defines where heck keeps what must survive a restart: the
// replicated objects (the target registry, kind "target"; silences...),
// state transitions, per-minute rollups of results, and raw
// results kept around failures and changes. Implementations live in
// subpackages (sqlite now, postgres later), all pass the conformance suite
// in internal/store/storetest, and register as drivers (Register): a node
// opens the one store.driver names with Open, handing it the settings of
// its config section, store.<driver>. internal/store/drivers links every
// built-in driver into a program.
//
// Writes come in batches from one writer; reads may run concurrently with
// them. A store error is reported to its caller and never turns into a probe
// failure.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/heckhq/heck/internal/health"
)

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("not found")

// KindTarget is the object kind of the target registry's entries (the
// value is the JSON of a target.Spec).
const KindTarget = "target"

// ObjectRecord is one entry of a replicated collection of some kind
// (internal/objects): a value in the kind's encoding (JSON unless the kind
// says otherwise), the hybrid logical clock stamp and node of its last
// write, and a tombstone flag.
type ObjectRecord struct {
	Key     string
	Value   []byte // empty for a tombstone
	Stamp   uint64 // HLC timestamp of the write (crdt.Timestamp)
	Node    string // node that made the write; breaks Stamp ties
	Deleted bool
}

// Transition is a stored change of state.
type Transition struct {
	// ID is the transition's cluster-wide id (the same on every node); a
	// transition whose id is already stored is not stored again.
	ID string
	// Seq is this node's position of the transition in its log, its order
	// of arrival here: set by the writer (AddTransitions with Seq 0 lets
	// the store choose the next one), read back by every query.
	Seq      int64
	TargetID string
	From, To health.State
	At       time.Time
	Cause    string
	Observer string
	// Type is "" for a change of a target's state. The log carries other
	// events too (an ejection, a pool's panic...): they have a type, a
	// Subject (the pool...), and Before and After summaries; TargetID is
	// the target they concern, or the subject.
	Type          string
	Subject       string
	Before, After string
}

// TransitionQuery selects transitions; zero fields do not filter. Results
// come newest first.
type TransitionQuery struct {
	TargetID string
	From, To time.Time // half-open [From, To)
	Limit    int       // 0: no limit
	// Events includes the events of every type, not only state
	// transitions; Type keeps those of one type ("transition" for the
	// state transitions) and implies Events.
	Events bool
	Type   string
}

// TypeTransition names the state transitions in TransitionQuery.Type.
const TypeTransition = "transition"

// Rollup aggregates one target's results over one minute.
type Rollup struct {
	TargetID string
	Minute   time.Time // start of the minute, UTC
	Count    uint32
	Failures uint32
	// LatencySum and LatencyMax in microseconds.
	LatencySum uint64
	LatencyMax uint32
	// Buckets counts results per latency bucket (see LatencyBuckets).
	Buckets [NumBuckets]uint32
}

// Result is one raw probe result kept for the record.
type Result struct {
	TargetID string
	At       time.Time
	OK       bool
	Latency  time.Duration
	Message  string
	// Details is the JSON of probe.Details, may be empty.
	Details []byte
}

// Retention says how long each kind of record is kept; zero keeps forever.
type Retention struct {
	Results     time.Duration
	Rollups     time.Duration
	Transitions time.Duration
	Tombstones  time.Duration
}

// Store is the persistence heck needs.
type Store interface {
	// PutObjects upserts entries of the collection kind (tombstones
	// included; the target registry is kind KindTarget). A stored entry is
	// replaced only by a newer one: a later Stamp, or the same Stamp from
	// a larger Node, or on a full tie a tombstone over a value
	// (crdt.Entry.Newer), so an older write arriving late never overwrites
	// a newer one whatever the caller decided.
	PutObjects(ctx context.Context, kind string, recs []ObjectRecord) error
	// Objects returns every entry of kind, tombstones included, by key.
	Objects(ctx context.Context, kind string) ([]ObjectRecord, error)

	// AddTransitions appends transitions; one whose ID is already stored
	// is skipped (it is the same change, heard twice).
	AddTransitions(ctx context.Context, ts []Transition) error
	// Transitions returns matching transitions, newest first.
	Transitions(ctx context.Context, q TransitionQuery) ([]Transition, error)
	// TransitionsAfter returns up to limit transitions with Seq above
	// after, in Seq order: how a reader of the log catches up.
	TransitionsAfter(ctx context.Context, after int64, limit int) ([]Transition, error)
	// TransitionByID returns the transition with id; ErrNotFound if none.
	TransitionByID(ctx context.Context, id string) (Transition, error)
	// TransitionHeads returns each target's latest transition (by At,
	// then Seq) and the highest Seq stored (0 when empty).
	TransitionHeads(ctx context.Context) (heads []Transition, maxSeq int64, err error)

	// AddRollups merges rollups into stored ones: two rollups of the same
	// target and minute add up (counts, sums, buckets; max of maxima).
	AddRollups(ctx context.Context, rs []Rollup) error
	// Rollups returns a target's rollups with Minute in [from, to), oldest
	// first.
	Rollups(ctx context.Context, targetID string, from, to time.Time) ([]Rollup, error)

	// AddResults appends raw results.
	AddResults(ctx context.Context, rs []Result) error
	// Results returns a target's raw results in [from, to), newest first,
	// at most limit (0: no limit).
	Results(ctx context.Context, targetID string, from, to time.Time, limit int) ([]Result, error)

	// DeleteTargetData removes a target's transitions, rollups and results
	// (after the target itself was deleted and its history is not wanted).
	DeleteTargetData(ctx context.Context, targetID string) error

	// Prune removes records older than the retention allows, as of now
	// (Tombstones: target and object tombstones).
	Prune(ctx context.Context, r Retention, now time.Time) error

	// Ping checks the store can answer (for /readyz).
	Ping(ctx context.Context) error

	// Close flushes and releases the store.
	Close() error
}
