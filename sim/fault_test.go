package sim

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memLog is a replay log in memory with a file's Name and Close.
type memLog struct {
	bytes.Buffer
	closed bool
}

func (m *memLog) Name() string { return "mem-replay.replay" }
func (m *memLog) Close() error { m.closed = true; return nil }

// panicSink panics when told of the frame of tick at.
type panicSink struct{ at uint64 }

func (s *panicSink) FrameReady(t uint64) {
	if t == s.at {
		panic("sink drill")
	}
}
func (s *panicSink) Died(Died)         {}
func (s *panicSink) Departed(Departed) {}
func (s *panicSink) Board(*Board)      {}
func (s *panicSink) Feed(*Feed)        {}

// TestRunStopsOnPanic panics on the arena goroutine, inside the tick (the
// Drill hook, as a system would) and after it (a sink), and checks that
// Run returns a *Fault instead of ending the process, that the arena takes
// no more commands, and that the replay log is flushed with the faulty
// tick's commands and an end line, named in the log, and replays.
func TestRunStopsOnPanic(t *testing.T) {
	const at = 60
	for _, tc := range []struct {
		name        string
		drill       func(uint64)
		sink        Sink
		checkpoints int // tick 60's hash is written only if the tick ended
	}{
		{"system", func(tick uint64) {
			if tick == at {
				panic("system drill")
			}
		}, &chanSink{frames: make(chan uint64, 100)}, at - 1},
		{"sink", nil, &panicSink{at: at}, at},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			rec := &memLog{}
			clock := NewManualClock()
			a := newTestArena(t, Options{Seed: 3, Clock: clock, Record: NewRecorder(rec), Drill: tc.drill,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			done := make(chan error, 1)
			go func() { done <- a.Run(context.Background()) }()
			if err := a.PostControl(Join(1, "ann", tc.sink)); err != nil {
				t.Fatal(err)
			}
			var err error
		ticks:
			for tick := uint64(1); ; tick++ {
				if tick == 2 {
					_ = a.Post(Spawn(1))
				}
				_ = a.Post(Input(1, uint32(tick), float64(tick)/10, false))
				select {
				case clock.ch <- time.Time{}:
				case err = <-done:
					break ticks
				}
				// Each tick's commands in that tick: wait for it to end.
				for a.Tick() < tick {
					select {
					case err = <-done:
						break ticks
					case <-time.After(time.Millisecond):
					}
				}
			}
			var f *Fault
			if !errors.As(err, &f) || f.Tick != at || !strings.Contains(string(f.Stack), "panic") {
				t.Fatalf("Run returned %v, want a *Fault at tick %d with its stack", err, at)
			}
			if err := a.Post(Spawn(1)); !errors.Is(err, ErrStopped) {
				t.Fatalf("Post after the fault: %v, want ErrStopped", err)
			}
			if err := a.PostControl(Leave(1)); !errors.Is(err, ErrStopped) {
				t.Fatalf("PostControl after the fault: %v, want ErrStopped", err)
			}
			if !rec.closed {
				t.Fatal("replay log not closed")
			}
			out := logs.String()
			for _, want := range []string{"replay=mem-replay.replay", "stack=", "drill"} {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %q:\n%s", want, out)
				}
			}
			rp, err := LoadReplay(bytes.NewReader(rec.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			last := rp.Ticks[len(rp.Ticks)-1]
			if rp.LastTick != at || last.Tick != at || len(last.Commands) == 0 {
				t.Fatalf("log ends at tick %d, last line tick %d with %d commands; want the faulty tick %d with its commands", rp.LastTick, last.Tick, len(last.Commands), at)
			}
			res, err := rp.Play(nil)
			if err != nil || res.Diverged != nil || len(res.Checkpoints) != tc.checkpoints {
				t.Fatalf("replay: %+v, %v; want %d matching checkpoints", res, err, tc.checkpoints)
			}
		})
	}
}

// stallWriter accepts writes until stall is set, then blocks each write
// until release is closed, telling blocked when it first blocks.
// TestRecorderCloseOnAHungDisk: a write that never returns does not hold
// the arena's goroutine when it stops: Close gives up after its wait and
// says why, and the arena's Close returns.
func TestRecorderCloseOnAHungDisk(t *testing.T) {
	defer func(d time.Duration) { recordCloseWait = d }(recordCloseWait)
	recordCloseWait = 100 * time.Millisecond
	w := newStallWriter()
	rec := newRecorder(w, 4, 1)
	a := newTestArena(t, Options{Seed: 5, Record: rec})
	w.stall.Store(true)
	_ = a.Step() // its line is queued; the writer hangs on it
	<-w.blocked
	start := time.Now()
	err := a.Close()
	if err == nil || !strings.Contains(err.Error(), "abandoned") {
		t.Fatalf("Close on a hung disk: %v, want the log abandoned", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v on a hung disk, want about its 100 ms wait", d)
	}
	if err2 := rec.Close(a.Tick()); err2 != err {
		t.Fatalf("Close again: %v, want %v", err2, err)
	}
	close(w.release) // the writer goroutine ends with the write
}

type stallWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	stall   atomic.Bool
	blocked chan struct{}
	once    sync.Once
	release chan struct{}
}

func newStallWriter() *stallWriter {
	return &stallWriter{blocked: make(chan struct{}), release: make(chan struct{})}
}

func (w *stallWriter) Write(p []byte) (int, error) {
	if w.stall.Load() {
		w.once.Do(func() { close(w.blocked) })
		<-w.release
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// TestRecordingFallsBehindWithoutStallingTheTick: a disk that stops
// answering never holds the tick; once the queue is full, recording stops
// (once, ErrRecordBehind), the arena plays on, and the log that was
// written holds every tick before the stop and replays.
func TestRecordingFallsBehindWithoutStallingTheTick(t *testing.T) {
	w := newStallWriter()
	w.stall.Store(true)
	rec := newRecorder(w, 4, 1)
	w.stall.Store(false) // the header goes through
	a := newTestArena(t, Options{Seed: 5, Record: rec})
	w.stall.Store(true)
	var errs []error
	stoppedAt := uint64(0)
	for range 300 {
		if err := a.Step(); err != nil {
			errs = append(errs, err)
			stoppedAt = a.Tick()
		}
	}
	if len(errs) != 1 || !errors.Is(errs[0], ErrRecordBehind) || a.Tick() != 300 {
		t.Fatalf("errors %v, arena at tick %d; want one ErrRecordBehind and every tick played", errs, a.Tick())
	}
	if stoppedAt > 10 {
		t.Fatalf("recording stopped at tick %d, want within the queue's 4 lines and the writer's 1", stoppedAt)
	}
	close(w.release)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	rp, err := LoadReplay(bytes.NewReader(w.buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if rp.LastTick != stoppedAt-1 || len(rp.Ticks) != int(stoppedAt-1) {
		t.Fatalf("log ends at tick %d with %d lines, want every tick before the stop at %d", rp.LastTick, len(rp.Ticks), stoppedAt)
	}
	res, err := rp.Play(nil)
	if err != nil || res.Diverged != nil || len(res.Checkpoints) != int(stoppedAt-1) {
		t.Fatalf("replay: %+v, %v", res, err)
	}
}

// TestRecordingKeepsTheTickAllocationFree measures Step while the writer
// is stuck on the disk, so that only the tick's own allocations count:
// handing a line to the writer allocates nothing.
func TestRecordingKeepsTheTickAllocationFree(t *testing.T) {
	w := newStallWriter()
	rec := newRecorder(w, 256, 1)
	a := newTestArena(t, Options{Seed: 9, Record: rec})
	for range 600 { // every line buffer used many times over
		step(t, a, 1)
		rec.Drain() // keep the warm-up from outrunning the writer
	}
	w.stall.Store(true)
	step(t, a, 1)
	<-w.blocked
	allocs := testing.AllocsPerRun(100, func() {
		if err := a.Step(); err != nil {
			t.Fatal(err)
		}
	})
	close(w.release)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// The once-a-second leaderboard event is the tick's one allocation
	// (TestStepAllocatesOnlyTheBoard), fewer than one per tick.
	if allocs >= 0.5 {
		t.Fatalf("Step with a replay log allocates %.2f times per tick, want 0", allocs)
	}
}
