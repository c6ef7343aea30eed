package sim

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/shatter/shatter/ecs"
)

// Recorder writes an arena's replay log (the format is in replaycodec.go):
// the seed, the config, and every tick's commands and state hash, in a
// compact binary form compressed with zstd. A float64 angle needs no room:
// inputs arrive quantized to 1/65536 of a turn (Input). The compressed
// stream is flushed once a second of play, so a process that dies leaves
// a log that replays up to its last second.
//
// The tick never waits for the disk: it copies each tick's commands and
// hash into one of a fixed set of line buffers and hands it to a writer
// goroutine owned by the Recorder, which encodes, compresses and writes
// it. When every buffer is still waiting (the disk fell behind) or a
// write fails, recording stops for good and the arena plays on; the log
// then ends at the last tick it holds whole. The writer starts with the
// header (New) and exits when Close has drained it.
type Recorder struct {
	// Static after construction.
	name   string    // the file's name, if the writer had one
	closer io.Closer // closed by Close, if the writer was one

	// The queue: free holds the line buffers not in use, full the lines
	// waiting for the writer. Each holds every buffer, so neither send
	// ever blocks.
	free, full chan *recordLine

	// Owned by the arena goroutine.
	cur        *recordLine // the line of the tick begun, queued at its end
	lastQueued uint64      // the tick of the last line queued
	stopped    bool        // recording stopped: nothing more is queued
	endAt      uint64      // the last tick the log holds whole, once stopped
	started    bool        // the header is written and the writer runs
	closed     bool
	// stuck is Close's answer once the writer did not finish within
	// recordCloseWait: the writer still owns everything below.
	stuck error

	// Owned by the writer goroutine until done is closed, then by Close.
	w          io.Writer
	enc        *zstd.Encoder
	buf        []byte       // the record being encoded
	codes      sessionCodes // what the command codec remembers of sessions
	prevTick   uint64       // the tick of the last tick record written
	flushEvery uint64       // ticks between flushes: a second of play
	flushedAt  uint64       // the tick of the last flush
	err        error
	// head, if set, writes the log's start for the writer before its
	// first tick (startFrom).
	head func() error
	// failed is the writer's first error, for the tick to see.
	failed atomic.Pointer[error]
	done   chan struct{}
	// wake nudges the writer between its rounds (Drain, Close); it holds
	// one nudge, so nudging never blocks.
	wake chan struct{}
}

// recordLine is one tick's line on its way to the writer.
type recordLine struct {
	tick    uint64
	cmds    []ecs.Command // reused: grows to the busiest tick, then stays
	hash    uint64
	hasHash bool
	// keyframe, if not nil, is the state after the tick, written after
	// it; the writer lets it go (a keyframe a minute is not worth a
	// buffer kept in every line).
	keyframe []byte
}

// recordCloseWait bounds how long Close waits for the writer to drain
// its queue and finish its last write (a variable for tests).
var recordCloseWait = 5 * time.Second

// recordWriteEvery is how often a Recorder's writer takes the lines
// queued: a tenth of a second, three ticks at 30 Hz.
const recordWriteEvery = 100 * time.Millisecond

// nudge wakes the writer to take the queue now.
func (r *Recorder) nudge() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// RecordQueue is how many ticks' lines a Recorder holds for its writer:
// at 30 Hz, about 8 s of ticks.
const RecordQueue = 256

// ErrRecordBehind is why recording stops when the disk falls behind the
// tick: every line buffer was still waiting to be written.
var ErrRecordBehind = errors.New("replay log writer fell behind the tick")

// NewRecorder writes a replay log to w. If w is an io.Closer, Close
// closes it; if it has a Name method (an *os.File has), Name returns it,
// for the logs.
func NewRecorder(w io.Writer) *Recorder {
	return newRecorder(w, RecordQueue, 0)
}

