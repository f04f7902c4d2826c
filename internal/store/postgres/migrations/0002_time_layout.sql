-- heck postgres store schema 2: results and rollups laid out by time, and
-- hour rollups. What depends on the server (TimescaleDB hypertables where
-- the extension is there, or native partitions by UTC day with a default
-- partition) is done by the migration's Go half (migrateLayout), which
-- records its choice in heck_layout.

-- Facts about how this database is laid out: name 'time' is the layout of
-- the time-keyed tables ('native' or 'timescaledb').
CREATE TABLE heck_layout (
	name  text PRIMARY KEY,
	value text NOT NULL
);

-- Per-target, per-observer, per-hour rollups, maintained with the minute
-- rollups in the same transaction, so long ranges (a 30-day uptime, a
-- month's latency percentiles) read 720 rows instead of 43,200.
CREATE TABLE rollups_hour (
	target   text NOT NULL,
	hour     bigint NOT NULL, -- unix seconds of the hour's start
	observer text NOT NULL,
	n        bigint NOT NULL,
	fails    bigint NOT NULL,
	lat_sum  bigint NOT NULL, -- microseconds
	lat_max  bigint NOT NULL, -- microseconds
	buckets  bigint[] NOT NULL,
	PRIMARY KEY (target, hour, observer)
);
CREATE INDEX rollups_hour_hour ON rollups_hour (hour);

-- The hours of the minutes stored so far.
WITH m AS (
	SELECT target, minute - (((minute % 3600) + 3600) % 3600) AS hour, observer, n, fails, lat_sum, lat_max, buckets
	FROM rollups
), h AS (
	SELECT target, hour, observer, sum(n)::bigint AS n, sum(fails)::bigint AS fails,
		least(sum(lat_sum), 9223372036854775807)::bigint AS lat_sum, max(lat_max) AS lat_max
	FROM m GROUP BY target, hour, observer
), b AS (
	SELECT target, hour, observer, i, sum(x)::bigint AS s
	FROM m, unnest(m.buckets) WITH ORDINALITY AS u(x, i) GROUP BY target, hour, observer, i
), ba AS (
	SELECT target, hour, observer, array_agg(s ORDER BY i) AS buckets FROM b GROUP BY target, hour, observer
)
INSERT INTO rollups_hour (target, hour, observer, n, fails, lat_sum, lat_max, buckets)
SELECT h.target, h.hour, h.observer, h.n, h.fails, h.lat_sum, h.lat_max, ba.buckets
FROM h JOIN ba USING (target, hour, observer);
