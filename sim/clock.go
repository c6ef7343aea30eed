package sim

import (
	"slices"
	"sync"
	"time"
)

// Clock is where time comes from: an arena's tick pacing and the durations
// in its statistics, and the lobby's and sessions' timers, rate limits and
// deadlines. The simulation itself never reads it, so game state does not
// depend on it.
type Clock interface {
	Now() time.Time
	NewTicker(d time.Duration) Ticker
	// AfterFunc calls f once d has passed, unless the returned timer is
	// stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Ticker delivers ticks on C until stopped.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Timer is a call scheduled by Clock.AfterFunc.
type Timer interface {
	// Stop cancels the call and reports whether it did so: false means
	// the call has already started (or the timer was stopped before).
	Stop() bool
}

// RealClock is the wall clock (or, inside a testing/synctest bubble, the
// bubble's fake clock, which the time package provides there).
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// NewTicker implements Clock.
func (RealClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

// AfterFunc implements Clock with time.AfterFunc: f runs on its own
// goroutine.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }

// ManualClock is a clock for tests: time stands still until Advance moves
// it, and a tick happens only when Tick is called, so a test drives an
// arena's Run loop tick by tick without sleeping. Now starts at the zero
// time.
//
// Advance and Tick are independent: advancing the time delivers no tick,
// and a tick does not advance the time.
type ManualClock struct {
	ch chan time.Time

	mu      sync.Mutex // guards elapsed and timers
	elapsed time.Duration
	timers  []*manualTimer // pending, in the order they were made
}

// NewManualClock returns a manual clock whose ticker is unbuffered: Tick
// returns once the arena has taken the tick.
func NewManualClock() *ManualClock { return &ManualClock{ch: make(chan time.Time)} }

// Now implements Clock: the zero time plus every Advance so far.
func (m *ManualClock) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return time.Time{}.Add(m.elapsed)
}

// NewTicker implements Clock. Every ticker of the clock shares one channel,
// whatever its period, and each Tick reaches one of them: drive one Run
// loop per ManualClock (an arena's, or a lobby's janitor), never several.
func (m *ManualClock) NewTicker(time.Duration) Ticker { return manualTicker{m.ch} }

// Tick delivers one tick, blocking until a running arena receives it.
func (m *ManualClock) Tick() { m.ch <- time.Time{} }

// AfterFunc implements Clock. Unlike the wall clock's, f never runs by
// itself: it runs during the Advance that reaches its time (d at most 0
// means the next Advance, even by 0), on the goroutine calling Advance.
func (m *ManualClock) AfterFunc(d time.Duration, f func()) Timer {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &manualTimer{clock: m, at: m.elapsed + max(d, 0), f: f}
	m.timers = append(m.timers, t)
	return t
}

// Advance moves the clock forward by d and runs, one after the other on
// this goroutine, every AfterFunc call that falls due, earliest first (ties
// in the order they were scheduled); while one runs, Now is its due time.
// A call scheduled by one of them runs in the same Advance if it falls due
// by the end of it.
func (m *ManualClock) Advance(d time.Duration) {
	m.mu.Lock()
	end := m.elapsed + max(d, 0)
	for {
		i := -1
		for j, t := range m.timers {
			if t.at <= end && (i < 0 || t.at < m.timers[i].at) {
				i = j
			}
		}
		if i < 0 {
			break
		}
		t := m.timers[i]
		m.timers = slices.Delete(m.timers, i, i+1)
		m.elapsed = t.at
		m.mu.Unlock()
		t.f() // without the lock: f may read the clock or schedule more
		m.mu.Lock()
	}
	m.elapsed = max(m.elapsed, end)
	m.mu.Unlock()
}

type manualTimer struct {
	clock *ManualClock
	at    time.Duration // due when the clock's elapsed time reaches it
	f     func()
}

// Stop implements Timer.
func (t *manualTimer) Stop() bool {
	m := t.clock
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.Index(m.timers, t)
	if i < 0 {
		return false
	}
	m.timers = slices.Delete(m.timers, i, i+1)
	return true
}

type manualTicker struct{ ch chan time.Time }

func (t manualTicker) C() <-chan time.Time { return t.ch }
func (t manualTicker) Stop()               {}
