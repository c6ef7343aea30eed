package session

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/shatter/shatter/net/floor"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// BenchmarkSnapshot measures what a session's writer does for every tick:
// the view delta against what was sent, and its msgpack encoding. The
// arena is full (150 marbles, 1,200 fragments); the session spectates the
// leader, whose view is the largest. Frames are recorded first, so only
// the session's work is timed; each op is one tick's snap. It reports the
// average snap size and the cost per entity in view.
func BenchmarkSnapshot(b *testing.B) {
	for _, view := range []struct {
		name  string
		scale float64 // view size multiplier: 1 is DESIGN.md's view
	}{{"default-view", 1}, {"double-view", 2}} {
		b.Run(view.name, func(b *testing.B) {
			cfg := sim.DefaultConfig()
			cfg.MinPopulation = cfg.MaxPlayers
			cfg.ViewWidth *= view.scale
			cfg.ViewHeight *= view.scale
			a, err := sim.New(sim.Options{Config: cfg, Seed: 3})
			if err != nil {
				b.Fatal(err)
			}
			for range 300 {
				if err := a.Step(); err != nil {
					b.Fatal(err)
				}
			}
			frames := make([]*sim.Frame, 300)
			for i := range frames {
				if err := a.Step(); err != nil {
					b.Fatal(err)
				}
				frames[i] = a.Acquire()
			}
			defer func() {
				for _, f := range frames {
					f.Release()
				}
			}()
			v := NewView()
			var snap wire.Snap
			var enc wire.Encoder
			buf := make([]byte, 0, 64<<10)
			// Warm up: each recorded frame's shared records are encoded
			// (a live arena reuses a few pooled frames), and the first
			// delta adds the whole view.
			for _, f := range frames {
				f.Records(encodeMarbleRecords)
			}
			v.Delta(frames[0], 0, &snap)
			buf = enc.AppendSnap(buf[:0], &snap)
			// What each frame's delta leaves the view holding, counted
			// before the timing: the entities of its view.
			shown := make([]int, len(frames))
			for i, f := range frames {
				r := f.View(0)
				for j := range f.Entities {
					if r.Shows(&f.Entities[j]) {
						shown[i]++
					}
				}
			}
			var bytes, inView, n int
			b.ReportAllocs()
			for b.Loop() {
				k := 1 + n%(len(frames)-1)
				f := frames[k]
				if n%(len(frames)-1) == 0 && n > 0 {
					// Wrapping around jumps back in time: start afresh,
					// as a new connection would.
					v.forget()
					v.Delta(frames[0], 0, &snap)
				}
				v.Delta(f, 0, &snap)
				buf = enc.AppendSnap(buf[:0], &snap)
				bytes += len(buf)
				inView += shown[k]
				n++
			}
			b.ReportMetric(float64(bytes)/float64(n), "bytes/snap")
			b.ReportMetric(float64(inView)/float64(n), "entities/view")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(inView), "ns/entity")
		})
	}
}

// ExampleView shows a session's first snap adding its whole view.
func ExampleView() {
	cfg := sim.DefaultConfig()
	a, _ := sim.New(sim.Options{Config: cfg, Seed: 1})
	_ = a.StepWith(sim.Join(1, "ann", nil), sim.Spawn(1))
	f := a.Acquire()
	defer f.Release()
	var snap wire.Snap
	v := NewView()
	v.Delta(f, 1, &snap)
	r, inView := f.View(1), 0
	for i := range f.Entities {
		if r.Shows(&f.Entities[i]) {
			inView++
		}
	}
	fmt.Println(snap.HasYou, len(snap.Add) == inView, len(snap.Del))
	// Output: true true 0
}

// BenchmarkKernelQueue measures the writer's read of a TCP socket's send
// queue (SIOCOUTQ), made on Linux before one snap in queueEvery, or
// before each while a ping is in flight or the queue is high (see
// backlogged): the price of skipping ticks for a slow link, beside the
// snap's own write system call.
func BenchmarkKernelQueue(b *testing.B) {
	_, server := tcpPair(b)
	var q kernelQueue
	q.init(server)
	if !q.readable() {
		b.Skip("no send queue to read here")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := q.queued(); !ok {
			b.Fatal("the send queue could not be read")
		}
	}
}

// BenchmarkLoopbackWriteFloor measures the floor of the fan-out: one
// write system call of a small frame (a 300-byte snap) to a loopback TCP
// connection whose peer drains it (net/floor). A session's snap can cost
// no less; PERFORMANCE.md compares the server's CPU per delivered snapshot
// to it. conns=1 writes to one connection again and again, whose kernel
// state stays in cache; conns=1000 writes round-robin to a thousand, as a
// fan-out does, and is the figure to compare with; conns=1000/paced
// writes them in a burst 30 times a second, as a fan-out's ticks do
// (net/floor.MeasurePaced: between bursts the readers sleep and the
// sockets go cold). cpu-ns/op is the writing thread's own CPU time
// (Linux only).
func BenchmarkLoopbackWriteFloor(b *testing.B) {
	for _, tc := range []struct {
		conns int
		paced bool
	}{{1, false}, {1000, false}, {1000, true}} {
		conns, name := tc.conns, fmt.Sprintf("conns=%d", tc.conns)
		if tc.paced {
			name += "/paced"
		}
		b.Run(name, func(b *testing.B) {
			rig, err := floor.Open(conns, 300)
			if err != nil {
				b.Fatal(err)
			}
			defer rig.Close()
			runtime.LockOSThread() // The thread's CPU time is the writes'.
			defer runtime.UnlockOSThread()
			for range conns { // Warm every connection first.
				if err := rig.Write(); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(300)
			b.ReportAllocs()
			cpu0 := floor.ThreadCPU()
			burst, n := time.Now(), 0
			for b.Loop() {
				if err := rig.Write(); err != nil {
					b.Fatal(err)
				}
				if n++; tc.paced && n%conns == 0 {
					b.StopTimer()
					time.Sleep(time.Second/30 - time.Since(burst))
					burst = time.Now()
					b.StartTimer()
				}
			}
			if cpu0 > 0 {
				b.ReportMetric(float64(floor.ThreadCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