// newRecorder is NewRecorder with the queue's length and the ticks
// between flushes (0: a second of play), which tests make small.
func newRecorder(w io.Writer, queue, flushEvery int) *Recorder {
	r := &Recorder{
		free:       make(chan *recordLine, queue),
		full:       make(chan *recordLine, queue),
		w:          w,
		codes:      sessionCodes{},
		flushEvery: uint64(flushEvery),
		done:       make(chan struct{}),
		wake:       make(chan struct{}, 1),
	}
	for range queue {
		r.free <- &recordLine{}
	}
	if c, ok := w.(io.Closer); ok {
		r.closer = c
	}
	if n, ok := w.(interface{ Name() string }); ok {
		r.name = n.Name()
	}
	return r
}

// Name returns the name of the file the log is written to, or "" if its
// writer has none.
func (r *Recorder) Name() string { return r.name }

// writeHeader writes the log's magic, version, header record and the
// keyframe it starts at, if any, flushed, and starts the writer. Called
// once, by New.
func (r *Recorder) writeHeader(arena int, seed uint64, cfg *ecs.Config, start *Keyframe) error {
	if start != nil {
		r.prevTick = start.Tick
	}
	if err := r.writeStart(arena, seed, cfg, start); err != nil {
		r.err = err
		return err
	}
	r.run(cfg)
	return nil
}

// startFrom starts a log that begins at a keyframe (a clip ring's
// segment) and its writer, which writes the start itself, so that the
// arena goroutine that calls it touches no file.
func (r *Recorder) startFrom(arena int, seed uint64, cfg *ecs.Config, start Keyframe) {
	r.prevTick = start.Tick
	r.head = func() error { return r.writeStart(arena, seed, cfg, &start) }
	r.run(cfg)
}

// writeStart writes the log's magic, version, header record and the
// keyframe it starts at, if any, flushed.
func (r *Recorder) writeStart(arena int, seed uint64, cfg *ecs.Config, start *Keyframe) error {
	head, err := encodeHeader(arena, seed, cfg)
	if err == nil {
		_, err = r.w.Write(binary.LittleEndian.AppendUint16([]byte(replayMagic), ReplayVersion))
	}
	if err == nil {
		r.enc, err = newLogEncoder(r.w)
	}
	if err == nil {
		_, err = r.enc.Write(appendRecord(nil, recHeader, head))
	}
	if err == nil && start != nil {
		_, err = r.enc.Write(appendKeyframeRecord(nil, start.Tick, start.Data))
	}
	if err == nil {
		err = r.enc.Flush()
	}
	return err
}

func encodeHeader(arena int, seed uint64, cfg *ecs.Config) ([]byte, error) {
	return json.Marshal(replayHeader{Arena: arena, Seed: seed, Config: *cfg})
}

// run starts the writer.
func (r *Recorder) run(cfg *ecs.Config) {
	if r.flushEvery == 0 {
		r.flushEvery = uint64(cfg.TickRate)
	}
	r.started = true
	// Owned by the Recorder; exits when Close closes full and the lines
	// queued before are written (or dropped after a failed write). A
	// write that hangs keeps it until the write returns; Close then
	// waits no longer than recordCloseWait.
	go r.writeLoop()
}

// beginTick takes a line buffer for the tick and copies its commands
// (before the input system consumes them); endTick queues it with the
// tick's state hash. It returns an error once, when recording stops: the
// writer failed, or no buffer is free.
func (r *Recorder) beginTick(tick uint64, cmds []ecs.Command) error {
	r.cur = nil
	if r.stopped {
		return nil
	}
	if err := r.failed.Load(); err != nil {
		return r.stop(tick, *err)
	}
	select {
	case l := <-r.free:
		l.tick, l.cmds, l.hasHash, l.keyframe = tick, append(l.cmds[:0], cmds...), true, nil
		r.cur = l
		return nil
	default:
		return r.stop(tick, ErrRecordBehind)
	}
}

// Drain waits until the writer has taken every tick queued so far. A
// headless driver that steps faster than a disk takes the log (a scripted
// match, a benchmark with -record) calls it between steps so that the
// recording does not stop for falling behind; a live arena never does, as
// its tick must not wait for the disk. Not for use after Close.
func (r *Recorder) Drain() {
	r.nudge()
	for len(r.full) > 0 && r.failed.Load() == nil {
		time.Sleep(200 * time.Microsecond)
	}
}

