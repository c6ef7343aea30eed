package session

import (
	"math"
	"time"
)

// bucket is a token bucket that answers as golang.org/x/time/rate's
// Limiter answers AllowN(now, 1): it holds up to burst tokens, starts
// full, gains limit tokens a second, and allows a message when it has a
// whole token to take, or is short of one by less than a nanosecond's
// worth (rate allows a wait that truncates to 0 ns). A limit of
// math.MaxFloat64 (rate.Inf) allows everything; one of 0 allows the
// burst and then nothing. Its arithmetic is rate's own, step by step, so
// that the two refuse the same messages, as TestBucketIsRateLimiter
// checks.
//
// A handler's limiters are used by its read side alone, and
// rate.Limiter's lock, the Reservation it builds and the separate
// allocation it lives in made a limit cost about 40 ns a message where
// a bucket, with no lock and inside the handler, takes under 20
// (BenchmarkAllow).
//
// Owned by the handler's read side.
type bucket struct {
	limit  float64 // tokens a second
	burst  int
	tokens float64   // after the last allowed message
	last   time.Time // of the last allowed message
}

func newBucket(limit float64, burst int) bucket {
	return bucket{limit: limit, burst: burst, tokens: float64(burst)}
}

// allow takes a token at now, if there is one, and reports whether it
// did. A refused message changes nothing.
func (b *bucket) allow(now time.Time) bool {
	if b.limit == math.MaxFloat64 {
		return true
	}
	if b.burst < 1 {
		return false // rate refuses a message of more tokens than the burst
	}
	last := b.last
	if now.Before(last) {
		last = now
	}
	var gained float64
	if b.limit > 0 {
		gained = now.Sub(last).Seconds() * b.limit
	}
	tokens := b.tokens + gained
	if burst := float64(b.burst); tokens > burst {
		tokens = burst
	}
	tokens--
	if tokens < 0 {
		// rate waits (tokens/limit) seconds for the missing part of a
		// token, truncated to nanoseconds, and allows only a wait of 0.
		if b.limit <= 0 {
			return false
		}
		if wait := -tokens / b.limit * float64(time.Second); wait > math.MaxInt64 || time.Duration(wait) > 0 {
			return false
		}
	}
	b.last, b.tokens = now, tokens
	return true
}
