package session

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestBucketIsRateLimiter checks that a bucket allows and refuses the
// same messages as rate.Limiter's AllowN(now, 1), for the limits and
// bursts the handler uses and for edge cases, at random times: in bursts,
// at a steady pace around the limit and at exactly its period, with the clock standing still or
// going back.
func TestBucketIsRateLimiter(t *testing.T) {
	limits := []float64{0, 1e-9, 0.5, 1, 2, 3, 20, 60, 1e9, math.MaxFloat64, math.Inf(1)}
	bursts := []int{0, 1, 2, 10}
	steps := []func(r *rand.Rand, limit float64) time.Duration{
		func(*rand.Rand, float64) time.Duration { return 0 },
		func(r *rand.Rand, _ float64) time.Duration { return time.Duration(r.IntN(3)) },
		func(r *rand.Rand, limit float64) time.Duration {
			// Around the limit's period, now over it, now under.
			period := time.Second
			if limit > 0 && limit < 1e6 {
				period = time.Duration(float64(time.Second) / limit)
			}
			return time.Duration(float64(period) * (0.5 + r.Float64()))
		},
		func(_ *rand.Rand, limit float64) time.Duration {
			// The period truncated to nanoseconds: a whole token but for
			// a fraction of a nanosecond's worth, which rate allows.
			if limit > 0 && limit < 1e6 {
				return time.Duration(float64(time.Second) / limit)
			}
			return time.Nanosecond
		},
		func(r *rand.Rand, _ float64) time.Duration { return time.Duration(r.Int64N(int64(2 * time.Second))) },
		func(r *rand.Rand, _ float64) time.Duration {
			return time.Duration(r.Int64N(int64(time.Second))) - 200*time.Millisecond
		},
	}
	for _, limit := range limits {
		for _, burst := range bursts {
			t.Run(fmt.Sprintf("limit=%g/burst=%d", limit, burst), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(burst), math.Float64bits(limit)))
				for _, start := range []time.Time{{}, time.Unix(1e9, 0), time.Now()} {
					b := newBucket(limit, burst)
					l := rate.NewLimiter(rate.Limit(limit), burst)
					now := start
					allowed := 0
					for i := range 5000 {
						now = now.Add(steps[i/50%len(steps)](r, limit))
						got, want := b.allow(now), l.AllowN(now, 1)
						if got != want {
							t.Fatalf("message %d at %v: bucket.allow = %v, rate.Limiter.AllowN = %v", i, now.Sub(start), got, want)
						}
						if got {
							allowed++
						}
					}
					t.Logf("start %v: %d of 5000 allowed", start.IsZero(), allowed)
				}
			})
		}
	}
}

// BenchmarkAllow compares a handler's input limit as a rate.Limiter and
// as a bucket, a message every 50 ms (allowed) and every 5 ms (refused
// more often than not).
func BenchmarkAllow(b *testing.B) {
	for _, step := range []time.Duration{50 * time.Millisecond, 5 * time.Millisecond} {
		b.Run(fmt.Sprintf("every=%v/rate", step), func(b *testing.B) {
			l := rate.NewLimiter(60, 10)
			now := time.Unix(1e9, 0)
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(step)
				l.AllowN(now, 1)
			}
		})
		b.Run(fmt.Sprintf("every=%v/bucket", step), func(b *testing.B) {
			l := newBucket(60, 10)
			now := time.Unix(1e9, 0)
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(step)
				l.allow(now)
			}
		})
	}
}
