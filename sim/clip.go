package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shatter/shatter/ecs"
)

// ClipOptions configure a ClipRing.
type ClipOptions struct {
	// Dir holds the ring's segments (created if missing). Each arena's
	// ring owns the files it makes there, named by arena, seed and tick.
	Dir string
	// Minutes is how far back a clip may reach: the ring keeps that much
	// play, and up to two segments more.
	Minutes float64
	// MaxBytes caps the ring's segments on disk (the oldest go first);
	// 0 for no cap beyond Minutes.
	MaxBytes int64
	// Logger receives the ring's troubles (a segment that could not be
	// written or removed); discarded if nil.
	Logger *slog.Logger
}

// ClipRing keeps the last minutes of an arena's play on disk, so that an
// operator can cut a clip of any arena after something odd happened,
// without recording everything all the time (-record). It writes the
// arena's log in segments, one per keyframe period (Options.KeyframeEvery,
// a minute by default): each segment is a log of its own that starts at a
// keyframe, written by a Recorder of its own with all of its guarantees
// (the tick never waits for the disk). Segments older than Minutes, or
// beyond MaxBytes, are removed. Clip joins the newest segments into one
// standalone log.
//
// The arena goroutine drives the ring (begin, beginTick, endTick, rotate,
// close); Clip may be called from any goroutine.
type ClipRing struct {
	opts ClipOptions
	log  *slog.Logger

	// Static once begun.
	arena int
	seed  uint64
	cfg   ecs.Config
	keep  int // segments kept: Minutes of them, and the one being written

	// Owned by the arena goroutine.
	cur *Recorder

	// mu guards segments and the closers' count.
	mu       sync.Mutex
	segments []clipSegment // oldest first; the last is being written
	closers  sync.WaitGroup
}

// clipSegment is one segment file and the tick it starts at.
type clipSegment struct {
	path  string
	start uint64
	// closed is set once its recorder has closed it: its size is final.
	closed bool
	size   int64
	// done is closed then too.
	done chan struct{}
}

// NewClipRing returns a ring that keeps its segments in opts.Dir. It
// starts with Options.Clips of an arena.
func NewClipRing(opts ClipOptions) *ClipRing {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ClipRing{opts: opts, log: log}
}

// ErrNoClip is returned by Clip when the ring holds no play to cut.
var ErrNoClip = errors.New("no play recorded to cut a clip from")

// begin starts the ring at the arena's first state. Called by New.
func (c *ClipRing) begin(arena int, seed uint64, cfg *ecs.Config, segmentTicks uint64, start Keyframe) error {
	c.arena, c.seed, c.cfg = arena, seed, *cfg
	minutesTicks := c.opts.Minutes * 60 * float64(cfg.TickRate)
	// Whole segments for the minutes asked, the one being written, and
	// one more for the flush the newest may still wait for.
	c.keep = int(minutesTicks/float64(segmentTicks)+0.999999) + 2
	if err := os.MkdirAll(c.opts.Dir, 0o755); err != nil {
		return err
	}
	// Segments of an earlier arena of this id and seed are not this
	// one's: a ring joins only what it wrote.
	old, _ := filepath.Glob(filepath.Join(c.opts.Dir, c.prefix()+"*"+ReplayExt))
	for _, p := range old {
		os.Remove(p)
	}
	c.rotate(start)
	return nil
}

func (c *ClipRing) prefix() string {
	return fmt.Sprintf("clip-arena-%d-seed-%d-tick-", c.arena, c.seed)
}

// beginTick and endTick record a tick into the segment being written, as
// a Recorder's do. A segment whose writer fell behind or failed ends
// there; the ring goes on with the next segment.
func (c *ClipRing) beginTick(tick uint64, cmds []ecs.Command) {
	if err := c.cur.beginTick(tick, cmds); err != nil {
		c.log.Error("clip ring segment stopped; the next segment starts at the next keyframe", "arena", c.arena, "tick", tick, "err", err)
	}
}

func (c *ClipRing) endTick(hash uint64) { c.cur.endTick(hash, nil) }

// rotate closes the segment being written, if any, at the keyframe's
// tick and starts the next one there. Its file is created and written by
// the new recorder's writer, and the old one is closed by a goroutine of
// the ring's, so that the tick never waits for the disk.
func (c *ClipRing) rotate(kf Keyframe) {
	seg := clipSegment{path: filepath.Join(c.opts.Dir, fmt.Sprintf("%s%012d%s", c.prefix(), kf.Tick, ReplayExt)), start: kf.Tick, done: make(chan struct{})}
	next := newRecorder(&lazyFile{path: seg.path}, RecordQueue, 0)
	next.startFrom(c.arena, c.seed, &c.cfg, kf)
	// Listed before the old one's closer may prune, which counts it.
	c.mu.Lock()
	c.segments = append(c.segments, seg)
	c.mu.Unlock()
	if old := c.cur; old != nil {
		c.closers.Add(1)
		// Owned by the ring; exits when the old segment is closed (at most
		// recordCloseWait after its last write returns) and the ring
		// pruned.
		go func(old *Recorder, end uint64) {
			defer c.closers.Done()
			if err := old.Close(end); err != nil {
				c.log.Error("clip ring segment did not close cleanly", "arena", c.arena, "segment", old.Name(), "err", err)
			}
			// Outside the lock: a hung disk may hold the stat, and must
			// not hold the tick's next rotation with it.
			var size int64
			if fi, err := os.Stat(old.Name()); err == nil {
				size = fi.Size()
			}
			c.mu.Lock()
			for i := range c.segments {
				if s := &c.segments[i]; s.path == old.Name() {
					s.closed, s.size = true, size
					close(s.done)
				}
			}
			c.mu.Unlock()
			c.prune()
		}(old, kf.Tick)
	}
	c.cur = next
}