// endTick queues the line begun for the tick, with the tick's state hash
// and, if not nil, the keyframe of the state after it.
func (r *Recorder) endTick(hash uint64, keyframe []byte) {
	l := r.cur
	if l == nil {
		return
	}
	r.cur = nil
	l.hash, l.keyframe = hash, keyframe
	r.lastQueued = l.tick
	r.full <- l
}

// stop ends the recording before the tick: the log holds every tick
// before it whole.
func (r *Recorder) stop(tick uint64, err error) error {
	r.stopped, r.endAt = true, tick-1
	return err
}

// writeLoop writes the queued lines until Close closes the queue. After a
// failed write it drops them: the log is cut, and the tick sees why.
//
// It takes the queue in rounds, recordWriteEvery apart, not a line at a
// time as each tick queues it: a tick whose line wakes a parked goroutine
// pays for the wake-up, and the writer's compressing then competes with
// the tick for the CPU thirty times a second. Drain and Close wake it at
// once.
func (r *Recorder) writeLoop() {
	defer close(r.done)
	if r.head != nil {
		if err := r.head(); err != nil {
			r.fail(err)
		}
		r.head = nil
	}
	round := time.NewTicker(recordWriteEvery)
	defer round.Stop()
	for {
		for taking := true; taking; {
			select {
			case l, ok := <-r.full:
				if !ok {
					return
				}
				if r.failed.Load() == nil {
					r.writeTick(l)
				}
				r.free <- l
			default:
				taking = false
			}
		}
		select {
		case <-round.C:
		case <-r.wake:
		}
	}
}

// writeTick encodes and compresses one tick, and flushes the compressed
// stream to the file once a second of play. A panic here (a bug in
// encoding) is a failed write, not the end of the process.
func (r *Recorder) writeTick(l *recordLine) {
	defer func() {
		if p := recover(); p != nil {
			r.fail(fmt.Errorf("panic writing tick %d: %v\n%s", l.tick, p, debug.Stack()))
		}
	}()
	r.buf = appendTickRecord(r.buf[:0], l.tick-r.prevTick, l.hash, l.hasHash, l.cmds, r.codes)
	r.prevTick = l.tick
	if l.keyframe != nil {
		r.buf = appendKeyframeRecord(r.buf, l.tick, l.keyframe)
		l.keyframe = nil
	}
	if _, err := r.enc.Write(r.buf); err != nil {
		r.fail(err)
		return
	}
	if l.tick-r.flushedAt >= r.flushEvery {
		r.flushedAt = l.tick
		if err := r.enc.Flush(); err != nil {
			r.fail(err)
		}
	}
}

// fail records the writer's first error. Called by the writer only.
func (r *Recorder) fail(err error) {
	if r.err == nil {
		r.err = err
		r.failed.Store(&err)
	}
}

// Close drains the queue, writes the end record, ends the compressed
// stream and closes the log, and returns the first error the log met. A
// tick that began but never ended (the arena stopped on a fault inside
// it) is written without its hash, so that replaying the log reaches the
// faulty tick with its commands. The end record names lastTick, or the
// last tick the log holds whole if recording stopped early. Calling Close
// again does nothing. Called by the arena goroutine.
func (r *Recorder) Close(lastTick uint64) error {
	if r.closed {
		if r.stuck != nil {
			return r.stuck
		}
		return r.err
	}
	r.closed = true
	if r.started {
		close(r.full)
		r.nudge()
		wait := time.NewTimer(recordCloseWait)
		defer wait.Stop()
		select {
		case <-r.done:
		case <-wait.C:
			// A write that never returns (a hung network disk) must not
			// hold the arena's goroutine, which still has to tell its
			// sessions and the lobby that it stopped. The writer goroutine
			// and the file are left to the write's return.
			r.stuck = fmt.Errorf("replay log %q: its writer did not finish within %v; the log is abandoned", r.name, recordCloseWait)
			return r.stuck
		}
		// The writer has exited: the rest is Close's.
		end := lastTick
		if r.stopped {
			end = r.endAt
		}
		if l := r.cur; l != nil && r.err == nil {
			r.cur = nil
			l.hasHash = false
			r.writeTick(l)
			end = max(end, l.tick)
		}
		end = max(end, r.lastQueued)
		if r.err == nil {
			if _, err := r.enc.Write(appendRecord(nil, recEnd, binary.AppendUvarint(nil, end))); err != nil {
				r.err = err
			}
		}
		if err := r.enc.Close(); err != nil && r.err == nil {
			r.err = err
		}
	}
	if r.closer != nil {
		if err := r.closer.Close(); err != nil && r.err == nil {
			r.err = err
		}
	}
	return r.err
}

