package cluster

// NumMembers is how many members memberlist counts alive (this node
// included); 1 before Start.
func (c *Cluster) NumMembers() int {
	if ml := c.ml.Load(); ml != nil {
		return ml.NumMembers()
	}
	return 1
}
