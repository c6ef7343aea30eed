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
// Fleet): a drained marble arrives with exactly the mass it left with (its
// first snap has it), and a crashed node's player comes back alive with the
// mass of the node's last checkpoint, at most 2 s old.
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
	// arrivalGap is the tick distance from a welcome to the snap of the
	// tick that seated the session: the welcome carries the arena's tick
	// when the join was posted, the join is applied in the next one.
	arrivalGap = 1
)

// massTrack is what a fleet run keeps of one bot. Owned by the bot's read
// loop (observe and the reconnection callback run there).
type massTrack struct {
	masses      [massRing]timedMass // a ring of the latest snaps that showed the marble
	n           int                 // masses recorded; the latest is masses[(n-1)%massRing]
	alive       bool                // the latest snap showed the marble
	lastAt      time.Duration       // when the latest snap came, since the run's start
	lastTick    uint64              // of the latest snap
	step        uint64              // ticks from the snap before the latest to the latest
	session     uint32              // of the latest welcome
	prev        uint32              // of the welcome before it
	token       string              // of the latest welcome
	prevToken   string              // of the welcome before it
	welcomeTick uint64              // of the latest welcome
	pending     arrival             // what the coming snaps are checked against
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
	alive   bool          // the marble showed in the last snap before
	mass    uint32        // its mass there
	lo, hi  uint32        // crash: the masses of the crashLookback before the drop
	seen    int           // crash: how many snaps those were
	token   string        // crash: the token of before, the checkpoint's key
	wait    int           // crash: snaps still to wait for the marble to show
	first   bool          // crash: the first snap is still to come
	at      time.Duration // drain: when the moved came; since the run's start
	welcome time.Duration // drain: when the welcome on the new node came
	age     time.Duration // how long before the moved or the drop the last snap came
	step    uint64        // drain: ticks between the last two snaps before the moved
}

type arrivalKind uint8

const (
	noArrival arrivalKind = iota
	drainArrival
	crashArrival
)

// checkpoint is a crashed node's resume record as the fleet run read it
// from Redis just after the kill.
type checkpoint struct {
	Node  string  `json:"node"`
	Alive bool    `json:"alive"`
	Mass  float64 `json:"mass"`
}

// fleetTally adds up every bot's crossings. Its counters are updated from
// the bots' read loops.
type fleetTally struct {
	drained, drainedAlive, drainedShown, drainedCarried atomic.Uint64
	exactViews, exactCarried                            atomic.Uint64 // drained alive seen at both ends: last snap current, first snap the arrival tick
	arrivalTicks                                        atomic.Uint64 // drain arrivals whose first snap was the arrival tick
	toWelcome, welcomeToSnap                            histogram     // drain: moved to welcome, welcome to first snap

	back, backWasAlive, backAlive, backAtOnce atomic.Uint64
	backChecked, backCarried, backFresh       atomic.Uint64
	backSameSession                           atomic.Uint64
	toSnap                                    histogram // drop to first snap

	mu          sync.Mutex            // guards the fields below
	checkpoints map[string]checkpoint // by token, read at the kill
	misses      []string              // the first keptMisses drained marbles not carried
	crashMisses []string              // the first keptMisses crashed marbles not back as checkpointed
}

// carryResult is what the drained bots showed.
type carryResult struct {
	// Drained counts the bots sent a moved (drain); Alive those whose
	// marble showed in their last snap before it; Shown those of them
	// whose first snap on the new node showed their marble; Carried those
	// whose mass there was within carryTolerance of the last.
	Drained, Alive, Shown, Carried uint64
	// ExactViews counts the drained alive whose last two snaps before
	// the moved were of consecutive ticks and whose first snap on the new
	// node was of the tick that seated them, so that the two masses
	// compared are most likely the departure's and the arrival's;
	// ExactCarried those of them carried. ArrivalTicks counts the drained whose first snap was of
	// that tick.
	ExactViews, ExactCarried, ArrivalTicks uint64
	Misses                                 []string
	// ToWelcome and WelcomeToSnap split the drain moves' moved→first snap.
	ToWelcome, WelcomeToSnap timing
}

