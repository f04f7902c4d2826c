-- heck store schema 6: per-target, per-hour rollups, kept with the minute
-- rollups in the same transaction (AddRollups merges into both; a copy's
-- PutRollups sums the hours it touches again from their minutes), so long
-- ranges (a 30-day uptime, a month's latency percentiles) read about 720
-- rows instead of 43,200 (RollupSpans). hour is the unix second of the
-- hour's start; the other columns are as in rollups. heck_sum_buckets is
-- the store's aggregate of encoded latency histograms (codec.go).
CREATE TABLE rollups_hour (
	tid     INTEGER NOT NULL,
	hour    INTEGER NOT NULL,
	n       INTEGER NOT NULL,
	fails   INTEGER NOT NULL,
	lat_sum INTEGER NOT NULL,
	lat_max INTEGER NOT NULL,
	buckets BLOB,
	PRIMARY KEY (tid, hour)
) WITHOUT ROWID;

-- The hours of the minutes stored so far.
INSERT INTO rollups_hour (tid, hour, n, fails, lat_sum, lat_max, buckets)
SELECT tid, minute - (((minute % 3600) + 3600) % 3600) AS h, sum(n), sum(fails),
	CAST(min(total(lat_sum), 9223372036854775807.0) AS INTEGER), max(lat_max), heck_sum_buckets(buckets)
FROM rollups GROUP BY tid, h;
