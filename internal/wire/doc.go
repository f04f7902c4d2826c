// Package wire owns the JSON shapes of heck's REST API (/api/v1): the
// bodies the server writes and clients read, shared by internal/api (the
// server), internal/client and internal/cli, so the two sides cannot
// drift apart. It holds types and their codecs only; no handler, no I/O.
package wire
