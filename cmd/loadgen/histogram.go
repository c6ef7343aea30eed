package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram counts durations in log-linear buckets: whole microseconds
// below 64 µs, then 64 buckets per power of two (each under 1.6% wide) up
// to hours. Bots on many goroutines add to one histogram with an atomic
// increment, without a lock and without keeping samples, which is what a
// load generator can afford at tens of thousands of samples a second.
type histogram struct {
	counts [histBuckets]atomic.Uint64
}

const (
	histSub     = 64 // buckets per power of two, and the exact range in µs
	histBuckets = histSub + 31*histSub
)

// bucketOf returns the bucket counting d.
func bucketOf(d time.Duration) int {
	us := max(0, d.Microseconds())
	if us < histSub {
		return int(us)
	}
	shift := bits.Len64(uint64(us)) - 7 // us>>shift is in [64, 128)
	return min(histBuckets-1, histSub+shift*histSub+int(us>>shift)-histSub)
}

// bucketUpper returns the exclusive upper bound of bucket i.
func bucketUpper(i int) time.Duration {
	if i < histSub {
		return time.Duration(i+1) * time.Microsecond
	}
	shift := (i - histSub) / histSub
	mant := (i-histSub)%histSub + histSub
	return time.Duration(mant+1) << shift * time.Microsecond
}

// add counts one duration. Safe from any goroutine.
func (h *histogram) add(d time.Duration) { h.counts[bucketOf(d)].Add(1) }

// quantiles returns the total count and, for each q in qs (ascending, in
// [0, 1]), the upper bound of the bucket holding that quantile: never
// below the true value, and less than 1.6% above it.
func (h *histogram) quantiles(qs ...float64) (n uint64, at []time.Duration) {
	var counts [histBuckets]uint64
	for i := range h.counts {
		counts[i] = h.counts[i].Load()
		n += counts[i]
	}
	at = make([]time.Duration, len(qs))
	if n == 0 {
		return 0, at
	}
	var seen uint64
	k := 0
	for i, c := range counts {
		seen += c
		for k < len(qs) && float64(seen) >= qs[k]*float64(n) && seen > 0 {
			at[k] = bucketUpper(i)
			k++
		}
	}
	return n, at
}

// timing is a histogram's count and two quantiles, for the report.
type timing struct {
	N        uint64
	P50, P99 time.Duration
}

// timing returns the count, p50 and p99.
func (h *histogram) timing() timing {
	n, q := h.quantiles(0.50, 0.99)
	return timing{N: n, P50: q[0], P99: q[1]}
}
