package main

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/wire"
)

// moveWhys are the moved whys whose timings the report splits; any other
// counts with the last.
var moveWhys = [...]wire.MoveReason{wire.MoveDrain, wire.MoveFull, wire.MoveResume, "other"}

func whyIndex(why wire.MoveReason) int {
	if i := slices.Index(moveWhys[:], why); i >= 0 {
		return i
	}
	return len(moveWhys) - 1
}

// How a fleet run checks the marbles that cross nodes (PROTOCOL.md,
// Fleet): a drained marble arrives with exactly the mass it left with,
// and a crashed node's player comes back alive with a mass it had at most
// 2 s before the crash.
const (
	// massRing is how many of a bot's latest masses are kept: over 4 s of
	// snaps at 30 Hz, more than the crash's 2 s.
	massRing = 128
	// crashLookback is how far before its drop a crashed bot's masses
	// count as ones the node may have checkpointed.
	crashLookback = 2 * time.Second
	// crashWaitSnaps is how many snaps after its reconnection a crashed
	// bot's marble may take to show; a drained marble must show in the
	// first.
	crashWaitSnaps = 30
	// carryTolerance is the mass difference that still counts as carried:
	// masses travel rounded to whole units.
	carryTolerance = 1
	// keptMisses is how many marbles not carried the summary describes.
	keptMisses = 8
)

// massTrack is what a fleet run keeps of one bot. Owned by the bot's read
// loop (observe and the reconnection callback run there).
type massTrack struct {
	masses  [massRing]timedMass // a ring of the latest snaps that showed the marble
	n       int                 // masses recorded; the latest is masses[(n-1)%massRing]
	alive   bool                // the latest snap showed the marble
	session uint32              // of the latest welcome
	prev    uint32              // of the welcome before it
	pending arrival             // what the coming snaps are checked against
}

type timedMass struct {
	at   time.Duration // since the run's start
	mass uint32
}

func (t *massTrack) last() uint32 {
	if t.n == 0 {
		return 0
	}
	return t.masses[(t.n-1)%massRing].mass
}

// since returns the lowest and highest mass of the snaps at or after
// from, and how many there were.
func (t *massTrack) since(from time.Duration) (lo, hi uint32, n int) {
	lo = ^uint32(0)
	for i := t.n - 1; i >= 0 && i >= t.n-massRing; i-- {
		m := t.masses[i%massRing]
		if m.at < from {
			break
		}
		lo, hi, n = min(lo, m.mass), max(hi, m.mass), n+1
	}
	return lo, hi, n
}

// arrival is a crossing whose marble the next snaps are checked for.
type arrival struct {
	kind    arrivalKind
	alive   bool   // the marble showed in the last snap before
	mass    uint32 // its mass there
	lo, hi  uint32 // crash: the masses of the crashLookback before the drop
	seen    int    // crash: how many snaps those were
	session uint32 // the session before
	wait    int    // snaps still to wait for the marble to show
}

type arrivalKind uint8

const (
	noArrival arrivalKind = iota
	drainArrival
	crashArrival
)

// fleetTally adds up every bot's crossings. Its counters are updated from
// the bots' read loops.
type fleetTally struct {
	drained, drainedAlive, drainedShown, drainedCarried   atomic.Uint64
	back, backWasAlive, backAlive, backExact, backInRange atomic.Uint64
	backSameSession                                       atomic.Uint64
	toSnap                                                histogram // drop to first snap

	mu     sync.Mutex // guards the slices below
	misses []string   // the first keptMisses drained marbles not carried
	diffs  []int64    // crash: mass back − last mass seen, per marble back alive
}

// carryResult is what the drained bots showed.
type carryResult struct {
	// Drained counts the bots sent a moved (drain); Alive those whose
	// marble showed in their last snap before it; Shown those of them
	// whose first snap on the new node showed their marble; Carried those
	// whose mass there was within carryTolerance of the last.
	Drained, Alive, Shown, Carried uint64
	Misses                         []string
}

// crashResult is what the bots whose connection dropped showed.
type crashResult struct {
	// Back counts the bots that reconnected and got a snap; WasAlive
	// those whose marble showed before the drop; Alive those of them
	// whose marble showed within crashWaitSnaps after; Exact those whose
	// mass was within carryTolerance of the last seen, InRange within it
	// of the masses seen in the crashLookback before the drop.
	// SameSession counts welcomes with the session of before (a resume,
	// not a dead node's token honoured).
	Back, WasAlive, Alive, Exact, InRange, SameSession uint64
	ToSnap                                             timing
	// DiffP50 and DiffMax are the absolute mass differences from the
	// last seen, over the marbles back alive.
	DiffP50, DiffMax int64
}

