package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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
	return New(opts)
}

// WriteReplay writes rp as a log of its own, in the format LoadReplay
// reads: how a clip cut from a clip ring's segments is made.
func WriteReplay(w io.Writer, rp *Replay) error {
	if _, err := w.Write(binary.LittleEndian.AppendUint16([]byte(replayMagic), ReplayVersion)); err != nil {
		return err
	}
	enc, err := newLogEncoder(w)
	if err != nil {
		return err
	}
	head, err := encodeHeader(rp.Arena, rp.Seed, &rp.Config)
	if err != nil {
		return err
	}
	buf := appendRecord(nil, recHeader, head)
	prev := rp.FirstTick()
	keys := rp.Keyframes
	if rp.Start != nil {
		buf = appendKeyframeRecord(buf, rp.Start.Tick, rp.Start.Data)
		if len(keys) > 0 && keys[0].Tick == rp.Start.Tick {
			keys = keys[1:]
		}
	}
	codes := sessionCodes{}
	for i := range rp.Ticks {
		rt := &rp.Ticks[i]
		buf = appendTickRecord(buf, rt.Tick-prev, rt.Hash, rt.HasHash, rt.Commands, codes)
		prev = rt.Tick
		for len(keys) > 0 && keys[0].Tick <= rt.Tick {
			if keys[0].Tick == rt.Tick {
				buf = appendKeyframeRecord(buf, rt.Tick, keys[0].Data)
			}
			keys = keys[1:]
		}
		if len(buf) > 1<<20 {
			if _, err := enc.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if rp.Cut == "" {
		buf = appendRecord(buf, recEnd, binary.AppendUvarint(nil, rp.LastTick))
	}
	if _, err := enc.Write(buf); err != nil {
		return err
	}
	return enc.Close()
}
