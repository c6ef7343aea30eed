package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/systems"
)

// ErrInboxFull is returned by Post when the arena's command inbox is full:
// the arena is behind, and the caller should tell its client rather than
// wait.
var ErrInboxFull = errors.New("arena inbox full")

// ErrStopped is returned by Post once the arena's Run has ended (or is
// ending, after a fault).
var ErrStopped = errors.New("arena stopped")

// Fault is the error Run returns when a panic on the arena's goroutine (in
// a system, the frame builder, the recorder, a sink, OnTick) stopped the
// arena. The arena's world is then in an unknown state, so it is not
// stepped again: its owner gives its sessions up and may start a fresh
// arena.
type Fault struct {
	Arena int
	Tick  uint64 // the tick that was running
	Panic any    // the value passed to panic
	Stack []byte // the arena goroutine's stack at the panic
}

func (f *Fault) Error() string {
	return fmt.Sprintf("arena %d stopped by a panic in tick %d: %v", f.Arena, f.Tick, f.Panic)
}

// Options configures an arena.
type Options struct {
	ID     int    // the arena's id, for logs, metrics and frames
	Config Config // validated by New
	Seed   uint64
	Clock  Clock // RealClock if nil
	// InboxSize bounds the command inbox; 4096 if zero. The control inbox
	// (PostControl) holds a quarter as many.
	InboxSize int
	// Record, if set, receives the replay log (see Recorder).
	Record *Recorder
	// OnRecordFailed, if set, is called by Run, once, when the replay log
	// stops early (ErrRecordBehind, or the write error) or its last
	// writes fail, after it is logged: the arena plays on without
	// recording.
	OnRecordFailed func(error)
	// OnTick, if set, is called on the arena goroutine after every tick
	// with the tick's statistics. It must not block or keep the pointer.
	OnTick func(*TickStats)
	// Drill, if set, is called inside every tick right after the systems,
	// on the arena goroutine, with the tick's number. It exists for
	// fault-injection tests and drills (a panic in it is a panic in the
	// tick, as a system's would be); it sees nothing of the world, so it
	// cannot make a replay diverge.
	Drill func(tick uint64)
	// Clips, if set, keeps the last minutes of play on disk to cut clips
	// from (Arena.Clip), whether or not Record is set.
	Clips *ClipRing
	// KeyframeEvery is how often the replay log carries a keyframe and
	// the clip ring starts a segment (DefaultKeyframeEvery seconds if
	// zero), rounded to whole ticks.
	KeyframeEvery time.Duration
	// Keyframe, if set, is where the arena starts: the state after a tick
	// (Arena.AppendKeyframe) of an arena with this Config and Seed,
	// instead of the seed's tick 0. New refuses one that is not one.
	Keyframe []byte
	// Logger receives the arena's own troubles (a replay log that cannot
	// be written); discarded if nil.
	Logger *slog.Logger
}

// Arena is one ShatterLand arena: its world, systems and publishing.
type Arena struct {
	id    int
	cfg   Config
	clock Clock
	inbox chan Command
	// control carries the lobby's join, detach and leave commands, apart
	// from the players' spawns and inputs, so that a client flooding the
	// inbox can neither keep players out nor leave a marble behind.
	control chan Command
	log     *slog.Logger
	record  *Recorder
	clips   *ClipRing
	// keyEvery is how many ticks apart keyframes are taken, with record or
	// clips. Static after New.
	keyEvery uint64
	onTick   func(*TickStats)
	drill    func(tick uint64)
	// onRecordFailed is Options.OnRecordFailed.
	onRecordFailed func(error)
	// recordFailedOnce is set once Run reported the replay log's failure.
	// Owned by Run's goroutine.
	recordFailedOnce bool

	// Owned by the goroutine that steps the arena.
	world   *arche.World
	state   *ecs.State
	systems []systems.System
	labels  []context.Context // pprof label context per system
	sinks   map[uint32]Sink
	pending []Command
	builder frameBuilder
	stats   TickStats

	board   atomic.Pointer[Board] // the latest leaderboard, nil before the first
	seats   atomic.Int32          // sessions reserved or joined; see Reserve
	tick    atomic.Uint64
	stopped atomic.Bool
	history tickHistory

	mu      sync.Mutex // guards current
	current *Frame
}

