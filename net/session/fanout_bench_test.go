package session

import (
	"math/rand/v2"
	"testing"

	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// fanoutArena is a full arena of 150 playing sessions, each steering its
// marble on a random walk and respawning when busted, with frames of
// ticks recorded after it settled: what one tick's fan-out serves.
type fanoutArena struct {
	sessions []uint32
	frames   []*sim.Frame
}

func newFanoutArena(tb testing.TB, ticks int) *fanoutArena {
	tb.Helper()
	cfg := sim.DefaultConfig()
	a, err := sim.New(sim.Options{Config: cfg, Seed: 11})
	if err != nil {
		tb.Fatal(err)
	}
	fa := &fanoutArena{}
	var join []sim.Command
	for i := range cfg.MaxPlayers {
		id := uint32(i + 1)
		fa.sessions = append(fa.sessions, id)
		join = append(join, sim.Join(id, "p", nil), sim.Spawn(id))
	}
	if err := a.StepWith(join...); err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	angle := make([]float64, len(fa.sessions))
	var seq uint32
	step := func() {
		seq++
		cmds := make([]sim.Command, 0, 2*len(fa.sessions))
		for i, id := range fa.sessions {
			if rng.IntN(30) == 0 {
				angle[i] = rng.Float64() * 6.283
			}
			cmds = append(cmds, sim.Input(id, seq, angle[i], rng.IntN(20) == 0))
			if seq%30 == 0 {
				cmds = append(cmds, sim.Spawn(id)) // refused while alive
			}
		}
		if err := a.StepWith(cmds...); err != nil {
			tb.Fatal(err)
		}
	}
	for range 150 {
		step()
	}
	for range ticks {
		step()
		fa.frames = append(fa.frames, a.Acquire())
	}
	tb.Cleanup(func() {
		for _, f := range fa.frames {
			f.Release()
		}
	})
	return fa
}

// BenchmarkFanout measures the per-session cost of one tick's fan-out for
// the 150 sessions of one full arena: each session's view delta and its
// encoding, sessions taken one after another as the fan-out does, so each
// session's view state is out of cache again when its turn comes. One op
// is one session's snap; the frames step on once every session had its
// turn. It reports the snap size and how many of the cells each delta
// looked at were skipped (their statics sent and unchanged).
func BenchmarkFanout(b *testing.B) {
	fa := newFanoutArena(b, 120)
	views := make([]*View, len(fa.sessions))
	for i := range views {
		views[i] = NewView()
	}
	var snap wire.Snap
	var enc wire.Encoder
	buf := make([]byte, 0, 64<<10)
	// Warm up: each recorded frame's shared records are encoded (a live
	// arena reuses a few pooled frames), and every view's first delta adds
	// the first frame whole.
	for _, f := range fa.frames {
		f.Records(encodeMarbleRecords)
	}
	for i, v := range views {
		v.Delta(fa.frames[0], fa.sessions[i], &snap)
	}
	var bytes, cells, skipped, n int
	frame := 1
	b.ReportAllocs()
	for b.Loop() {
		i := n % len(views)
		if i == 0 && n > 0 {
			frame++
			if frame == len(fa.frames) {
				// Wrapping around jumps back in time: start afresh, as
				// new connections would.
				frame = 1
				for j, v := range views {
					v.forget()
					v.Delta(fa.frames[0], fa.sessions[j], &snap)
				}
			}
		}
		f, v := fa.frames[frame], views[i]
		if n%16 == 0 { // sampled: counting is not the fan-out's work
			c, s := skippedCells(v, f, fa.sessions[i])
			cells += c
			skipped += s
		}
		v.Delta(f, fa.sessions[i], &snap)
		buf = enc.AppendSnap(buf[:0], &snap)
		bytes += len(buf)
		n++
	}
	b.ReportMetric(float64(bytes)/float64(n), "bytes/snap")
	if cells > 0 {
		b.ReportMetric(100*float64(skipped)/float64(cells), "%cells-skipped")
	}
}

// skippedCells counts the cells of the session's view window in f and
// those whose statics the view's next delta will pass over without a
// look at them: unchanged since its last delta, and all inside or all
// outside both its rectangle then and its rectangle in f. Call it before
// that delta.
func skippedCells(v *View, f *sim.Frame, session uint32) (cells, skipped int) {
	view := f.ViewWatching(session, v.watch)
	c0, r0, c1, r1 := view.Cells()
	for r := r0; r <= r1; r++ {
		for c := c0; c <= c1; c++ {
			cells++
			st := f.CellStatics(c, r)
			if !v.hasSent || st.Changed > v.sentTick {
				continue
			}
			if view.ShowsAll(st) && v.sent.ShowsAll(st) || view.ShowsNone(st) && v.sent.ShowsNone(st) {
				skipped++
			}
		}
	}
	return cells, skipped
}
