package config

import (
	"fmt"
	"strings"

	"github.com/heckhq/heck/internal/target"
)

// checkStatusPages validates every status page, that ids and host names
// are not repeated. Entries may name targets the API adds, so a target
// missing from the file is not an error here (the node warns at start).
func (c *Config) checkStatusPages(ch *checker) {
	ids := map[string]int{}
	hosts := map[string]int{}
	for i := range c.StatusPages {
		p := &c.StatusPages[i]
		at := fmt.Sprintf("status_pages[%d]", i)
		fes, _ := target.AsFieldErrors(p.Validate())
		for _, fe := range fes {
			fe = fe.Prefixed(at)
			ch.add(fe.Field, fe.Value, fe.Problem, fe.Fix)
		}
		if j, dup := ids[p.ID]; dup && p.ID != "" {
			ch.add(at+".id", p.ID, fmt.Sprintf("is the id of status_pages[%d] too", j), "give each status page its own id")
		}
		ids[p.ID] = i
		if h := strings.TrimSuffix(strings.ToLower(p.Host), "."); h != "" {
			if j, dup := hosts[h]; dup {
				ch.add(at+".host", p.Host, fmt.Sprintf("is the host of status_pages[%d] too", j), "give each page its own host name, or leave host out")
			}
			hosts[h] = i
		}
	}
}
