package postgres

// Shared reports that this store is a database every node of a cluster may
// write to and read from: a read of it holds every observer's records, so
// the node answers a cluster-scope history read from it alone instead of
// adding each member's answer (which would count every record once per
// member).
func (s *Store) Shared() bool { return true }