// New builds an arena and its first frame (tick 0). It returns an error if
// the config is invalid.
func New(opts Options) (*Arena, error) {
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	if opts.Clock == nil {
		opts.Clock = RealClock{}
	}
	if opts.InboxSize <= 0 {
		opts.InboxSize = 4096
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var world *arche.World
	var state *ecs.State
	if opts.Keyframe != nil {
		var err error
		if world, state, err = ecs.RestoreWorld(opts.Config, opts.Seed, opts.Keyframe); err != nil {
			return nil, err
		}
	} else {
		world, state = ecs.NewWorld(opts.Config, opts.Seed)
	}
	a := &Arena{
		id:      opts.ID,
		cfg:     opts.Config,
		clock:   opts.Clock,
		inbox:   make(chan Command, opts.InboxSize),
		control: make(chan Command, max(64, opts.InboxSize/4)),
		log:     opts.Logger,
		record:  opts.Record,
		onTick:  opts.OnTick,
		drill:   opts.Drill,
		world:   world,
		state:   state,
		systems: systems.Default(),
		sinks:   make(map[uint32]Sink),

		onRecordFailed: opts.OnRecordFailed,
	}
	for _, s := range a.systems {
		s.Initialize(world)
		a.labels = append(a.labels, pprof.WithLabels(context.Background(), pprof.Labels("system", s.Name())))
	}
	a.stats.Systems = make([]time.Duration, len(a.systems))
	a.builder.init(world, opts.ID, &opts.Config)
	every := opts.KeyframeEvery
	if every <= 0 {
		every = DefaultKeyframeEvery * time.Second
	}
	a.keyEvery = max(1, uint64(every*time.Duration(opts.Config.TickRate)/time.Second))
	if a.record != nil {
		// An arena that starts at a keyframe writes a log that starts
		// there too, as a clip does.
		var start *Keyframe
		if opts.Keyframe != nil {
			start = &Keyframe{Tick: state.Tick, Data: opts.Keyframe}
		}
		if err := a.record.writeHeader(opts.ID, opts.Seed, &opts.Config, start); err != nil {
			return nil, fmt.Errorf("replay log: %w", err)
		}
	}
	if opts.Clips != nil {
		kf, err := opts.Keyframe, error(nil)
		if kf == nil {
			kf, err = state.AppendKeyframe(nil)
		}
		if err == nil {
			err = opts.Clips.begin(opts.ID, opts.Seed, &opts.Config, a.keyEvery, Keyframe{Tick: state.Tick, Data: kf})
		}
		if err != nil {
			// A disk that cannot hold the ring must not keep players out.
			a.log.Error("cannot start the clip ring; the arena plays without one", "arena", opts.ID, "err", err)
		} else {
			a.clips = opts.Clips
		}
	}
	a.tick.Store(state.Tick)
	if state.BoardTick > 0 {
		// Restored from a keyframe: the leaderboard it had.
		a.board.Store(newBoard(&state.Board))
	}
	a.publish(a.builder.build(state, a.newFrame()))
	return a, nil
}

// AppendKeyframe appends the arena's whole state after its last tick to
// dst: Options.Keyframe of an arena that plays on from there exactly as
// this one does. Only the goroutine that steps the arena may call it,
// between ticks.
func (a *Arena) AppendKeyframe(dst []byte) ([]byte, error) {
	return a.state.AppendKeyframe(dst)
}

// ID returns the arena's id.
func (a *Arena) ID() int { return a.id }

// Config returns the arena's rules.
func (a *Arena) Config() Config { return a.cfg }

// Terrain returns the arena's heightmap: n samples per side, row-major,
// each height*255 (PROTOCOL.md's welcome). The slice is shared and must
// not be modified.
func (a *Arena) Terrain() (n int, heights []byte) {
	return a.state.Terrain.N, a.state.Terrain.Heights
}

// Board returns the latest leaderboard (made once a second), or nil before
// the first. It is shared and must not be modified. Safe from any
// goroutine.
func (a *Arena) Board() *Board { return a.board.Load() }

// Tick returns the number of the last completed tick. Safe from any
// goroutine.
func (a *Arena) Tick() uint64 { return a.tick.Load() }

// SystemNames returns the names of the systems in tick order, the order of
// TickStats.Systems.
func (a *Arena) SystemNames() []string {
	names := make([]string, len(a.systems))
	for i, s := range a.systems {
		names[i] = s.Name()
	}
	return names
}

// Reserve takes a seat for a new session if the arena has room for one
// more (MaxPlayers sessions) and reports whether it did. The caller then
// posts the session's Join, and calls Unreserve after its Leave. Safe from
// any goroutine.
func (a *Arena) Reserve() bool {
	for {
		n := a.seats.Load()
		if int(n) >= a.cfg.MaxPlayers {
			return false
		}
		if a.seats.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Unreserve gives back a seat taken by Reserve.
func (a *Arena) Unreserve() { a.seats.Add(-1) }

// Seats returns the number of seats taken.
func (a *Arena) Seats() int { return int(a.seats.Load()) }

// Stopped reports whether the arena has stopped (or is stopping): its
// Run ended, or a fault stopped it. Safe from any goroutine.
func (a *Arena) Stopped() bool { return a.stopped.Load() }

// Post queues a player's command (spawn, input) for the next tick. It
// never blocks: a full inbox returns ErrInboxFull, a stopped arena
// ErrStopped. Safe from any goroutine.
func (a *Arena) Post(c Command) error { return a.post(a.inbox, c) }

// PostControl queues a session's join, detach or leave on the control
// inbox, which the tick drains before the players' commands. Same errors
// as Post.
func (a *Arena) PostControl(c Command) error { return a.post(a.control, c) }

func (a *Arena) post(ch chan Command, c Command) error {
	if a.stopped.Load() {
		return ErrStopped
	}
	select {
	case ch <- c:
		return nil
	default:
		return ErrInboxFull
	}
}

// Acquire returns a reference to the latest frame. The caller must Release
// it. Safe from any goroutine.
func (a *Arena) Acquire() *Frame {
	a.mu.Lock()
	f := a.current
	f.refs.Add(1)
	a.mu.Unlock()
	return f
}

// Run ticks the arena at its tick rate until ctx is done, then flushes the
// replay log and returns its error, if any. It must be the only goroutine
// stepping the arena. A replay log that fails is logged, counted through
// OnRecordFailed and stopped; the match goes on.
//
// A panic anywhere on the arena's goroutine stops the arena instead of the
// process: Run logs it with its stack, stops taking commands (Post and
// PostControl return ErrStopped), flushes and closes the replay log (with
// the commands of the tick that panicked, so that the log replays up to
// the fault), logs the log's name, and returns a *Fault.
func (a *Arena) Run(ctx context.Context) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = a.fault(p, debug.Stack())
		}
	}()
	t := a.clock.NewTicker(time.Second / time.Duration(a.cfg.TickRate))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			a.stopped.Store(true)
			err := a.closeRecord()
			if err != nil {
				// A last write or the flush failed.
				a.recordFailed(err)
			}
			return err
		case <-t.C():
			if err := a.Step(); err != nil {
				a.recordFailed(err)
			}
		}
	}
}