// prune removes the oldest segments beyond the ring's count and size.
// The segment being written and the one before it always stay.
func (c *ClipRing) prune() {
	c.mu.Lock()
	var drop []string
	for len(c.segments) > 2 {
		var total int64
		for _, s := range c.segments {
			total += s.size
		}
		if len(c.segments) <= c.keep && (c.opts.MaxBytes <= 0 || total <= c.opts.MaxBytes) {
			break
		}
		if !c.segments[0].closed {
			break // Still being closed; the next prune takes it.
		}
		drop = append(drop, c.segments[0].path)
		c.segments = c.segments[1:]
	}
	c.mu.Unlock()
	// A clip that opened a segment before reads on; the file goes with
	// its last handle.
	for _, p := range drop {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			c.log.Error("clip ring: cannot remove an old segment", "path", p, "err", err)
		}
	}
}

// close ends the segment being written and waits, a while at most, for
// the ring's closers. With keep, the segments stay on disk: what was
// recorded before a fault can still be played and cut with cmd/replay
// after the arena is gone (the server clears the directory at its next
// start); otherwise (an arena reaped or shut down) they are removed, so
// that arenas coming and going do not fill the disk. Calling it again
// does nothing.
func (c *ClipRing) close(lastTick uint64, keep bool) error {
	if c.cur == nil {
		return nil
	}
	err := c.cur.Close(lastTick)
	c.cur = nil
	closed := make(chan struct{})
	// Owned by close; exits when the closers have, which a hung disk may
	// delay for ever: close then stops waiting.
	go func() {
		c.closers.Wait()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(recordCloseWait + time.Second):
		c.log.Error("clip ring: a segment closer is stuck on the disk; the arena stops without it", "arena", c.arena)
		return err
	}
	if !keep {
		c.mu.Lock()
		segs := c.segments
		c.segments = nil
		c.mu.Unlock()
		for _, s := range segs {
			if rmErr := os.Remove(s.path); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
				c.log.Error("clip ring: cannot remove a segment", "path", s.path, "err", rmErr)
			}
		}
	}
	return err
}

// Clip joins the last minutes of play (at least that much, from the
// keyframe before; at most what the ring holds) into one replay that
// starts at a keyframe, for Replay.Save. It reads the segments on disk,
// the one being written up to its last flush (a second of play ago at
// most), so it may run while the arena plays.
func (c *ClipRing) Clip(minutes float64) (*Replay, error) {
	c.mu.Lock()
	segs := append([]clipSegment(nil), c.segments...)
	c.mu.Unlock()
	// A segment just ended is closed by a goroutine of the ring within
	// moments: wait for its tail, which the next one does not hold.
	for _, s := range segs[:max(0, len(segs)-1)] {
		select {
		case <-s.done:
		case <-time.After(recordCloseWait):
		}
	}
	var parts []*Replay // newest first
	for i := len(segs) - 1; i >= 0; i-- {
		rp, err := loadSegment(segs[i].path)
		if err != nil {
			// The segment being written may not have reached the disk yet
			// (its file is made by its writer); any other that is gone
			// (pruned meanwhile) or cannot be read ends the clip there.
			if i == len(segs)-1 {
				continue
			}
			break
		}
		if len(parts) > 0 {
			if next := parts[len(parts)-1]; rp.Cut != "" || rp.LastTick != next.Start.Tick {
				break // A gap: the clip is what follows it.
			}
		}
		parts = append(parts, rp)
		if float64(parts[0].LastTick-rp.Start.Tick) >= minutes*60*float64(c.cfg.TickRate) {
			break
		}
	}
	if len(parts) == 0 {
		return nil, ErrNoClip
	}
	clip := &Replay{Arena: c.arena, Seed: c.seed, Checkpoint: 1, Config: c.cfg, Start: parts[len(parts)-1].Start}
	for i := len(parts) - 1; i >= 0; i-- {
		p := parts[i]
		clip.Keyframes = append(clip.Keyframes, *p.Start)
		clip.Ticks = append(clip.Ticks, p.Ticks...)
		clip.LastTick = p.LastTick
	}
	// The segment being written has no end yet: the clip ends at its
	// last whole tick, closed cleanly.
	return clip, nil
}

// loadSegment loads one segment of the ring: a log that starts at a
// keyframe.
func loadSegment(path string) (*Replay, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rp, err := LoadReplay(f)
	if err == nil && rp.Start == nil {
		err = fmt.Errorf("%w: a clip segment without its start keyframe", ErrReplayFormat)
	}
	return rp, err
}

// lazyFile is a file created by its first write: a recorder's writer
// goroutine makes it, not the arena goroutine that starts the recorder.
type lazyFile struct {
	path string
	f    *os.File
}

func (l *lazyFile) Write(p []byte) (int, error) {
	if l.f == nil {
		f, err := os.Create(l.path)
		if err != nil {
			return 0, err
		}
		l.f = f
	}
	return l.f.Write(p)
}

func (l *lazyFile) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// Name is the file's path, for the logs.
func (l *lazyFile) Name() string { return l.path }

// clipSegmentsIn lists the segment files of a ring's directory, for tests
// and tools, sorted by name (and so by arena, seed and tick).
func clipSegmentsIn(dir string) []string {
	var out []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "clip-") && strings.HasSuffix(e.Name(), ReplayExt) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out
}