// Replay is a loaded replay log.
type Replay struct {
	Arena int
	Seed  uint64
	// Checkpoint is how many ticks apart the log holds state hashes:
	// 1, every tick, since version 2.
	Checkpoint int
	Config     ecs.Config
	// Ticks holds the recorded ticks in tick order.
	Ticks []ReplayTick
	// LastTick is the last tick recorded (the end record's, or the last
	// tick record's if the recording was cut off).
	LastTick uint64
	// Start, if set, is where the log begins: the state after its tick
	// (a clip, or a clip ring's segment); the first tick played is the
	// next. Nil for a log that begins at the seed's tick 0.
	Start *Keyframe
	// Keyframes are every keyframe of the log in tick order, Start first
	// if it has one: a player may begin at any of them (Replay.From).
	Keyframes []Keyframe
	// Cut says why the log ended without its end record (the process
	// that recorded it died, or its tail is damaged); empty for a log
	// closed cleanly. Either way the log holds every tick up to LastTick
	// whole.
	Cut string
}

// ReplayTick is one recorded tick.
type ReplayTick struct {
	Tick     uint64
	Commands []ecs.Command
	Hash     uint64
	HasHash  bool
}

// Checkpoint is the outcome of one recorded state hash.
type Checkpoint struct {
	Tick      uint64
	Want, Got uint64
}

// OK reports whether the replayed state matched the recording.
func (c Checkpoint) OK() bool { return c.Want == c.Got }

// ReplayResult is what a playback found.
type ReplayResult struct {
	Ticks       uint64
	Checkpoints []Checkpoint
	// Diverged is the first checkpoint that did not match, if any.
	Diverged *Checkpoint
}

// Play re-runs the replay headless and compares every recorded hash,
// stopping at the first that differs. onCheckpoint, if not nil, is called
// for each checkpoint as it is reached.
func (rp *Replay) Play(onCheckpoint func(Checkpoint)) (*ReplayResult, error) {
	res := &ReplayResult{}
	_, err := rp.run(rp.LastTick, func(a *Arena, tick uint64, rt *ReplayTick) bool {
		res.Ticks = tick
		if rt == nil || !rt.HasHash {
			return true
		}
		cp := Checkpoint{Tick: tick, Want: rt.Hash, Got: a.state.Hash()}
		res.Checkpoints = append(res.Checkpoints, cp)
		if onCheckpoint != nil {
			onCheckpoint(cp)
		}
		if !cp.OK() {
			res.Diverged = &res.Checkpoints[len(res.Checkpoints)-1]
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// run plays the log from its start (the seed's tick 0, or its start
// keyframe) to until (at most its last tick), calling
// each after every tick with the arena, the tick and its record (nil if
// the log has none for it) until each returns false. It returns the arena
// as the last tick played left it.
func (rp *Replay) run(until uint64, each func(a *Arena, tick uint64, rt *ReplayTick) bool) (*Arena, error) {
	a, err := rp.arenaAt(rp.Start)
	if err != nil {
		return nil, err
	}
	next := 0
	for tick := rp.FirstTick() + 1; tick <= min(until, rp.LastTick); tick++ {
		var cmds []ecs.Command
		var rt *ReplayTick
		if next < len(rp.Ticks) && rp.Ticks[next].Tick == tick {
			rt = &rp.Ticks[next]
			cmds = rt.Commands
			next++
		}
		if err := a.stepRecorded(cmds); err != nil {
			return nil, err
		}
		if each != nil && !each(a, tick, rt) {
			break
		}
	}
	return a, nil
}
