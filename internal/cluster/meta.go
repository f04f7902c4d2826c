package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/hashicorp/memberlist"
)

// metaVersion is the first byte of the node metadata encoding.
//
// Layout (version 1): [1][uvarint len][zone][uvarint len][api addr]
// [uvarint len][version][8 bytes big-endian float64 weight]. Decoders ignore
// trailing bytes, so a later version may append fields and stay readable by
// older nodes.
const metaVersion = 1

// Meta is what a node advertises about itself through memberlist.
type Meta struct {
	Zone    string
	APIAddr string
	Version string
	Weight  float64 // > 0
}

// check validates m and returns its encoding.
func (m Meta) check() ([]byte, error) {
	if m.Weight <= 0 || math.IsNaN(m.Weight) || math.IsInf(m.Weight, 0) {
		return nil, fmt.Errorf("cluster.weight %v: must be a positive number (default 1)", m.Weight)
	}
	b := m.encode()
	if len(b) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("cluster: node metadata is %d bytes, memberlist allows %d: shorten cluster.zone (%d bytes), the API address (%d) or the version (%d)",
			len(b), memberlist.MetaMaxSize, len(m.Zone), len(m.APIAddr), len(m.Version))
	}
	return b, nil
}

func (m Meta) encode() []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen16+len(m.Zone)+len(m.APIAddr)+len(m.Version)+8)
	b = append(b, metaVersion)
	for _, s := range []string{m.Zone, m.APIAddr, m.Version} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return binary.BigEndian.AppendUint64(b, math.Float64bits(m.Weight))
}

var errBadMeta = errors.New("bad node metadata")

func decodeMeta(b []byte) (Meta, error) {
	var m Meta
	if len(b) == 0 {
		return m, fmt.Errorf("%w: empty", errBadMeta)
	}
	if b[0] != metaVersion {
		return m, fmt.Errorf("%w: unknown version %d", errBadMeta, b[0])
	}
	b = b[1:]
	var fields [3]string
	for i := range fields {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return m, fmt.Errorf("%w: field %d truncated", errBadMeta, i)
		}
		fields[i] = string(b[w : w+int(n)])
		b = b[w+int(n):]
	}
	if len(b) < 8 {
		return m, fmt.Errorf("%w: weight truncated", errBadMeta)
	}
	m.Zone, m.APIAddr, m.Version = fields[0], fields[1], fields[2]
	m.Weight = math.Float64frombits(binary.BigEndian.Uint64(b))
	return m, nil
}

// memberFromNode converts memberlist's view of a node. Metadata that cannot
// be decoded (a node of an incompatible version) leaves the metadata fields
// empty and the weight at 1, so ownership still treats it as a peer.
func memberFromNode(n *memberlist.Node) Member {
	m := Member{
		Name:   n.Name,
		Addr:   n.Address(),
		State:  stateName(n.State),
		Weight: 1,
	}
	if meta, err := decodeMeta(n.Meta); err == nil {
		m.Zone, m.APIAddr, m.Version, m.Weight = meta.Zone, meta.APIAddr, meta.Version, meta.Weight
	}
	return m
}

// Member states as reported by Members.
const (
	StateAlive = "alive"
	StateDead  = "dead" // failed: stopped answering probes
	StateLeft  = "left" // left gracefully
)

func stateName(s memberlist.NodeStateType) string {
	switch s {
	case memberlist.StateAlive:
		return StateAlive
	case memberlist.StateSuspect:
		return "suspect"
	case memberlist.StateDead:
		return StateDead
	case memberlist.StateLeft:
		return StateLeft
	}
	return fmt.Sprintf("unknown(%d)", s)
}