// observe follows one server message of a bot.
func (f *fleetTally) observe(t *massTrack, m *wire.ServerMessage, now time.Duration) {
	switch m.Type {
	case wire.TypeWelcome:
		t.prev, t.session = t.session, m.Welcome.Session
	case wire.TypeMoved:
		if m.Moved.Why == wire.MoveDrain && t.pending.kind == noArrival {
			f.drained.Add(1)
			t.pending = arrival{kind: drainArrival, alive: t.alive, mass: t.last(), session: t.session}
			if t.alive {
				f.drainedAlive.Add(1)
			}
		}
	case wire.TypeSnap:
		s := &m.Snap
		if t.pending.kind != noArrival {
			f.arrived(t, s)
		}
		t.alive = s.HasYou
		if s.HasYou {
			t.masses[t.n%massRing] = timedMass{at: now, mass: s.You.Mass}
			t.n++
		}
	}
}

// reconnected starts the check of a bot back after a drop. It runs on the
// bot's read loop, before observe sees the first snap.
func (f *fleetTally) reconnected(t *massTrack, rc client.Reconnect, now time.Duration) {
	f.toSnap.add(rc.ToSnap)
	lo, hi, n := t.since(now - rc.ToSnap - crashLookback)
	t.pending = arrival{kind: crashArrival, alive: t.alive, mass: t.last(), lo: lo, hi: hi, seen: n,
		session: t.prev, wait: crashWaitSnaps}
	f.back.Add(1)
	if t.alive {
		f.backWasAlive.Add(1)
	}
	if t.session == t.prev {
		f.backSameSession.Add(1)
	}
}

// arrived checks a snap against the pending arrival, and ends it unless
// the marble may still show.
func (f *fleetTally) arrived(t *massTrack, s *wire.Snap) {
	a := &t.pending
	switch a.kind {
	case drainArrival:
		if a.alive {
			switch {
			case !s.HasYou:
				f.miss(fmt.Sprintf("drained with mass %d, first snap on the new node (tick %d) without the marble", a.mass, s.Tick))
			case absDiff(s.You.Mass, a.mass) <= carryTolerance:
				f.drainedShown.Add(1)
				f.drainedCarried.Add(1)
			default:
				f.drainedShown.Add(1)
				f.miss(fmt.Sprintf("drained with mass %d, arrived with %d (tick %d)", a.mass, s.You.Mass, s.Tick))
			}
		}
	case crashArrival:
		if a.alive && !s.HasYou && a.wait > 0 {
			a.wait--
			return
		}
		if a.alive && s.HasYou {
			f.backAlive.Add(1)
			d := absDiff(s.You.Mass, a.mass)
			if d <= carryTolerance {
				f.backExact.Add(1)
			}
			if a.seen > 0 && s.You.Mass+carryTolerance >= a.lo && s.You.Mass <= a.hi+carryTolerance {
				f.backInRange.Add(1)
			}
			f.mu.Lock()
			f.diffs = append(f.diffs, int64(s.You.Mass)-int64(a.mass))
			f.mu.Unlock()
		}
	}
	t.pending = arrival{}
}

func (f *fleetTally) miss(line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.misses) < keptMisses {
		f.misses = append(f.misses, line)
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// results sums the tally up. Call it once the bots have stopped.
func (f *fleetTally) results() (carryResult, crashResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := carryResult{
		Drained: f.drained.Load(), Alive: f.drainedAlive.Load(), Shown: f.drainedShown.Load(), Carried: f.drainedCarried.Load(),
		Misses: slices.Clone(f.misses),
	}
	k := crashResult{
		Back: f.back.Load(), WasAlive: f.backWasAlive.Load(), Alive: f.backAlive.Load(),
		Exact: f.backExact.Load(), InRange: f.backInRange.Load(), SameSession: f.backSameSession.Load(),
		ToSnap: f.toSnap.timing(),
	}
	if len(f.diffs) > 0 {
		abs := make([]int64, len(f.diffs))
		for i, d := range f.diffs {
			abs[i] = max(d, -d)
		}
		slices.Sort(abs)
		k.DiffP50, k.DiffMax = abs[len(abs)/2], abs[len(abs)-1]
	}
	return c, k
}
