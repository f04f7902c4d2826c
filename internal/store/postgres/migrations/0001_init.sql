-- heck postgres store schema 1. Times are bigints (unix seconds for rollup
-- minutes, unix nanoseconds for results and transitions: timestamptz keeps
-- only microseconds). Text compared the way Go compares strings (object
-- keys and nodes, for ordering and last-writer-wins ties) is COLLATE "C".
--
-- Several heck nodes may share the database: what each node measures
-- (rollups, results) is keyed by its observer, so two owners of a target
-- (replicas: 2, or the old and new owner during a fail-over) never add up
-- into one row; reads combine the observers.

-- Replicated collections of any kind (internal/objects), one row per
-- (kind, key). stamp is the crdt.Timestamp with its top bit flipped
-- (uint64 ^ 1<<63 as int64), so integer order is stamp order; the upsert
-- resolves last-writer-wins in SQL.
CREATE TABLE objects (
	kind    text COLLATE "C" NOT NULL,
	key     text COLLATE "C" NOT NULL,
	value   bytea NOT NULL,
	stamp   bigint NOT NULL,
	node    text COLLATE "C" NOT NULL,
	deleted boolean NOT NULL,
	PRIMARY KEY (kind, key)
);
CREATE INDEX objects_tombstones ON objects (stamp) WHERE deleted;

-- The transition log (state transitions, type '', and events of other
-- types). id is cluster-wide: a transition is stored once by id. seq is
-- the order of arrival, the cursor readers resume from.
CREATE TABLE transitions (
	seq           bigint PRIMARY KEY,
	id            text UNIQUE,
	target        text NOT NULL,
	at            bigint NOT NULL, -- unix nanoseconds
	from_state    integer NOT NULL,
	to_state      integer NOT NULL,
	cause         text NOT NULL,
	observer      text NOT NULL,
	type          text NOT NULL DEFAULT '',
	subject       text NOT NULL DEFAULT '',
	detail_before text NOT NULL DEFAULT '',
	detail_after  text NOT NULL DEFAULT ''
);
CREATE INDEX transitions_target_at ON transitions (target, at);
CREATE INDEX transitions_at ON transitions (at);
CREATE INDEX transitions_type_at ON transitions (type, at);

-- Per-target, per-observer, per-minute rollups. buckets holds the latency
-- histogram's counts (store.NumBuckets of them).
CREATE TABLE rollups (
	target   text NOT NULL,
	minute   bigint NOT NULL, -- unix seconds of the minute's start
	observer text NOT NULL,
	n        bigint NOT NULL,
	fails    bigint NOT NULL,
	lat_sum  bigint NOT NULL, -- microseconds
	lat_max  bigint NOT NULL, -- microseconds
	buckets  bigint[] NOT NULL,
	PRIMARY KEY (target, minute, observer)
);
CREATE INDEX rollups_minute ON rollups (minute);

-- Raw results kept around failures and changes, per observer.
CREATE TABLE results (
	target   text NOT NULL,
	at       bigint NOT NULL, -- unix nanoseconds
	observer text NOT NULL,
	ok       boolean NOT NULL,
	latency  bigint NOT NULL, -- nanoseconds
	message  text NOT NULL,
	details  bytea,
	PRIMARY KEY (target, at, observer)
);
CREATE INDEX results_at ON results (at);
