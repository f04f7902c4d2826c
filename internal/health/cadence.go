package health

import "time"

// The watermark period scales with the cluster: above 32 members every
// node multicasts its watermark to every member (internal/replica), so a
// node receives one watermark per member per period, about 39*N bytes/s at
// a 1 s period. Lengthening the period past 400 members keeps that at
// about 16 KB/s whatever N (39 * 400 bytes each second), leaving room
// under the 20 KB/s per node budget for memberlist's own traffic
// (push/pull of the member state: 1.6 KB/s at 1,000 members, bench/sim).
//
// Everything that waits on watermarks derives its limit from the period
// of the cluster's size, with a floor that is today's constant, so
// clusters of up to 400 members behave exactly as with fixed timing:
//
//   - WatermarkPeriod(n): the publisher's period (PublisherOptions.WatermarkEvery).
//   - ownership.SilenceLimit(n): 2.5 periods, at least ownership.MinSilence.
//   - Table.SetClusterSize(n): the table's MinStale, 3 periods, at least
//     TableOptions.MinStale.

// DefaultWatermarkEvery is the watermark period of clusters up to
// WatermarkMembersPerSecond members.
const DefaultWatermarkEvery = time.Second

// WatermarkMembersPerSecond is how many members one second of watermark
// period serves: the period is N / WatermarkMembersPerSecond seconds above
// that many members.
const WatermarkMembersPerSecond = 400

// StaleWatermarks is how many watermark periods an observation stays fresh
// at least, so a late or lost watermark does not make it stale.
const StaleWatermarks = 3

// WatermarkPeriod returns the watermark period of a cluster of members
// alive members: max(1 s, members/400 s), so 1 s up to 400 members and
// 2.5 s at 1,000.
func WatermarkPeriod(members int) time.Duration {
	return max(DefaultWatermarkEvery, time.Duration(members)*time.Second/WatermarkMembersPerSecond)
}
