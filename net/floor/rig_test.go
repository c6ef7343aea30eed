package floor

import (
	"runtime"
	"testing"
	"time"
)

// TestMeasure checks that Measure writes, times the writes and, on
// Linux, their CPU, which cannot exceed their wall time, and that it
// leaves no reader behind.
func TestMeasure(t *testing.T) {
	before := runtime.NumGoroutine()
	res, err := Measure(20, 300, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Conns != 20 || res.FrameSize != 300 || res.Writes < checkEvery || res.Wall < 50*time.Millisecond {
		t.Fatalf("result %+v: want 20 connections, 300-byte frames, at least %d writes over 50 ms or more", res, checkEvery)
	}
	if runtime.GOOS == "linux" {
		// The CPU reading also holds the thread's work around the timed
		// writes (the clock readings themselves), which the wall time
		// leaves out.
		if res.CPU <= 0 || res.CPU > res.Wall+10*time.Millisecond {
			t.Errorf("CPU %v over a wall time of %v: want more than 0 and no more than the wall time", res.CPU, res.Wall)
		}
	}
	if res.WallPerWrite() != res.Wall/time.Duration(res.Writes) || res.CPUPerWrite() != res.CPU/time.Duration(res.Writes) {
		t.Errorf("per write %v wall, %v CPU: not the totals over %d writes", res.WallPerWrite(), res.CPUPerWrite(), res.Writes)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Measure, %d before: readers left running", n, before)
	}
}

// TestOpenPanics checks Open's documented panic.
func TestOpenPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Open(0, 300) did not panic")
		}
	}()
	Open(0, 300)
}

// TestMeasurePaced checks that MeasurePaced writes in whole bursts, one
// frame to each connection, and times the bursts without the pauses
// between them.
func TestMeasurePaced(t *testing.T) {
	const conns, period = 20, 10 * time.Millisecond
	start := time.Now()
	res, err := MeasurePaced(conns, 300, period, 60*time.Millisecond)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	bursts := res.Writes / conns
	if res.Writes%conns != 0 || bursts < 4 || bursts > 8 {
		t.Fatalf("%d writes to %d connections: want whole bursts, one every %v over 60 ms", res.Writes, conns, period)
	}
	// A burst of 20 small writes takes microseconds, its pause most of
	// the period.
	if res.Wall <= 0 || res.Wall >= elapsed/2 {
		t.Errorf("wall %v over %d bursts in %v: want the bursts' time alone, without the %v pauses", res.Wall, bursts, elapsed, period)
	}
	if runtime.GOOS == "linux" && (res.CPU <= 0 || res.CPU > res.Wall+10*time.Millisecond) {
		t.Errorf("CPU %v over bursts of %v in all: want more than 0 and no more than their time", res.CPU, res.Wall)
	}
}
