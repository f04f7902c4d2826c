package config

import (
	"net"
	"strings"
)

// Overrides are the command-line flags that override the config file; an
// empty field leaves the config's value alone.
type Overrides struct {
	Listen   string   // --listen ADDR: listen
	DataDir  string   // --data-dir DIR: node.data_dir (and the store file under it)
	NodeName string   // --node-name N: node.name
	Gossip   string   // --gossip ADDR: cluster.bind, and cluster.advertise when ADDR is one concrete address
	Join     []string // --join ADDR[,ADDR]: cluster.join (replaces the config's list)
	DNS      string   // --dns ADDR: dns.listen
	HAProxy  string   // --haproxy-agent ADDR: haproxy_agent.listen
	Store    string   // --store sqlite:PATH | postgres://...: store.driver and its section (see StoreFlag)
}

// Apply sets the overridden fields and validates what changed. On a
// problem, c is left as it was and the *LoadError names the flag
// ("--listen"), the value and the fix.
func (c *Config) Apply(o Overrides) error {
	n := *c
	ch := &checker{}
	if o.Listen != "" {
		n.Listen = o.Listen
		if problem, fix := listenProblem(o.Listen); problem != "" {
			ch.add("--listen", o.Listen, problem, fix)
		} else if problem, fix := n.tokenProblem(); problem != "" {
			ch.add("--listen", o.Listen, "is not a loopback address and api.token is not set (the API would take changes from anyone)", fix)
		}
	}
	if o.DataDir != "" {
		if strings.TrimSpace(o.DataDir) == "" {
			ch.add("--data-dir", o.DataDir, "is blank", "give a directory such as \""+DefaultDataDir+"\"")
		}
		n.Node.DataDir = o.DataDir
		n.deriveStorePath()
	}
	if o.Store != "" {
		n.applyStore(ch, "--store", o.Store)
	}
	if o.NodeName != "" {
		if strings.TrimSpace(o.NodeName) == "" {
			ch.add("--node-name", o.NodeName, "is blank", "give a name such as \"node1\", or leave the flag out to use the host name")
		}
		n.Node.Name = o.NodeName
	}
	if o.Gossip != "" {
		n.Cluster.Bind = o.Gossip
		if problem, fix := bindProblem(o.Gossip, "127.0.0.1:7946"); problem != "" {
			ch.add("--gossip", o.Gossip, problem, fix)
		} else if host, _, _ := net.SplitHostPort(o.Gossip); concreteHost(host) {
			n.Cluster.Advertise = o.Gossip
		}
	}
	if o.DNS != "" {
		n.DNS.Listen = o.DNS
		if problem, fix := bindProblem(o.DNS, "127.0.0.1:8053"); problem != "" {
			ch.add("--dns", o.DNS, problem, fix)
		}
	}
	if o.HAProxy != "" {
		n.HAProxy.Listen = o.HAProxy
		if problem, fix := bindProblem(o.HAProxy, "127.0.0.1:5555"); problem != "" {
			ch.add("--haproxy-agent", o.HAProxy, problem, fix)
		}
	}
	if len(o.Join) > 0 {
		n.Cluster.Join = append([]string(nil), o.Join...)
		for _, j := range o.Join {
			if problem, fix := joinProblem(j); problem != "" {
				ch.add("--join", j, problem, fix)
			}
		}
	}
	if err := asError(ch.problems); err != nil {
		return err
	}
	*c = n
	return nil
}
