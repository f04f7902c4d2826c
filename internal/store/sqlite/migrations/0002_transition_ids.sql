-- heck store schema 2: transitions carry the cluster-wide id derived from
-- the change (every node derives the same id for the same change), so a
-- node stores each transition once whoever told it. seq stays the node's
-- own order of arrival: the cursor event streams resume from.
ALTER TABLE transitions ADD COLUMN id TEXT;
UPDATE transitions SET id = 'local-' || seq WHERE id IS NULL;
CREATE UNIQUE INDEX transitions_id ON transitions (id);
