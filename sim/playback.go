package sim

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Playback re-runs a recorded match tick by tick for one viewer: the
// arena of the log, stepped with the recorded commands, so that every
// frame is the frame the live arena published (the state hashes match the
// log's). A viewer only reads it; nothing it does (which marble it
// follows, pausing, seeking) is a command, so the simulated state is the
// recording's.
//
// Each viewer has its own Playback, and its own position in the log. A
// Playback is not safe for concurrent use: one goroutine steps it and
// reads its frames (frames themselves may be read from anywhere while
// held, as an arena's).
type Playback struct {
	rp    *Replay
	arena *Arena
	// next is the index in rp.Ticks of the first recorded tick not yet
	// stepped.
	next int
	// feeds holds the feeds of the ticks stepped since TakeFeeds, for the
	// viewer to send; keepFeeds is off while a seek runs through ticks
	// nobody sees.
	feeds     []*Feed
	keepFeeds bool
	cmds      []Command // the recorded commands of a tick, reused
}

// NewPlayback starts playing rp from its start: the arena as it was made,
// before tick 1, or the state of a clip's start keyframe.
func NewPlayback(rp *Replay) (*Playback, error) {
	p := &Playback{rp: rp, keepFeeds: true}
	if err := p.restart(0); err != nil {
		return nil, err
	}
	return p, nil
}

// Tick returns the tick whose state the playback shows (0 before the
// first step).
func (p *Playback) Tick() uint64 { return p.arena.state.Tick }

// LastTick returns the log's last tick: Step goes no further.
func (p *Playback) LastTick() uint64 { return p.rp.LastTick }

// Config returns the recorded arena's rules.
func (p *Playback) Config() Config { return p.arena.Config() }

// Terrain returns the recorded arena's heightmap, as Arena.Terrain.
func (p *Playback) Terrain() (n int, heights []byte) { return p.arena.Terrain() }

// Acquire returns a reference to the frame of the current tick; the
// caller must Release it.
func (p *Playback) Acquire() *Frame { return p.arena.Acquire() }

// Board returns the leaderboard as of the current tick (made once a
// second of the match), or nil before the first.
func (p *Playback) Board() *Board { return p.arena.Board() }

// Step plays the next tick and reports whether there was one: at the
// log's last tick it does nothing and returns false. An error means the
// arena failed to step (a panic in the simulation is not recovered here).
func (p *Playback) Step() (bool, error) {
	if p.Tick() >= p.rp.LastTick {
		return false, nil
	}
	tick := p.Tick() + 1
	p.cmds = p.cmds[:0]
	if p.next < len(p.rp.Ticks) && p.rp.Ticks[p.next].Tick == tick {
		for _, c := range p.rp.Ticks[p.next].Commands {
			// The playback is every recorded session's sink, which is
			// how it hears of the tick's feed. A sink receives events
			// only: the simulation is the same with or without one.
			p.cmds = append(p.cmds, Command{cmd: c, sink: (*playbackSink)(p)})
		}
		p.next++
	}
	if err := p.arena.StepWith(p.cmds...); err != nil {
		// Only a recorder returns errors, and a playback has none.
		return false, err
	}
	return true, nil
}

// Seek brings the playback to tick (the log's last tick at most): forward
// by stepping, backward by starting again from the nearest state before
// it. The ticks in between publish frames and feeds that nobody is sent.
// It returns the tick reached.
func (p *Playback) Seek(tick uint64) (uint64, error) {
	_, err := p.SeekToward(tick, math.MaxInt)
	return p.Tick(), err
}

// SeekToward is Seek in steps of at most most ticks, so that a caller
// can do other work (answer its viewer) while a long seek runs: it
// reports whether the playback is at tick (or the log's last tick, for a
// tick past it). Each call starts again from the nearest state when tick
// is behind the playback, as Seek does.
func (p *Playback) SeekToward(tick uint64, most int) (bool, error) {
	tick = min(max(tick, p.rp.FirstTick()), p.rp.LastTick)
	// Back, or forward past a keyframe: start at the keyframe, which
	// saves replaying every tick before it.
	if kf := p.rp.From(tick); tick < p.Tick() || (kf != nil && kf.Tick > p.Tick()) {
		if err := p.restart(tick); err != nil {
			return false, err
		}
	}
	p.keepFeeds = false
	defer func() { p.keepFeeds = true }()
	for n := 0; p.Tick() < tick && n < most; n++ {
		if _, err := p.Step(); err != nil {
			return false, err
		}
	}
	p.feeds = p.feeds[:0]
	return p.Tick() == tick, nil
}

// restart puts the playback at the nearest state it can start from at or
// before tick: the latest keyframe there (a minute of play apart in a
// recorded log), or the log's start. So a seek replays at most the ticks
// between two keyframes.
func (p *Playback) restart(tick uint64) error {
	kf := p.rp.From(max(tick, p.rp.FirstTick()))
	a, err := p.rp.arenaAt(kf)
	if err != nil {
		return fmt.Errorf("replay playback: %w", err)
	}
	// The sessions a keyframe holds joined before it: the playback hears
	// of their feeds as it does of those that join after (Step).
	for i := range a.state.Sessions {
		a.sinks[a.state.Sessions[i].ID] = (*playbackSink)(p)
	}
	p.arena = a
	p.next = sort.Search(len(p.rp.Ticks), func(i int) bool { return p.rp.Ticks[i].Tick > a.state.Tick })
	p.feeds = p.feeds[:0]
	return nil
}

// TakeFeeds appends the feeds of the ticks played since the last call to
// dst, oldest first, and forgets them. Feeds of ticks a Seek ran through
// are not kept.
func (p *Playback) TakeFeeds(dst []*Feed) []*Feed {
	dst = append(dst, p.feeds...)
	clear(p.feeds)
	p.feeds = p.feeds[:0]
	return dst
}

// PlaybackPlayer is a player's marble in a playback's frame.
type PlaybackPlayer struct {
	ID   uint32 // the marble's network id
	Name string
}

// Players appends to dst the players whose marbles roll in frame f,
// by name, then id: the players a viewer of a match may pick to follow.
func Players(f *Frame, dst []PlaybackPlayer) []PlaybackPlayer {
	for i := range f.Players {
		if pl := &f.Players[i]; pl.Alive {
			dst = append(dst, PlaybackPlayer{ID: pl.Entity.ID, Name: pl.Entity.Name})
		}
	}
	slices.SortFunc(dst, func(a, b PlaybackPlayer) int {
		if c := cmp.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return dst
}

// playbackSink is a Playback seen as the sink of every recorded session.
// The arena calls it on the goroutine that steps the playback.
type playbackSink Playback

func (s *playbackSink) FrameReady(uint64) {}
func (s *playbackSink) Died(Died)         {}
func (s *playbackSink) Board(*Board)      {}
func (s *playbackSink) Departed(Departed) {}

// Feed keeps a tick's feed once: the arena hands the same feed to every
// session's sink, and they are all this one.
func (s *playbackSink) Feed(f *Feed) {
	if !s.keepFeeds {
		return
	}
	if n := len(s.feeds); n > 0 && s.feeds[n-1] == f {
		return
	}
	s.feeds = append(s.feeds, f)
}