// crashResult is what the bots whose connection dropped showed.
type crashResult struct {
	// Back counts the bots that reconnected and got a snap; WasAlive
	// those whose marble showed in their last snap before the drop; Alive
	// those of them whose marble showed within crashWaitSnaps snaps after;
	// AtOnce those whose first snap showed it.
	Back, WasAlive, Alive, AtOnce uint64
	// Checkpoints counts the resume records read from Redis just after
	// the kill. Checked counts the marbles shown at once with a record
	// read; Carried those back with the record's mass (within
	// carryTolerance); Fresh those whose record's mass is within it of
	// the masses the bot saw in the crashLookback before the drop.
	Checkpoints, Checked, Carried, Fresh uint64
	// SameSession counts welcomes with the session of before (a resume,
	// not a dead node's token honoured).
	SameSession uint64
	ToSnap      timing
	Misses      []string
}

// setCheckpoints keeps the resume records read at the kill.
func (f *fleetTally) setCheckpoints(cps map[string]checkpoint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checkpoints = cps
}

func (f *fleetTally) checkpoint(token string) (checkpoint, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cp, ok := f.checkpoints[token]
	return cp, ok
}

// observe follows one server message of a bot.
func (f *fleetTally) observe(t *massTrack, m *wire.ServerMessage, now time.Duration) {
	switch m.Type {
	case wire.TypeWelcome:
		w := &m.Welcome
		t.prev, t.session = t.session, w.Session
		t.prevToken, t.token = t.token, w.Token
		t.welcomeTick, t.lastTick, t.step = w.Tick, 0, 0
		if t.pending.kind == drainArrival {
			t.pending.welcome = now
			f.toWelcome.add(now - t.pending.at)
		}
	case wire.TypeMoved:
		if m.Moved.Why == wire.MoveDrain && t.pending.kind == noArrival {
			f.drained.Add(1)
			t.pending = arrival{kind: drainArrival, alive: t.alive, mass: t.last(), at: now, age: now - t.lastAt, step: t.step}
			if t.alive {
				f.drainedAlive.Add(1)
			}
		}
	case wire.TypeSnap:
		s := &m.Snap
		if t.pending.kind != noArrival {
			f.arrived(t, s, now)
		}
		if t.lastTick > 0 {
			t.step = s.Tick - t.lastTick
		}
		t.alive, t.lastAt, t.lastTick = s.HasYou, now, s.Tick
		if s.HasYou {
			t.masses[t.n%massRing] = timedMass{at: now, mass: s.You.Mass}
			t.n++
		}
	}
}

