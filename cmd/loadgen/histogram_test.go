package main

import (
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	for _, d := range []time.Duration{0, time.Microsecond, 63 * time.Microsecond, 64 * time.Microsecond,
		100 * time.Microsecond, 33 * time.Millisecond, 1234567 * time.Microsecond, time.Hour} {
		i := bucketOf(d)
		lower := time.Duration(0)
		if i > 0 {
			lower = bucketUpper(i - 1)
		}
		if d < lower || d >= bucketUpper(i) {
			t.Errorf("%v is in bucket %d, [%v, %v)", d, i, lower, bucketUpper(i))
		}
		if d >= time.Millisecond && float64(bucketUpper(i)-lower) > 0.016*float64(d) {
			t.Errorf("bucket %d of %v is [%v, %v): wider than 1.6%%", i, d, lower, bucketUpper(i))
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * 100 * time.Microsecond) // 0.1 ms to 100 ms
	}
	n, q := h.quantiles(0.5, 0.95, 0.99)
	want := []time.Duration{50 * time.Millisecond, 95 * time.Millisecond, 99 * time.Millisecond}
	if n != 1000 {
		t.Fatalf("count %d; want 1000", n)
	}
	for i := range want {
		if q[i] < want[i] || float64(q[i]) > 1.016*float64(want[i]) {
			t.Errorf("quantile %d = %v; want %v to 1.6%% above it", i, q[i], want[i])
		}
	}
	var empty histogram
	if n, q := empty.quantiles(0.5); n != 0 || q[0] != 0 {
		t.Errorf("empty histogram: %d, %v", n, q)
	}
}
