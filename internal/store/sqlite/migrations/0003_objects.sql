-- heck store schema 3: replicated collections of any kind (internal/objects),
-- one row per (kind, key). stamp is the crdt.Timestamp with its top bit
-- flipped (uint64 ^ 1<<63 as int64), so integer order is stamp order; the
-- upsert resolves last-writer-wins in SQL so an older write never replaces
-- a newer one.
CREATE TABLE objects (
	kind    TEXT NOT NULL,
	key     TEXT NOT NULL,
	value   BLOB NOT NULL,
	stamp   INTEGER NOT NULL,
	node    TEXT NOT NULL,
	deleted INTEGER NOT NULL,
	PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX objects_tombstones ON objects (stamp) WHERE deleted <> 0;
