package sqlite

import (
	"database/sql/driver"
	"encoding/binary"
	"fmt"

	sqlite "modernc.org/sqlite"

	"github.com/heckhq/heck/internal/store"
)

// encodeBuckets writes the non-empty buckets of a histogram as uvarint
// pairs (gap from the previous non-empty index plus one, count). A typical
// minute with one or two buckets in use takes 2-4 bytes instead of 56.
func encodeBuckets(dst []byte, b *[store.NumBuckets]uint32) []byte {
	prev := -1
	for i, n := range b {
		if n == 0 {
			continue
		}
		dst = binary.AppendUvarint(dst, uint64(i-prev))
		dst = binary.AppendUvarint(dst, uint64(n))
		prev = i
	}
	return dst
}

// decodeBuckets reads what encodeBuckets wrote into b (adding to it), and
// reports malformed input as an error.
func decodeBuckets(src []byte, b *[store.NumBuckets]uint32) error {
	idx := -1
	for len(src) > 0 {
		gap, n := binary.Uvarint(src)
		if n <= 0 || gap == 0 || gap > store.NumBuckets {
			return fmt.Errorf("bad latency bucket blob: index gap")
		}
		src = src[n:]
		cnt, n := binary.Uvarint(src)
		if n <= 0 || cnt > 1<<32-1 {
			return fmt.Errorf("bad latency bucket blob: count")
		}
		src = src[n:]
		idx += int(gap)
		if idx >= store.NumBuckets {
			return fmt.Errorf("bad latency bucket blob: index %d out of range", idx)
		}
		b[idx] += uint32(cnt)
	}
	return nil
}

// mergeFunc is the SQL function heck_merge_buckets(a, b) used by the
// rollup upsert: the encoding of the sum of two encoded histograms.
const mergeFunc = "heck_merge_buckets"

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(mergeFunc, 2,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			var b [store.NumBuckets]uint32
			for _, a := range args {
				switch v := a.(type) {
				case nil:
				case []byte:
					if err := decodeBuckets(v, &b); err != nil {
						return nil, err
					}
				default:
					return nil, fmt.Errorf("%s: want blobs, got %T", mergeFunc, a)
				}
			}
			return encodeBuckets(make([]byte, 0, 2*store.NumBuckets), &b), nil
		})
}
