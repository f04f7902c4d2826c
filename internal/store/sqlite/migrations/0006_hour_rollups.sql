-- heck store schema 6: per-target, per-hour rollups, kept with the minute
-- rollups in the same transaction (AddRollups merges into both; a copy's
-- PutRollups sums the hours it touches again from their minutes), so long
-- ranges (a 30-day uptime, a month's latency percentiles) read about 720
-- rows instead of 43,200 (RollupSpans). hour is the unix second of the
-- hour's start; the other columns are as in rollups.
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

-- The hours of the minutes stored so far are summed by the Go step of
-- this version (backfillHours in hours.go), in the same transaction: it
-- reads the minutes in key order, so a large table needs no sort.
