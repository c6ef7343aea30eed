package sim

import (
	"slices"
	"testing"
	"time"
)

// TestManualClockAfterFunc checks that a manual clock's timers run only
// when Advance reaches them, earliest first, with Now at their due time,
// and that a stopped one never runs.
func TestManualClockAfterFunc(t *testing.T) {
	c := NewManualClock()
	var ran []string
	at := map[string]time.Duration{}
	record := func(name string) func() {
		return func() {
			ran = append(ran, name)
			at[name] = c.Now().Sub(time.Time{})
		}
	}
	c.AfterFunc(3*time.Second, record("3s"))
	first := c.AfterFunc(time.Second, record("1s"))
	stopped := c.AfterFunc(2*time.Second, record("stopped"))
	c.AfterFunc(time.Second, func() {
		record("1s-second")()
		// Scheduled while Advance runs: due at 1.5 s, within this Advance.
		c.AfterFunc(500*time.Millisecond, record("1.5s"))
	})
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer returned false")
	}
	if stopped.Stop() {
		t.Fatal("second Stop returned true")
	}
	c.Advance(999 * time.Millisecond)
	if len(ran) != 0 {
		t.Fatalf("ran %v before any was due", ran)
	}
	c.Advance(time.Second + time.Millisecond)
	if want := []string{"1s", "1s-second", "1.5s"}; !slices.Equal(ran, want) {
		t.Fatalf("after 2 s ran %v, want %v", ran, want)
	}
	if at["1s"] != time.Second || at["1.5s"] != 1500*time.Millisecond {
		t.Fatalf("Now inside the calls: %v, want their due times", at)
	}
	if first.Stop() {
		t.Fatal("Stop of a timer that already ran returned true")
	}
	if got := c.Now().Sub(time.Time{}); got != 2*time.Second {
		t.Fatalf("Now after advancing 2 s = zero + %v", got)
	}
	c.Advance(time.Second)
	if want := []string{"1s", "1s-second", "1.5s", "3s"}; !slices.Equal(ran, want) {
		t.Fatalf("after 3 s ran %v, want %v", ran, want)
	}
}
