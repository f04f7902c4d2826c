-- heck store schema 4: the target registry is one kind of replicated object
-- ("target") like every other; its rows move into objects and the registry
-- table goes. version held the crdt.Timestamp bits as int64; objects.stamp
-- holds them with the top bit flipped (x XOR 1<<63, written with & | ~ as
-- SQLite has no XOR), so integer order is stamp order.
INSERT INTO objects (kind, key, value, stamp, node, deleted)
SELECT 'target', id, COALESCE(spec, x''),
       (version | (-9223372036854775807 - 1)) & ~(version & (-9223372036854775807 - 1)),
       node, deleted
FROM registry;
DROP TABLE registry;
