package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Message types. Every payload heck puts on memberlist's wire (gossiped
// broadcasts, reliable direct messages and push/pull state) starts with one
// of these bytes, so new kinds of message can be added later: a node that
// does not know a type logs it at debug level and drops it.
const (
	// msgDelta is a delta broadcast by the node that made it, through the
	// gossip queue or, when too large for a packet, by a reliable send to
	// each member.
	msgDelta byte = 1
	// msgDirect is a delta sent to one node (the answer to its digest).
	msgDirect byte = 2
	// msgDigest is the push/pull state: the sender's digest.
	msgDigest byte = 3
	// msgLeave announces a graceful leave, sent reliably to every member
	// just before memberlist's own leave, so receivers can tell "left" from
	// "dead" (memberlist's event callbacks do not say which).
	msgLeave byte = 4
)

// maxNameLen bounds the sender name in a frame; node names are short.
const maxNameLen = 1024

var errShortFrame = errors.New("short frame")

// appendFrame encodes [type][uvarint len(from)][from][payload] onto dst.
func appendFrame(dst []byte, typ byte, from string, payload []byte) []byte {
	dst = append(dst, typ)
	dst = binary.AppendUvarint(dst, uint64(len(from)))
	dst = append(dst, from...)
	return append(dst, payload...)
}

// frameSize is the encoded size of a frame.
func frameSize(from string, payload []byte) int {
	var tmp [binary.MaxVarintLen64]byte
	return 1 + binary.PutUvarint(tmp[:], uint64(len(from))) + len(from) + len(payload)
}

// parseFrame splits a frame; payload aliases b.
func parseFrame(b []byte) (typ byte, from string, payload []byte, err error) {
	if len(b) < 2 {
		return 0, "", nil, errShortFrame
	}
	typ = b[0]
	n, w := binary.Uvarint(b[1:])
	if w <= 0 || n > maxNameLen || uint64(len(b)-1-w) < n {
		return 0, "", nil, fmt.Errorf("frame type %d: bad sender name length", typ)
	}
	start := 1 + w
	from = string(b[start : start+int(n)])
	return typ, from, b[start+int(n):], nil
}
