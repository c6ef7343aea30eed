package sim

import "time"

// Clock is where an arena gets time: its tick pacing and the durations in
// its statistics. The simulation itself never reads it, so game state does
// not depend on it.
type Clock interface {
	Now() time.Time
	NewTicker(d time.Duration) Ticker
}

// Ticker delivers ticks on C until stopped.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// RealClock is the wall clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// NewTicker implements Clock.
func (RealClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }

// ManualClock is a clock for tests: time stands still and a tick happens
// only when Tick is called, so a test drives an arena's Run loop tick by
// tick without sleeping.
type ManualClock struct {
	ch chan time.Time
}

// NewManualClock returns a manual clock whose ticker is unbuffered: Tick
// returns once the arena has taken the tick.
func NewManualClock() *ManualClock { return &ManualClock{ch: make(chan time.Time)} }

// Now implements Clock; it always returns the zero time.
func (m *ManualClock) Now() time.Time { return time.Time{} }

// NewTicker implements Clock. Every ticker of the clock shares one channel.
func (m *ManualClock) NewTicker(time.Duration) Ticker { return manualTicker{m.ch} }

// Tick delivers one tick, blocking until a running arena receives it.
func (m *ManualClock) Tick() { m.ch <- time.Time{} }

type manualTicker struct{ ch chan time.Time }

func (t manualTicker) C() <-chan time.Time { return t.ch }
func (t manualTicker) Stop()               {}
