package sim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/shatter/shatter/ecs"
)

// ReplayFormat and ReplayVersion head every replay log. A log of another
// version is refused rather than misread.
const (
	ReplayFormat  = "shatter-replay"
	ReplayVersion = 1
)

// replayHeader is a log's first line.
type replayHeader struct {
	Format     string     `json:"format"`
	Version    int        `json:"version"`
	Arena      int        `json:"arena"`
	Seed       uint64     `json:"seed"`
	Checkpoint int        `json:"checkpoint_every"`
	Config     ecs.Config `json:"config"`
}

// replayTick is a line for one tick: the commands applied at its start, and
// the state hash after it when it is a checkpoint. Ticks with neither are
// not written. The last line has End set: the tick the recording stopped at.
type replayTick struct {
	Tick uint64        `json:"tick"`
	Cmds []ecs.Command `json:"cmds,omitempty"`
	Hash string        `json:"hash,omitempty"`
	End  bool          `json:"end,omitempty"`
}

// Recorder writes an arena's replay log: a JSON-lines file that holds the
// seed, the config and every tick's commands, with the state hash every
// Checkpoint ticks. JSON keeps logs readable in a bug report; float64
// angles round-trip exactly through encoding/json.
//
// Owned by the arena goroutine.
type Recorder struct {
	w          *bufio.Writer
	closer     io.Closer
	checkpoint uint64
	line       replayTick
	closed     bool
	err        error
}

// NewRecorder writes a replay log to w with a state hash every checkpoint
// ticks (30 if zero). If w is an io.Closer, Close closes it.
func NewRecorder(w io.Writer, checkpoint int) *Recorder {
	if checkpoint <= 0 {
		checkpoint = 30
	}
	r := &Recorder{w: bufio.NewWriterSize(w, 64<<10), checkpoint: uint64(checkpoint)}
	if c, ok := w.(io.Closer); ok {
		r.closer = c
	}
	return r
}

func (r *Recorder) writeLine(v any) error {
	if r.err != nil {
		return r.err
	}
	b, err := json.Marshal(v)
	if err == nil {
		_, err = r.w.Write(append(b, '\n'))
	}
	r.err = err
	return err
}

func (r *Recorder) writeHeader(arena int, seed uint64, cfg *ecs.Config) error {
	return r.writeLine(replayHeader{Format: ReplayFormat, Version: ReplayVersion, Arena: arena, Seed: seed, Checkpoint: int(r.checkpoint), Config: *cfg})
}

// beginTick notes the commands of a tick; they are written with its hash.
func (r *Recorder) beginTick(tick uint64, cmds []ecs.Command) {
	r.line.Tick = tick
	r.line.Cmds = append(r.line.Cmds[:0], cmds...)
}

func (r *Recorder) endTick(tick uint64, hash uint64) error {
	r.line.Hash = ""
	if tick%r.checkpoint == 0 {
		r.line.Hash = formatHash(hash)
	}
	if len(r.line.Cmds) == 0 && r.line.Hash == "" {
		return r.err
	}
	return r.writeLine(&r.line)
}

// Close writes the end line, flushes and closes the log. Calling it again
// does nothing.
func (r *Recorder) Close(lastTick uint64) error {
	if r.closed {
		return r.err
	}
	r.closed = true
	_ = r.writeLine(replayTick{Tick: lastTick, End: true})
	if err := r.w.Flush(); err != nil && r.err == nil {
		r.err = err
	}
	if r.closer != nil {
		if err := r.closer.Close(); err != nil && r.err == nil {
			r.err = err
		}
	}
	return r.err
}

func formatHash(h uint64) string { return fmt.Sprintf("%016x", h) }

// Replay is a loaded replay log.
type Replay struct {
	Arena      int
	Seed       uint64
	Checkpoint int
	Config     ecs.Config
	// Ticks holds the recorded lines in tick order.
	Ticks []ReplayTick
	// LastTick is the last tick recorded (the end line's, or the last
	// line's if the recording was cut off).
	LastTick uint64
}

// ReplayTick is one recorded tick.
type ReplayTick struct {
	Tick     uint64
	Commands []ecs.Command
	Hash     uint64
	HasHash  bool
}

// ErrReplayFormat is wrapped by every error about a malformed replay log.
var ErrReplayFormat = errors.New("bad replay log")

// LoadReplay reads a replay log.
func LoadReplay(r io.Reader) (*Replay, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: empty", ErrReplayFormat)
	}
	var h replayHeader
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrReplayFormat, err)
	}
	if h.Format != ReplayFormat || h.Version != ReplayVersion {
		return nil, fmt.Errorf("%w: format %q version %d, want %q version %d", ErrReplayFormat, h.Format, h.Version, ReplayFormat, ReplayVersion)
	}
	if err := h.Config.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrReplayFormat, err)
	}
	rp := &Replay{Arena: h.Arena, Seed: h.Seed, Checkpoint: h.Checkpoint, Config: h.Config}
	for line := 2; sc.Scan(); line++ {
		var t replayTick
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrReplayFormat, line, err)
		}
		if t.Tick == 0 || t.Tick < rp.LastTick || (t.Tick == rp.LastTick && !t.End) {
			return nil, fmt.Errorf("%w: line %d: tick %d after tick %d", ErrReplayFormat, line, t.Tick, rp.LastTick)
		}
		rp.LastTick = t.Tick
		if t.End {
			break
		}
		rt := ReplayTick{Tick: t.Tick, Commands: t.Cmds}
		if t.Hash != "" {
			v, err := strconv.ParseUint(t.Hash, 16, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: hash %q", ErrReplayFormat, line, t.Hash)
			}
			rt.Hash, rt.HasHash = v, true
		}
		rp.Ticks = append(rp.Ticks, rt)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return rp, nil
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
	a, err := New(Options{ID: rp.Arena, Config: rp.Config, Seed: rp.Seed})
	if err != nil {
		return nil, err
	}
	res := &ReplayResult{}
	next := 0
	for tick := uint64(1); tick <= rp.LastTick; tick++ {
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
		res.Ticks = tick
		if rt != nil && rt.HasHash {
			f := a.Acquire()
			cp := Checkpoint{Tick: tick, Want: rt.Hash, Got: f.Hash}
			f.Release()
			res.Checkpoints = append(res.Checkpoints, cp)
			if onCheckpoint != nil {
				onCheckpoint(cp)
			}
			if !cp.OK() {
				res.Diverged = &res.Checkpoints[len(res.Checkpoints)-1]
				return res, nil
			}
		}
	}
	return res, nil
}
