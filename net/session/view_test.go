package session

import (
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// table is a client's entity table, built only from snaps.
type table map[uint32]wire.AddEntity

// apply applies a snap as a client reads it (encoded, then decoded) and
// as PROTOCOL.md says, failing on any delta against something the client
// was not sent, and on an upd that changes nothing.
func (tb table) apply(t *testing.T, sent *wire.Snap) {
	t.Helper()
	var enc wire.Encoder
	var dec wire.Decoder
	var m wire.ServerMessage
	if err := dec.DecodeServer(enc.AppendSnap(nil, sent), &m); err != nil || m.Type != wire.TypeSnap {
		t.Fatalf("tick %d: the snap does not decode: %v (type %v)", sent.Tick, err, m.Type)
	}
	s := &m.Snap
	listed := make(map[uint32]bool, len(s.Add)+len(s.Upd)+len(s.Del))
	list := func(id uint32) {
		if listed[id] {
			t.Fatalf("tick %d: id %d twice in the snap's add, upd and del", s.Tick, id)
		}
		listed[id] = true
	}
	for _, a := range s.Add {
		list(a.ID)
	}
	for _, u := range s.Upd {
		list(u.ID)
	}
	for _, id := range s.Del {
		list(id)
	}
	for _, a := range s.Add {
		if _, dup := tb[a.ID]; dup {
			t.Fatalf("tick %d: add of %d, already held", s.Tick, a.ID)
		}
		tb[a.ID] = a
	}
	for _, u := range s.Upd {
		e, ok := tb[u.ID]
		if !ok {
			t.Fatalf("tick %d: upd of %d, never added", s.Tick, u.ID)
		}
		if u.Marble != (e.Kind == wire.KindPlayer || e.Kind == wire.KindZombie) {
			t.Fatalf("tick %d: upd of %d (kind %d) with heading and flags: %v", s.Tick, u.ID, e.Kind, u.Marble)
		}
		if e.X == u.X && e.Y == u.Y && e.Mass == u.Mass && e.Heading == u.Heading && e.Flags == u.Flags {
			t.Fatalf("tick %d: upd of %d, which did not change", s.Tick, u.ID)
		}
		e.X, e.Y, e.Mass, e.Heading, e.Flags = u.X, u.Y, u.Mass, u.Heading, u.Flags
		tb[u.ID] = e
	}
	for _, id := range s.Del {
		if _, ok := tb[id]; !ok {
			t.Fatalf("tick %d: del of %d, not held", s.Tick, id)
		}
		delete(tb, id)
	}
}

// wantView is what the session should hold after a snap of frame f.
func wantView(f *sim.Frame, session uint32) table { return wantViewWatching(f, session, 0) }

// wantViewWatching is wantView for a session that watches a marble.
func wantViewWatching(f *sim.Frame, session, watch uint32) table {
	r := f.ViewWatching(session, watch)
	want := table{}
	for i := range f.Entities {
		e := &f.Entities[i]
		if r.Shows(e) {
			want[e.ID] = wire.AddEntity{ID: e.ID, Kind: uint8(e.Kind), X: e.QX, Y: e.QY, Mass: e.Mass, Name: e.Name, Heading: e.Heading, Flags: e.Flags}
		}
	}
	return want
}

func sameTable(t *testing.T, tick uint64, got, want table) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("tick %d: client holds %d entities, view has %d", tick, len(got), len(want))
	}
	for id, w := range want {
		if g, ok := got[id]; !ok || g != w {
			t.Fatalf("tick %d: entity %d held as %+v, view has %+v", tick, id, g, w)
		}
	}
}