// recordFailed logs and counts, once, the replay log's failure.
func (a *Arena) recordFailed(err error) {
	if a.recordFailedOnce {
		return
	}
	a.recordFailedOnce = true
	a.log.Error("replay log failed; recording stopped, the arena plays on", "arena", a.id, "replay", a.record.Name(), "err", err)
	if a.onRecordFailed != nil {
		a.onRecordFailed(err)
	}
}

// fault stops the arena after the panic p, on its goroutine, and returns
// the *Fault that Run returns.
func (a *Arena) fault(p any, stack []byte) error {
	a.stopped.Store(true)
	f := &Fault{Arena: a.id, Tick: a.state.Tick, Panic: p, Stack: stack}
	a.log.Error("arena stopped by a panic; the other arenas play on", "arena", a.id, "tick", f.Tick, "panic", fmt.Sprint(p), "stack", string(stack))
	if a.clips != nil {
		func() {
			// The ring may be what panicked: its second panic is logged.
			defer func() {
				if p := recover(); p != nil {
					a.log.Error("panic closing the clip ring", "arena", a.id, "panic", fmt.Sprint(p))
				}
			}()
			if err := a.clips.close(a.state.Tick, true); err != nil {
				a.log.Error("clip ring did not close cleanly", "arena", a.id, "err", err)
			}
		}()
	}
	if a.record == nil {
		return f
	}
	name := a.record.Name()
	err := func() (err error) {
		// The recorder may be what panicked: its second panic is an error.
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic closing the replay log: %v", p)
			}
		}()
		return a.closeRecord()
	}()
	if err != nil {
		a.log.Error("replay log of the stopped arena could not be flushed", "arena", a.id, "replay", name, "err", err)
	} else {
		a.log.Info("replay log of the stopped arena flushed", "arena", a.id, "replay", name, "last_tick", f.Tick)
	}
	return f
}

