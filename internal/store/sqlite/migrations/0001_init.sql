-- heck store schema 1. Times are integers (unix seconds for rollup minutes,
-- unix nanoseconds for results and transitions); target ids are interned
-- into target_ids so the big tables carry a small integer, not a string.

CREATE TABLE target_ids (
	tid  INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
);

-- The replicated target registry (tombstones included).
CREATE TABLE registry (
	id      TEXT PRIMARY KEY,
	spec    BLOB,
	version INTEGER NOT NULL, -- crdt.Timestamp bits as int64
	node    TEXT NOT NULL,
	deleted INTEGER NOT NULL
) WITHOUT ROWID;

-- Per-target per-minute rollups. buckets is the sparse varint encoding of
-- the latency histogram (pairs of index gap and count for non-empty buckets).
CREATE TABLE rollups (
	tid     INTEGER NOT NULL,
	minute  INTEGER NOT NULL, -- unix seconds of the minute's start
	n       INTEGER NOT NULL,
	fails   INTEGER NOT NULL,
	lat_sum INTEGER NOT NULL, -- microseconds
	lat_max INTEGER NOT NULL, -- microseconds
	buckets BLOB,
	PRIMARY KEY (tid, minute)
) WITHOUT ROWID;

-- Raw results kept around failures and changes.
CREATE TABLE results (
	tid     INTEGER NOT NULL,
	at      INTEGER NOT NULL, -- unix nanoseconds
	ok      INTEGER NOT NULL,
	latency INTEGER NOT NULL, -- nanoseconds
	message TEXT NOT NULL,
	details BLOB,
	PRIMARY KEY (tid, at)
) WITHOUT ROWID;

-- State transitions.
CREATE TABLE transitions (
	seq        INTEGER PRIMARY KEY,
	tid        INTEGER NOT NULL,
	at         INTEGER NOT NULL, -- unix nanoseconds
	from_state INTEGER NOT NULL,
	to_state   INTEGER NOT NULL,
	cause      TEXT NOT NULL,
	observer   TEXT NOT NULL
);
CREATE INDEX transitions_tid_at ON transitions (tid, at);
CREATE INDEX transitions_at ON transitions (at);
