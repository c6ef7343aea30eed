package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Keyframe is an arena's whole state after a tick, as a replay log
// carries it (Arena.AppendKeyframe): an arena started from it
// (Options.Keyframe) plays on exactly as the recorded one did.
type Keyframe struct {
	Tick uint64
	Data []byte
}

// DefaultKeyframeEvery is how often, in seconds of play, a replay log
// carries a keyframe and a clip ring starts a segment, unless
// Options.KeyframeEvery says otherwise: once a minute, a few KB a second
// of log at most, and a seek never replays more than a minute.
const DefaultKeyframeEvery = 60

func appendKeyframeRecord(b []byte, tick uint64, data []byte) []byte {
	b = append(b, recKeyframe)
	b = binary.AppendUvarint(b, uint64(binary.PutUvarint(make([]byte, binary.MaxVarintLen64), tick)+len(data)))
	b = binary.AppendUvarint(b, tick)
	return append(b, data...)
}

func decodeKeyframe(p []byte) (Keyframe, error) {
	tick, n := binary.Uvarint(p)
	if n <= 0 {
		return Keyframe{}, errors.New("keyframe without its tick")
	}
	// The payload buffer is reused for the next record: keep a copy.
	return Keyframe{Tick: tick, Data: append([]byte(nil), p[n:]...)}, nil
}

// From returns the latest keyframe at or before tick, or nil when the
// log has none there (a player then begins at the log's start: the seed's
// tick 0).
func (rp *Replay) From(tick uint64) *Keyframe {
	i := sort.Search(len(rp.Keyframes), func(i int) bool { return rp.Keyframes[i].Tick > tick })
	if i == 0 {
		return nil
	}
	return &rp.Keyframes[i-1]
}

// FirstTick is the tick the log's state begins at: its start keyframe's,
// or 0.
func (rp *Replay) FirstTick() uint64 {
	if rp.Start != nil {
		return rp.Start.Tick
	}
	return 0
}

// arenaAt returns a headless arena at the state of kf (the log's seed
// state if nil), for playback.
func (rp *Replay) arenaAt(kf *Keyframe) (*Arena, error) {
	opts := Options{ID: rp.Arena, Config: rp.Config, Seed: rp.Seed}
	if kf != nil {
		opts.Keyframe = kf.Data
	} else if rp.Start != nil {
		return nil, fmt.Errorf("%w: the log starts at tick %d: it cannot be played from tick 0", ErrReplayFormat, rp.Start.Tick)
	}
	a, err := New(opts)
	if err == nil && kf != nil && a.state.Tick != kf.Tick {
		return nil, fmt.Errorf("%w: the keyframe of tick %d holds the state of tick %d", ErrReplayFormat, kf.Tick, a.state.Tick)
	}
	return a, err
}