// Step runs one tick: it drains the control inbox, then the inbox, runs
// every system in order, records the tick, and publishes its frame. It
// returns an error only when recording stops (the replay log cannot be
// written, or its writer fell behind: ErrRecordBehind), once; the arena
// plays on without recording. Only the goroutine that owns the arena may
// call it (Run, or a headless driver that never calls Run).
func (a *Arena) Step() error {
	a.pending = a.pending[:0]
	for n := len(a.control); n > 0; n-- {
		a.pending = append(a.pending, <-a.control)
	}
	for n := len(a.inbox); n > 0; n-- {
		a.pending = append(a.pending, <-a.inbox)
	}
	return a.step()
}

// StepWith runs one tick with the given commands instead of the inbox's,
// as a test or a headless driver does; same rules as Step.
func (a *Arena) StepWith(cmds ...Command) error {
	a.pending = append(a.pending[:0], cmds...)
	return a.step()
}

// stepRecorded runs one tick with commands read from a replay log.
func (a *Arena) stepRecorded(cmds []ecs.Command) error {
	a.pending = a.pending[:0]
	for _, c := range cmds {
		a.pending = append(a.pending, Command{cmd: c})
	}
	return a.step()
}

func (a *Arena) step() error {
	st := a.state
	st.Tick++
	start := a.clock.Now()
	st.Commands = st.Commands[:0]
	for i := range a.pending {
		c := &a.pending[i]
		switch c.cmd.Kind {
		case ecs.CmdJoin:
			a.sinks[c.cmd.Session] = c.sink
		case ecs.CmdLeave, ecs.CmdDetach:
			delete(a.sinks, c.cmd.Session)
		}
		st.Commands = append(st.Commands, c.cmd)
	}
	var recordErr error
	if a.record != nil {
		// Record before the input system consumes them.
		if err := a.record.beginTick(st.Tick, st.Commands); err != nil {
			recordErr = fmt.Errorf("replay log: %w", err)
		}
	}
	if a.clips != nil {
		a.clips.beginTick(st.Tick, st.Commands)
	}
	last := start
	for i, s := range a.systems {
		pprof.SetGoroutineLabels(a.labels[i])
		s.Update(a.world)
		now := a.clock.Now()
		a.stats.Systems[i] = now.Sub(last)
		last = now
	}
	pprof.SetGoroutineLabels(context.Background())
	if a.drill != nil {
		a.drill(st.Tick)
	}

	frame := a.builder.build(st, a.newFrame())
	if a.record != nil || a.clips != nil {
		a.endRecordedTick(st.Tick, frame.Hash)
	}
	// Events first, so that a died is queued before the frame that no
	// longer shows the marble can be read; the tick number before the
	// frame, so that no pong or welcome names a tick older than a snap.
	a.notifyEvents()
	a.tick.Store(st.Tick)
	a.publish(frame)
	for i := range st.Sessions {
		if sink := a.sinks[st.Sessions[i].ID]; sink != nil {
			sink.FrameReady(frame.Tick)
		}
	}

	a.stats.Tick = st.Tick
	a.stats.Duration = a.clock.Now().Sub(start)
	a.stats.Entities = len(frame.Entities)
	a.stats.Movers = frame.Movers
	a.history.add(a.stats.Duration)
	if a.onTick != nil {
		a.onTick(&a.stats)
	}
	return recordErr
}

