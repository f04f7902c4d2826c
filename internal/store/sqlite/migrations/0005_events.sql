-- heck store schema 5: the transition log carries events of other types
-- too (ejections, pool panics, ...): a type ('' for a state transition), a
-- subject (a pool, a notifier, ...) and summaries of before and after.
-- State transitions keep type ''; every reader of transitions filters on
-- it, the event stream and the audit read all.
ALTER TABLE transitions ADD COLUMN type TEXT NOT NULL DEFAULT '';
ALTER TABLE transitions ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE transitions ADD COLUMN detail_before TEXT NOT NULL DEFAULT '';
ALTER TABLE transitions ADD COLUMN detail_after TEXT NOT NULL DEFAULT '';
CREATE INDEX transitions_type_at ON transitions (type, at);
