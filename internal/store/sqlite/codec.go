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
	sqlite.MustRegisterFunction(sumFunc, &sqlite.FunctionImpl{NArgs: 1, Deterministic: true,
		MakeAggregate: func(sqlite.FunctionContext) (sqlite.AggregateFunction, error) { return &bucketSum{}, nil }})
}

// sumFunc is the SQL aggregate heck_sum_buckets(b): the encoding of the
// sum of the encoded histograms of its rows (NULL when every bucket is
// empty, as rollups store an empty histogram), which sums an hour from
// its minutes (the hour rollup migration, PutRollups).
const sumFunc = "heck_sum_buckets"

// bucketSum is one evaluation of sumFunc.
type bucketSum struct{ b [store.NumBuckets]uint32 }

func (a *bucketSum) Step(_ *sqlite.FunctionContext, args []driver.Value) error {
	switch v := args[0].(type) {
	case nil:
	case []byte:
		if err := decodeBuckets(v, &a.b); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%s: want blobs, got %T", sumFunc, args[0])
	}
	return nil
}

func (a *bucketSum) WindowInverse(*sqlite.FunctionContext, []driver.Value) error {
	return fmt.Errorf("%s cannot be used as a window function", sumFunc)
}

func (a *bucketSum) WindowValue(*sqlite.FunctionContext) (driver.Value, error) {
	if enc := encodeBuckets(nil, &a.b); len(enc) > 0 {
		return enc, nil
	}
	return nil, nil
}

func (a *bucketSum) Final(*sqlite.FunctionContext) {}
