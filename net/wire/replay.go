package wire

import (
	"math"

	"github.com/shatter/shatter/sim"
)

// ReplayOp is a replay viewer's `replay.op` (PROTOCOL.md "Replay viewer").
type ReplayOp string

// The replay ops.
const (
	ReplayPause ReplayOp = "pause"
	ReplayPlay  ReplayOp = "play"
	ReplaySpeed ReplayOp = "speed" // Arg: the speed, MinReplaySpeed to MaxReplaySpeed
	ReplaySeek  ReplayOp = "seek"  // Arg: the tick, a whole number >= 0
)

// The speeds a replay viewer may ask for: a quarter to eight times the
// recorded tick rate.
const (
	MinReplaySpeed = 0.25
	MaxReplaySpeed = 8
)

var replayOps = [...]ReplayOp{ReplayPause, ReplayPlay, ReplaySpeed, ReplaySeek}

// ReplayControl is the client's `replay` message: what a viewer does with
// the playback. The decoder checks the op and its argument, so a server
// acts on any ReplayControl it decodes as it is.
type ReplayControl struct {
	Op  ReplayOp
	Arg float64 // the speed, or the tick to seek to; 0 for pause and play
}

// ReplayStatus is the server's `replay` message: where a viewer's
// playback stands.
type ReplayStatus struct {
	Tick    uint64 // the tick playback shows
	Last    uint64 // the log's last tick
	Speed   float64
	Paused  bool
	Players []sim.PlaybackPlayer // `players`, [[id, name]]
}

// AppendReplay appends a client's replay message to dst and returns the
// extended slice. The arg key is left out for pause and play.
func (e *Encoder) AppendReplay(dst []byte, r *ReplayControl) []byte {
	withArg := r.Op == ReplaySpeed || r.Op == ReplaySeek
	fields := 1
	if withArg {
		fields++
	}
	e.begin(dst, TypeReplay, fields)
	e.str("op")
	e.str(string(r.Op))
	if withArg {
		e.str("arg")
		e.number(r.Arg)
	}
	return e.end()
}

// AppendReplayStatus appends the server's replay message to dst and
// returns the extended slice.
func (e *Encoder) AppendReplayStatus(dst []byte, s *ReplayStatus) []byte {
	e.begin(dst, TypeReplay, 5)
	e.str("tick")
	e.uint(s.Tick)
	e.str("last")
	e.uint(s.Last)
	e.str("speed")
	e.number(s.Speed)
	e.str("paused")
	e.bool(s.Paused)
	e.str("players")
	e.arrayLen(len(s.Players))
	for _, p := range s.Players {
		e.arrayLen(2)
		e.uint(uint64(p.ID))
		e.str(p.Name)
	}
	return e.end()
}

// replayFields records which replay fields a frame carried.
type replayFields uint8

const (
	seenOp replayFields = 1 << iota
	seenArg
)

func (d *Decoder) replayField(key []byte, r *ReplayControl, seen *replayFields) error {
	var err error
	switch string(key) {
	case "op":
		var name []byte
		if name, err = d.stringBytes(); err == nil {
			r.Op = replayOpNamed(name)
			if r.Op == "" {
				err = ErrOutOfRange
			}
		}
		*seen |= seenOp
	case "arg":
		r.Arg, err = d.number()
		if err == nil && (math.IsNaN(r.Arg) || math.IsInf(r.Arg, 0)) {
			err = ErrNotFinite
		}
		*seen |= seenArg
	default:
		err = d.skip()
	}
	return err
}

// checkReplay returns the error for a replay message without its op, or
// whose op lacks its argument or has one out of its range.
func checkReplay(r *ReplayControl, seen replayFields) error {
	if seen&seenOp == 0 {
		return badMessage("op", ErrMissing)
	}
	switch r.Op {
	case ReplaySpeed:
		if seen&seenArg == 0 {
			return badMessage("arg", ErrMissing)
		}
		if r.Arg < MinReplaySpeed || r.Arg > MaxReplaySpeed {
			return badMessage("arg", ErrOutOfRange)
		}
	case ReplaySeek:
		if seen&seenArg == 0 {
			return badMessage("arg", ErrMissing)
		}
		if r.Arg < 0 || r.Arg != math.Trunc(r.Arg) || r.Arg > 1<<53 {
			return badMessage("arg", ErrOutOfRange)
		}
	default:
		r.Arg = 0
	}
	return nil
}

// replayOpNamed returns the op named name, or "".
func replayOpNamed(name []byte) ReplayOp {
	for _, op := range replayOps {
		if string(name) == string(op) {
			return op
		}
	}
	return ""
}

func (d *Decoder) replayStatusField(key []byte, s *ReplayStatus) error {
	var err error
	switch string(key) {
	case "tick":
		s.Tick, err = uintField[uint64](d)
	case "last":
		s.Last, err = uintField[uint64](d)
	case "speed":
		s.Speed, err = d.number()
	case "paused":
		s.Paused, err = d.bool()
	case "players":
		s.Players, err = list(d, s.Players, (*Decoder).replayPlayer)
	default:
		err = d.skip()
	}
	return err
}

// replayPlayer decodes a row of `players`, [id, name]; elements after the
// two it knows are skipped.
func (d *Decoder) replayPlayer(p *sim.PlaybackPlayer) error {
	extra, err := d.record(2)
	if err != nil {
		return err
	}
	if p.ID, err = uintField[uint32](d); err != nil {
		return err
	}
	if p.Name, err = d.string(p.Name); err != nil {
		return err
	}
	return d.skipN(extra)
}
