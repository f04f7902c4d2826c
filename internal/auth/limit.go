package auth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a set of token buckets, one per key (a remote IP, a user
// name), bounded in number: when full, the buckets back at their burst
// (idle) are dropped, and if none is, new keys share one overflow bucket.
type limiter struct {
	every time.Duration
	burst int
	max   int

	mu       sync.Mutex
	buckets  map[string]*rate.Limiter
	overflow *rate.Limiter
}

func newLimiter(every time.Duration, burst, max int) *limiter {
	return &limiter{every: every, burst: burst, max: max, buckets: map[string]*rate.Limiter{},
		overflow: rate.NewLimiter(rate.Every(every), burst)}
}

// allow takes a token from key's bucket at now, reporting whether there
// was one and, when not, how long until there is.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.max {
			for k, x := range l.buckets {
				if x.TokensAt(now) >= float64(l.burst) {
					delete(l.buckets, k)
				}
			}
		}
		if len(l.buckets) >= l.max {
			b = l.overflow
		} else {
			b = rate.NewLimiter(rate.Every(l.every), l.burst)
			l.buckets[key] = b
		}
	}
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