// notifyEvents hands the tick's deaths, feed, departures and leaderboard
// to the sessions' sinks.
func (a *Arena) notifyEvents() {
	st := a.state
	for _, d := range st.Deaths {
		if sink := a.sinks[d.Session]; sink != nil && d.Session != 0 {
			sink.Died(Died{Tick: st.Tick, By: d.By, ByName: d.ByName, Mass: RoundMass(d.Mass)})
		}
	}
	// One feed for the whole tick, shared by every session, after the
	// victims' died. It is made only in a tick with events and someone to
	// tell (a replay, a benchmark or an arena of zombies has no sink),
	// which keeps quiet ticks allocation-free.
	if feed := a.feedOf(st); feed != nil {
		for i := range st.Sessions {
			if sink := a.sinks[st.Sessions[i].ID]; sink != nil {
				sink.Feed(feed)
			}
		}
	}
	st.Deaths = st.Deaths[:0]
	st.SpikeHits = st.SpikeHits[:0]
	for _, d := range st.Departures {
		if sink := a.sinks[d.Session]; sink != nil {
			sink.Departed(Departed{Tick: st.Tick, Alive: d.Alive, Name: d.Name, Mass: d.Mass})
		}
		// Kept until now so that it could hear of its departure.
		delete(a.sinks, d.Session)
	}
	st.Departures = st.Departures[:0]
	if st.BoardTick == st.Tick {
		// One copy a second, shared by all sessions and Board's callers.
		ev := newBoard(&st.Board)
		a.board.Store(ev)
		for i := range st.Sessions {
			if sink := a.sinks[st.Sessions[i].ID]; sink != nil {
				sink.Board(ev)
			}
		}
	}
}

// feedOf makes the tick's feed, or nil when it has no events or nobody
// to tell.
func (a *Arena) feedOf(st *ecs.State) *Feed {
	if len(a.sinks) == 0 {
		return nil
	}
	return newFeed(st.Tick, st.Deaths, st.SpikeHits)
}

// newFrame takes a recycled frame, or makes one.
func (a *Arena) newFrame() *Frame {
	select {
	case f := <-a.builder.pool:
		f.refs.Store(1)
		return f
	default:
		f := &Frame{pool: a.builder.pool}
		f.refs.Store(1)
		return f
	}
}

// publish makes f the current frame, giving up the arena's reference to
// the previous one.
func (a *Arena) publish(f *Frame) {
	a.mu.Lock()
	old := a.current
	a.current = f
	a.mu.Unlock()
	if old != nil {
		old.Release()
	}
}

// endRecordedTick ends the tick in the replay log and the clip ring,
// with a keyframe when one is due: the log carries it after the tick, and
// the ring starts its next segment there. Taking one costs the tick one to
// two milliseconds in a full default arena, once a minute
// (docs/PERFORMANCE.md, Keyframes).
func (a *Arena) endRecordedTick(tick, hash uint64) {
	var kf []byte
	if tick%a.keyEvery == 0 {
		var err error
		if kf, err = a.state.AppendKeyframe(nil); err != nil {
			a.log.Error("cannot take a keyframe; the logs go on without it", "arena", a.id, "tick", tick, "err", err)
			kf = nil
		}
	}
	if a.record != nil {
		a.record.endTick(hash, kf)
	}
	if a.clips != nil {
		a.clips.endTick(hash)
		if kf != nil {
			a.clips.rotate(Keyframe{Tick: tick, Data: kf})
		}
	}
}

// Clip joins the last minutes of the arena's play, from its clip ring,
// into a replay that starts at a keyframe (ClipRing.Clip); ErrNoClip if
// the arena keeps none. Safe from any goroutine.
func (a *Arena) Clip(minutes float64) (*Replay, error) {
	if a.clips == nil {
		return nil, ErrNoClip
	}
	return a.clips.Clip(minutes)
}

// closeRecord flushes and closes the replay log and the clip ring, if
// any, and returns the log's error.
func (a *Arena) closeRecord() error {
	if a.clips != nil {
		if err := a.clips.close(a.state.Tick, false); err != nil {
			a.log.Error("clip ring did not close cleanly", "arena", a.id, "err", err)
		}
	}
	if a.record == nil {
		return nil
	}
	return a.record.Close(a.state.Tick)
}

// Close flushes the replay log of an arena driven by Step (Run does this
// itself when it returns).
func (a *Arena) Close() error {
	a.stopped.Store(true)
	return a.closeRecord()
}