// reconnected starts the check of a bot back after a drop. It runs on the
// bot's read loop, after the welcome and before observe sees the first
// snap.
func (f *fleetTally) reconnected(t *massTrack, rc client.Reconnect, now time.Duration) {
	f.toSnap.add(rc.ToSnap)
	dropped := now - rc.ToSnap
	lo, hi, n := t.since(dropped - crashLookback)
	t.pending = arrival{kind: crashArrival, alive: t.alive, mass: t.last(), lo: lo, hi: hi, seen: n,
		token: t.prevToken, wait: crashWaitSnaps, first: true, age: dropped - t.lastAt}
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
func (f *fleetTally) arrived(t *massTrack, s *wire.Snap, now time.Duration) {
	a := &t.pending
	gap := s.Tick - t.welcomeTick
	switch a.kind {
	case drainArrival:
		f.drainArrived(a, s, gap, now)
	case crashArrival:
		if !f.crashArrived(a, s, gap) {
			return
		}
	}
	t.pending = arrival{}
}

// drainArrived checks a drained marble's first snap on its new node.
func (f *fleetTally) drainArrived(a *arrival, s *wire.Snap, gap uint64, now time.Duration) {
	if a.welcome > 0 {
		f.welcomeToSnap.add(now - a.welcome)
	}
	if gap <= arrivalGap {
		f.arrivalTicks.Add(1)
	}
	if !a.alive {
		return
	}
	// A session whose last two snaps were of consecutive ticks was keeping
	// up as it left, so its last snap is most likely of the tick before
	// the departure (a departed session gets no more frames, so the time
	// from it to the moved, which waits for the seat's reservation, says
	// nothing).
	exact := a.step == 1 && gap <= arrivalGap
	if exact {
		f.exactViews.Add(1)
	}
	view := fmt.Sprintf("its last two snaps %d ticks apart, the last %v before the moved; its first snap there %d ticks after the welcome's",
		a.step, a.age.Round(time.Millisecond), gap)
	switch {
	case !s.HasYou:
		f.miss(&f.misses, fmt.Sprintf("drained with mass %d, first snap on the new node without the marble; %s", a.mass, view))
	case absDiff(s.You.Mass, a.mass) <= carryTolerance:
		f.drainedShown.Add(1)
		f.drainedCarried.Add(1)
		if exact {
			f.exactCarried.Add(1)
		}
	default:
		f.drainedShown.Add(1)
		f.miss(&f.misses, fmt.Sprintf("drained with mass %d, arrived with %d; %s", a.mass, s.You.Mass, view))
	}
}

// crashArrived checks a snap of a bot back after a drop, and reports
// whether the check is over.
func (f *fleetTally) crashArrived(a *arrival, s *wire.Snap, gap uint64) bool {
	first := a.first
	a.first = false
	if !a.alive {
		return true
	}
	if !s.HasYou {
		if a.wait--; a.wait > 0 {
			return false
		}
		f.miss(&f.crashMisses, fmt.Sprintf("alive with mass %d before the drop, not alive %d snaps after coming back (%s)", a.mass, crashWaitSnaps, f.describe(a)))
		return true
	}
	f.backAlive.Add(1)
	if !first {
		f.miss(&f.crashMisses, fmt.Sprintf("back, but its marble (mass %d) showed only %d snaps after the first; before the drop %d (%s)",
			s.You.Mass, crashWaitSnaps-a.wait, a.mass, f.describe(a)))
		return true
	}
	f.backAtOnce.Add(1)
	cp, ok := f.checkpoint(a.token)
	if !ok || !cp.Alive {
		f.miss(&f.crashMisses, fmt.Sprintf("back with mass %d; before the drop %d (%s)", s.You.Mass, a.mass, f.describe(a)))
		return true
	}
	f.backChecked.Add(1)
	carried := absDiff(s.You.Mass, uint32(cp.Mass+0.5)) <= carryTolerance
	if carried {
		f.backCarried.Add(1)
	}
	if a.seen > 0 && cp.Mass+carryTolerance >= float64(a.lo) && cp.Mass <= float64(a.hi)+carryTolerance {
		f.backFresh.Add(1)
	}
	if !carried {
		f.miss(&f.crashMisses, fmt.Sprintf("back with mass %d, first snap %d ticks after the welcome's; before the drop %d (%s)",
			s.You.Mass, gap, a.mass, f.describe(a)))
	}
	return true
}

// describe says what the tally knows of a crashed bot's marble: its
// checkpoint and what it saw before the drop.
func (f *fleetTally) describe(a *arrival) string {
	cp, ok := f.checkpoint(a.token)
	record := "no checkpoint read"
	if ok {
		record = fmt.Sprintf("checkpoint alive %v mass %.0f", cp.Alive, cp.Mass)
	}
	return fmt.Sprintf("%s; %d..%d over its %d snaps of the %v before the drop, the last %v before it",
		record, a.lo, a.hi, a.seen, crashLookback, a.age.Round(time.Millisecond))
}

// miss keeps line in list if the list is not full yet.
func (f *fleetTally) miss(list *[]string, line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(*list) < keptMisses {
		*list = append(*list, line)
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
		ExactViews: f.exactViews.Load(), ExactCarried: f.exactCarried.Load(), ArrivalTicks: f.arrivalTicks.Load(),
		Misses: slices.Clone(f.misses), ToWelcome: f.toWelcome.timing(), WelcomeToSnap: f.welcomeToSnap.timing(),
	}
	k := crashResult{
		Back: f.back.Load(), WasAlive: f.backWasAlive.Load(), Alive: f.backAlive.Load(), AtOnce: f.backAtOnce.Load(),
		Checkpoints: uint64(len(f.checkpoints)), Checked: f.backChecked.Load(), Carried: f.backCarried.Load(), Fresh: f.backFresh.Load(),
		SameSession: f.backSameSession.Load(), ToSnap: f.toSnap.timing(), Misses: slices.Clone(f.crashMisses),
	}
	return c, k
}