// TestDeltasRebuildTheView applies every snap a session is sent, in order,
// to an empty table and checks the table equals the session's view of the
// frame, tick after tick, while the reader skips up to four ticks at a time
// (a slow client), while it plays, after it dies (spectating the leader)
// and after it respawns.
func TestDeltasRebuildTheView(t *testing.T) {
	cfg := sim.DefaultConfig()
	cfg.ArenaWidth, cfg.ArenaHeight = 1500, 1500 // crowded: deaths and respawns happen
	cfg.MinPopulation = 40
	cfg.SpawnShield, cfg.ZombieSpare = 0, 0 // no newcomer's grace: deaths come soon
	a, err := sim.New(sim.Options{Config: cfg, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	const me = 1
	if err := a.StepWith(sim.Join(me, "me", nil), sim.Spawn(me)); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	v := NewView()
	tb := table{}
	var snap wire.Snap
	alive, spectated := 0, 0
	for range 400 {
		skip := 1 + rng.IntN(4)
		for range skip {
			var cmds []sim.Command
			if rng.IntN(10) == 0 {
				cmds = []sim.Command{sim.Spawn(me)}
			}
			if err := a.StepWith(cmds...); err != nil {
				t.Fatal(err)
			}
		}
		f := a.Acquire()
		v.Delta(f, me, &snap)
		tb.apply(t, &snap)
		sameTable(t, f.Tick, tb, wantView(f, me))
		p := f.Player(me)
		switch {
		case snap.HasYou != p.Alive:
			t.Fatalf("tick %d: snap you %v, player alive %v", f.Tick, snap.HasYou, p.Alive)
		case p.Alive:
			alive++
			if snap.You.ID != p.Entity.ID || tb[p.Entity.ID].ID != p.Entity.ID {
				t.Fatalf("tick %d: you %+v, own marble %d not held", f.Tick, snap.You, p.Entity.ID)
			}
		default:
			spectated++
		}
		f.Release()
	}
	if alive == 0 || spectated == 0 {
		t.Fatalf("the session was alive for %d snaps and spectated for %d; the test wants both", alive, spectated)
	}
}

// TestDeltasFollowStaticChanges checks the deltas of many views of one
// crowded arena where fragments are eaten and scattered and spike balls
// are hit and move (to another cell or within one) all the time, views
// watching marbles that move or die, each reader skipping up to three
// ticks: after every snap each client's table equals its view. Cells
// whose statics were all sent and did not change are passed over, so this
// is what proves that a change anywhere in a cell reaches every view.
func TestDeltasFollowStaticChanges(t *testing.T) {
	cfg := sim.DefaultConfig()
	cfg.ArenaWidth, cfg.ArenaHeight = 1600, 1600
	cfg.MinPopulation = 60
	cfg.ObstacleCount, cfg.ObstacleMinMass = 60, 0 // every hit moves the spike ball
	cfg.SpawnShield, cfg.ZombieSpare = 0, 0
	a, err := sim.New(sim.Options{Config: cfg, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	const views = 12
	vs := make([]*View, views)
	tbs := make([]table, views)
	next := make([]uint64, views) // the tick each reader reads next
	for i := range vs {
		vs[i], tbs[i] = NewView(), table{}
	}
	var snap wire.Snap
	staticUpds, whole := 0, 0
	for range 600 {
		if err := a.Step(); err != nil {
			t.Fatal(err)
		}
		f := a.Acquire()
		for i, v := range vs {
			if f.Tick < next[i] {
				continue
			}
			next[i] = f.Tick + uint64(rng.IntN(3))
			if rng.IntN(40) == 0 || v.watch == 0 || f.Marble(v.watch) == nil {
				// Watch another marble: a jump across the arena.
				if m := &f.Entities[rng.IntN(len(f.Entities))]; m.Kind.IsMover() {
					v.watch = m.ID
				}
			}
			_, w := skippedCells(v, f, 0)
			whole += w
			if !v.Delta(f, 0, &snap) {
				t.Fatalf("tick %d: no delta from tick %d", f.Tick, v.sentTick)
			}
			tbs[i].apply(t, &snap)
			sameTable(t, f.Tick, tbs[i], wantViewWatching(f, 0, v.watch))
			for _, u := range snap.Upd {
				if !u.Marble {
					staticUpds++ // a spike ball moved in view
				}
			}
		}
		f.Release()
	}
	if staticUpds == 0 || whole == 0 {
		t.Fatalf("%d updates of statics and %d cells passed over in the run; the test wants spike balls moving in view and cells passed over", staticUpds, whole)
	}
	t.Logf("%d updates of spike balls in view, %d cells passed over", staticUpds, whole)
}

// TestClearedViewSendsTheWholeViewAgain is what a resumed connection
// relies on: a view that holds nothing, whether new or cleared of what it
// sent, adds the whole view again.
func TestClearedViewSendsTheWholeViewAgain(t *testing.T) {
	cfg := sim.DefaultConfig()
	a, err := sim.New(sim.Options{Config: cfg, Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := a.Step(); err != nil {
			t.Fatal(err)
		}
	}
	f := a.Acquire()
	defer f.Release()
	v := NewView()
	var snap wire.Snap
	v.Delta(f, 9, &snap)
	first := len(snap.Add)
	if held := v.held(f); held != first {
		t.Fatalf("after the first delta: %d held, want its %d adds", held, first)
	}
	v.Delta(f, 9, &snap)
	if len(snap.Add)+len(snap.Upd)+len(snap.Del) != 0 {
		t.Fatalf("second delta of the same frame: %d adds, %d upds, %d dels; want none", len(snap.Add), len(snap.Upd), len(snap.Del))
	}
	v.forget()
	v.Delta(f, 9, &snap)
	if first == 0 || len(snap.Add) != first || v.held(f) != first {
		t.Fatalf("after clearing: %d adds, %d held; want the %d of the first delta", len(snap.Add), v.held(f), first)
	}
	// A resumed session's new connection gets a new view.
	NewView().Delta(f, 9, &snap)
	if len(snap.Add) != first {
		t.Fatalf("new view: %d adds, want the %d of the first delta", len(snap.Add), first)
	}
}

// forget makes v hold nothing, as if new: what a test needs to start a
// view afresh without a new one.
func (v *View) forget() {
	clear(v.sentSlots)
	v.hasSent = false
}

// held returns how many entities the view holds as sent, f being the
// frame of its last delta: the marbles of its slot bits, and the statics
// of f its last rectangle shows.
func (v *View) held(f *sim.Frame) int {
	n := 0
	for _, w := range v.sentSlots {
		n += bits.OnesCount64(w)
	}
	if !v.hasSent {
		return n
	}
	for i := range f.Entities {
		if e := &f.Entities[i]; !e.Kind.IsMover() && v.sent.Shows(e) {
			n++
		}
	}
	return n
}

// TestDeltaRefusesWhatTheFrameCannotTell checks that a view whose last
// delta is older than the statics that left are kept for (sim's
// Frame.Knows) makes no delta, and that it goes on after a delta of the
// same frame.
func TestDeltaRefusesWhatTheFrameCannotTell(t *testing.T) {
	cfg := sim.DefaultConfig()
	a, err := sim.New(sim.Options{Config: cfg, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	f := a.Acquire()
	v := NewView()
	var snap wire.Snap
	if !v.Delta(f, 0, &snap) || len(snap.Add) == 0 {
		t.Fatalf("first delta: %d adds", len(snap.Add))
	}
	first := f.Tick
	f.Release()
	for {
		if err := a.Step(); err != nil {
			t.Fatal(err)
		}
		f = a.Acquire()
		if !f.Knows(first) {
			break
		}
		f.Release()
	}
	defer f.Release()
	snap.Tick = 0
	if v.Delta(f, 0, &snap) || snap.Tick != 0 {
		t.Fatalf("a delta from tick %d at tick %d (knows from %d): made, snap tick %d", first, f.Tick, f.GoneSince, snap.Tick)
	}
	v.forget()
	if !v.Delta(f, 0, &snap) {
		t.Fatal("no delta afresh")
	}
	if !v.Delta(f, 0, &snap) || len(snap.Add)+len(snap.Upd)+len(snap.Del) != 0 {
		t.Fatalf("the same frame again: %d adds, %d upds, %d dels; want none", len(snap.Add), len(snap.Upd), len(snap.Del))
	}
}

// TestDeltaAllocatesNothing checks that steady-state deltas, a playing
// session's over frames of a full arena, allocate nothing: a server makes
// tens of thousands a second.
func TestDeltaAllocatesNothing(t *testing.T) {
	cfg := sim.DefaultConfig()
	a, err := sim.New(sim.Options{Config: cfg, Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	const me = 1
	if err := a.StepWith(sim.Join(me, "me", nil), sim.Spawn(me)); err != nil {
		t.Fatal(err)
	}
	var frames []*sim.Frame
	for range 80 {
		if err := a.Step(); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, a.Acquire())
	}
	defer func() {
		for _, f := range frames {
			f.Release()
		}
	}()
	v := NewView()
	var snap wire.Snap
	// Warm up: the frames' shared records are encoded (a live arena's
	// pooled frames reuse their buffers; these 80 are each new), the first
	// delta adds the view, and the next ones grow the snap's lists.
	for _, f := range frames {
		f.Records(encodeMarbleRecords)
	}
	for _, f := range frames[:20] {
		v.Delta(f, me, &snap)
	}
	next := 20
	if n := testing.AllocsPerRun(50, func() {
		if !v.Delta(frames[next], me, &snap) {
			t.Fatalf("no delta at tick %d", frames[next].Tick)
		}
		next++
	}); n != 0 {
		t.Fatalf("a delta allocates %.1f times", n)
	}
}
