package sim

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/klauspost/compress/zstd"
	"github.com/shatter/shatter/ecs"
)

// A replay log (version 2) is:
//
//	"SHATRPL\n"  8 bytes of magic, which is how a log is recognised
//	version      uint16, little-endian
//	zstd stream  of records, flushed about once a second of play
//
// Each record is a kind byte, its payload's length as a uvarint, and the
// payload, so a reader skips the kinds it does not know: a record kind may
// be added (a keyframe of the whole state, say) without a new version, as
// long as the records before it keep their meaning. The records:
//
//	header  JSON {"arena", "seed", "config"}: always first, once
//	tick    uvarint ticks since the previous tick record (the first counts
//	        from tick 0), a flags byte (bit 0: a state hash follows), the
//	        hash as uint64 little-endian, uvarint number of commands, then
//	        the commands
//	end     uvarint the last tick of the recording: written by a clean close
//
// A command is a byte (its kind in the low 4 bits, the boost wish in bit
// 4), the session as a uvarint, then by kind: join the name (uvarint
// length, bytes); input the seq and the turn as zigzag varints of their
// change since the same session's previous input in the log (a session's
// first input counts from 0; a join, a leave and a depart start the
// session afresh), the turn's change taken modulo 65536 into -32768..32767;
// arrive the mass as float64 bits, little-endian. The deltas make a steady
// stream of inputs a few bytes each before compression.
//
// A log cut short (the process died while recording) ends at the last tick
// it holds whole: the loader takes every record before the cut and drops a
// tail that the stream or a record leaves unfinished.

// replayMagic opens every replay log of version 2 on.
const replayMagic = "SHATRPL\n"

// ReplayExt is the file name ending of the logs a server records. Logs
// are recognised by their content, not their name: it only helps people.
const ReplayExt = ".replay"

// ReplayVersion is the version of the format written. A log of another
// version is refused rather than misread.
const ReplayVersion = 2

// Record kinds.
const (
	recHeader byte = 1
	recTick   byte = 2
	recEnd    byte = 3
	// recKeyframe holds the arena's whole state after a tick (ecs's
	// keyframe): the tick as a uvarint, then the keyframe. It follows its
	// tick's record, or comes right after the header in a log that starts
	// there (a clip), whose first tick record then counts from it.
	recKeyframe byte = 4
)

const tickHasHash = 1

// maxRecord bounds a record's length, so that a corrupt length cannot
// make the loader allocate without limit. A tick record of every
// session's commands is far smaller.
const maxRecord = 64 << 20

// maxTick bounds the ticks a log may name (290 years at 120 Hz), so that
// a damaged log cannot send a playback looping for ever.
const maxTick = 1 << 40

// replayHeader is a log's first record.
type replayHeader struct {
	Arena  int        `json:"arena"`
	Seed   uint64     `json:"seed"`
	Config ecs.Config `json:"config"`
}

// IsReplayLog reports whether data (a file's first bytes; 8 are enough)
// begins as a replay log does, of any version this build knows of
// (version 1 was JSON lines with a header naming its format).
func IsReplayLog(data []byte) bool {
	if len(data) >= len(replayMagic) && string(data[:len(replayMagic)]) == replayMagic {
		return true
	}
	const v1 = `{"format":"shatter-replay"`
	n := min(len(data), len(v1))
	return n >= 8 && string(data[:n]) == v1[:n]
}

// sessionCodes is what the command codec remembers of each session: its
// previous input's seq and turn. The encoder and the decoder keep it alike.
type sessionCodes map[uint32]sessionCode

type sessionCode struct {
	seq  uint32
	turn uint16
}

// forget starts a session afresh at a join (a resumed connection numbers
// its inputs from 1 again), a leave or a depart, which also keeps the map
// as small as the sessions in the arena.
func (s sessionCodes) forget(c *ecs.Command) {
	switch c.Kind {
	case ecs.CmdJoin, ecs.CmdLeave, ecs.CmdDepart:
		delete(s, c.Session)
	}
}

// appendTickRecord appends a tick record to b.
func appendTickRecord(b []byte, delta uint64, hash uint64, hasHash bool, cmds []ecs.Command, codes sessionCodes) []byte {
	b = append(b, recTick, 0, 0, 0, 0) // the length, patched below
	start := len(b)
	b = binary.AppendUvarint(b, delta)
	if hasHash {
		b = append(b, tickHasHash)
		b = binary.LittleEndian.AppendUint64(b, hash)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(cmds)))
	for i := range cmds {
		b = appendCommand(b, &cmds[i], codes)
	}
	return patchLength(b, start)
}

// patchLength writes the length of b[start:] as a 4-byte padded uvarint
// before it: uvarints may carry redundant 0x80 bytes, so the length never
// has to move the payload.
func patchLength(b []byte, start int) []byte {
	n := uint32(len(b) - start)
	l := b[start-4 : start]
	l[0] = byte(n) | 0x80
	l[1] = byte(n>>7) | 0x80
	l[2] = byte(n>>14) | 0x80
	l[3] = byte(n >> 21)
	return b
}

func appendCommand(b []byte, c *ecs.Command, codes sessionCodes) []byte {
	head := byte(c.Kind) & 0x0f
	if c.Boost {
		head |= 0x10
	}
	b = append(b, head)
	b = binary.AppendUvarint(b, uint64(c.Session))
	switch c.Kind {
	case ecs.CmdJoin:
		b = binary.AppendUvarint(b, uint64(len(c.Name)))
		b = append(b, c.Name...)
	case ecs.CmdInput:
		prev := codes[c.Session]
		b = binary.AppendVarint(b, int64(c.Seq)-int64(prev.seq))
		b = binary.AppendVarint(b, int64(int16(c.Turn-prev.turn)))
		codes[c.Session] = sessionCode{seq: c.Seq, turn: c.Turn}
	case ecs.CmdArrive:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.Mass))
	}
	codes.forget(c)
	return b
}

// appendRecord appends a record of the given kind and payload.
func appendRecord(b []byte, kind byte, payload []byte) []byte {
	b = append(b, kind)
	b = binary.AppendUvarint(b, uint64(len(payload)))
	return append(b, payload...)
}

// newLogEncoder makes the compressor of a log: one goroutine's worth
// (encoding happens on the recorder's writer goroutine, never beside it),
// a window of 256 KiB and the encoder's lower-memory tables: about 2.5 MiB
// an arena. A larger window or a higher level saves under 1% of a full
// arena's log (measured on a 150-bot match) and costs twice the memory.
func newLogEncoder(w io.Writer) (*zstd.Encoder, error) {
	return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(256<<10),
		zstd.WithLowerEncoderMem(true), zstd.WithEncoderLevel(zstd.SpeedDefault))
}

// ErrReplayFormat is wrapped by every error about a malformed replay log.
var ErrReplayFormat = errors.New("bad replay log")

// LoadReplay reads a replay log, recognised by its content. A log cut
// short ends at the last tick it holds whole. A version 1 log (JSON
// lines, from builds before the state hash covered every component) and
// a log of an unknown version are refused with an error that says so.
func LoadReplay(r io.Reader) (*Replay, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(len(replayMagic) + 2)
	if len(head) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrReplayFormat)
	}
	if string(head[:min(len(head), len(replayMagic))]) != replayMagic {
		if IsReplayLog(head) {
			return nil, fmt.Errorf("%w: version 1 (JSON lines); this build reads version %d only: its state hashes are not this build's, so re-record the match (go test ./sim -run TestReplays -update does for the scripted logs)", ErrReplayFormat, ReplayVersion)
		}
		return nil, fmt.Errorf("%w: not a Shatter replay log (no %q at its start)", ErrReplayFormat, replayMagic[:len(replayMagic)-1])
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v reading the version", ErrReplayFormat, err)
	}
	if v := binary.LittleEndian.Uint16(head[len(replayMagic):]); v != ReplayVersion {
		return nil, fmt.Errorf("%w: version %d; this build reads version %d only", ErrReplayFormat, v, ReplayVersion)
	}
	br.Discard(len(head))
	// The recorder's window is 256 KiB; a stream that asks for more than
	// 8 MiB is not one of ours, and must not make the loader take the
	// memory.
	dec, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(8<<20))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	return readRecords(bufio.NewReaderSize(dec, 64<<10))
}

// readRecords reads the records of a log's decompressed stream.
func readRecords(r *bufio.Reader) (*Replay, error) {
	var rp *Replay
	codes := sessionCodes{}
	var payload []byte
	for n := 1; ; n++ {
		kind, err := r.ReadByte()
		if err == nil {
			payload, err = readPayload(r, payload)
		}
		if err != nil {
			if errors.Is(err, ErrReplayFormat) {
				return nil, err
			}
			if rp == nil {
				return nil, fmt.Errorf("%w: no header: %v", ErrReplayFormat, err)
			}
			// No end record: the recording was cut (or the stream is
			// damaged from here on). The log ends at the last tick it
			// holds whole, and says why.
			rp.Cut = err.Error()
			if err == io.EOF {
				rp.Cut = "the log has no end record"
			}
			return rp, nil
		}
		switch {
		case rp == nil && kind != recHeader:
			return nil, fmt.Errorf("%w: record 1 is of kind %d, not the header", ErrReplayFormat, kind)
		case kind == recHeader:
			if rp != nil {
				return nil, fmt.Errorf("%w: record %d: a second header", ErrReplayFormat, n)
			}
			var h replayHeader
			if err := json.Unmarshal(payload, &h); err != nil {
				return nil, fmt.Errorf("%w: header: %v", ErrReplayFormat, err)
			}
			if err := h.Config.Validate(); err != nil {
				return nil, fmt.Errorf("%w: header: %v", ErrReplayFormat, err)
			}
			rp = &Replay{Arena: h.Arena, Seed: h.Seed, Checkpoint: 1, Config: h.Config}
		case kind == recTick:
			rt, err := decodeTick(payload, rp.LastTick, codes)
			if err != nil {
				return nil, fmt.Errorf("%w: record %d: %v", ErrReplayFormat, n, err)
			}
			rp.Ticks = append(rp.Ticks, rt)
			rp.LastTick = rt.Tick
		case kind == recKeyframe:
			kf, err := decodeKeyframe(payload)
			if err != nil {
				return nil, fmt.Errorf("%w: record %d: %v", ErrReplayFormat, n, err)
			}
			switch {
			case kf.Tick > maxTick || len(kf.Data) > ecs.MaxKeyframeSize:
				return nil, fmt.Errorf("%w: record %d: a keyframe of tick %d, %d bytes", ErrReplayFormat, n, kf.Tick, len(kf.Data))
			case len(rp.Ticks) == 0 && len(rp.Keyframes) == 0:
				// The log starts here.
				rp.Start, rp.LastTick = &kf, kf.Tick
			case kf.Tick != rp.LastTick || (len(rp.Keyframes) > 0 && rp.Keyframes[len(rp.Keyframes)-1].Tick == kf.Tick):
				return nil, fmt.Errorf("%w: record %d: a keyframe of tick %d after tick %d", ErrReplayFormat, n, kf.Tick, rp.LastTick)
			}
			rp.Keyframes = append(rp.Keyframes, kf)
		case kind == recEnd:
			end, k := binary.Uvarint(payload)
			if k <= 0 || end < rp.LastTick || end > maxTick {
				return nil, fmt.Errorf("%w: record %d: end at tick %d after tick %d", ErrReplayFormat, n, end, rp.LastTick)
			}
			rp.LastTick = end
			return rp, nil
		}
	}
}

// readPayload reads a record's length and payload into buf.
func readPayload(r *bufio.Reader, buf []byte) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err == io.EOF {
		return nil, io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	if n > maxRecord {
		return nil, fmt.Errorf("%w: a record of %d bytes", ErrReplayFormat, n)
	}
	if uint64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// decodeTick decodes a tick record that follows tick prev.
func decodeTick(p []byte, prev uint64, codes sessionCodes) (ReplayTick, error) {
	d := decoder{p: p}
	delta := d.uvarint()
	if delta == 0 && d.err == nil {
		return ReplayTick{}, fmt.Errorf("tick %d again", prev)
	}
	if delta > maxTick-prev {
		return ReplayTick{}, fmt.Errorf("a tick %d ticks after tick %d is beyond any recording", delta, prev)
	}
	rt := ReplayTick{Tick: prev + delta}
	if d.byte()&tickHasHash != 0 {
		rt.Hash, rt.HasHash = d.uint64(), true
	}
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.p)) {
		return ReplayTick{}, fmt.Errorf("tick %d: %d commands in %d bytes", rt.Tick, n, len(d.p))
	}
	if n > 0 {
		rt.Commands = make([]ecs.Command, 0, n)
	}
	for range n {
		if d.err != nil {
			break
		}
		rt.Commands = append(rt.Commands, d.command(codes))
	}
	if d.err != nil {
		return ReplayTick{}, fmt.Errorf("tick %d: %v", rt.Tick, d.err)
	}
	if len(d.p) != 0 {
		return ReplayTick{}, fmt.Errorf("tick %d: %d bytes left over", rt.Tick, len(d.p))
	}
	return rt, nil
}

// decoder reads the fields of one record, keeping its first error.
type decoder struct {
	p   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("truncated %s", what)
	}
	d.p = nil
}

func (d *decoder) byte() byte {
	if len(d.p) < 1 {
		d.fail("byte")
		return 0
	}
	v := d.p[0]
	d.p = d.p[1:]
	return v
}

func (d *decoder) uint64() uint64 {
	if len(d.p) < 8 {
		d.fail("uint64")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.p)
	d.p = d.p[8:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.p)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.p)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *decoder) command(codes sessionCodes) ecs.Command {
	head := d.byte()
	c := ecs.Command{Kind: ecs.CommandKind(head & 0x0f), Boost: head&0x10 != 0}
	s := d.uvarint()
	if s > math.MaxUint32 {
		d.err = fmt.Errorf("session %d", s)
	}
	c.Session = uint32(s)
	switch c.Kind {
	case ecs.CmdJoin:
		n := d.uvarint()
		if n > uint64(len(d.p)) {
			d.fail("name")
			break
		}
		c.Name = string(d.p[:n])
		d.p = d.p[n:]
	case ecs.CmdInput:
		prev := codes[c.Session]
		c.Seq = uint32(int64(prev.seq) + d.varint())
		c.Turn = prev.turn + uint16(d.varint())
		codes[c.Session] = sessionCode{seq: c.Seq, turn: c.Turn}
	case ecs.CmdArrive:
		c.Mass = math.Float64frombits(d.uint64())
	case ecs.CmdLeave, ecs.CmdSpawn, ecs.CmdDetach, ecs.CmdDepart:
	default:
		if d.err == nil {
			d.err = fmt.Errorf("unknown command kind %d", c.Kind)
		}
	}
	codes.forget(&c)
	return c
}

// Save writes the replay as a log of the current version: the same start
// and keyframes, ticks, commands and hashes, closed with an end record at
// LastTick. It converts, trims, cuts clips from a clip ring's segments
// (ClipRing.Clip) and (in tests) alters logs; recording goes through a
// Recorder. Like a recording, the stream is flushed once a second of play.
func (rp *Replay) Save(w io.Writer) error {
	head, err := encodeHeader(rp.Arena, rp.Seed, &rp.Config)
	if err != nil {
		return err
	}
	if _, err := w.Write(binary.LittleEndian.AppendUint16([]byte(replayMagic), ReplayVersion)); err != nil {
		return err
	}
	enc, err := newLogEncoder(w)
	if err != nil {
		return err
	}
	buf := appendRecord(nil, recHeader, head)
	keys := rp.Keyframes
	if rp.Start != nil {
		buf = appendKeyframeRecord(buf, rp.Start.Tick, rp.Start.Data)
		if len(keys) > 0 && keys[0].Tick == rp.Start.Tick {
			keys = keys[1:]
		}
	}
	codes := sessionCodes{}
	prev := rp.FirstTick()
	flushed := prev
	for i := range rp.Ticks {
		rt := &rp.Ticks[i]
		if rt.Tick <= prev {
			enc.Close()
			return fmt.Errorf("tick %d after tick %d", rt.Tick, prev)
		}
		buf = appendTickRecord(buf, rt.Tick-prev, rt.Hash, rt.HasHash, rt.Commands, codes)
		prev = rt.Tick
		for len(keys) > 0 && keys[0].Tick <= rt.Tick {
			if keys[0].Tick == rt.Tick {
				buf = appendKeyframeRecord(buf, rt.Tick, keys[0].Data)
			}
			keys = keys[1:]
		}
		if rt.Tick-flushed >= uint64(rp.Config.TickRate) {
			flushed = rt.Tick
			_, err := enc.Write(buf)
			if err == nil {
				err = enc.Flush()
			}
			if err != nil {
				enc.Close()
				return err
			}
			buf = buf[:0]
		}
	}
	buf = appendRecord(buf, recEnd, binary.AppendUvarint(nil, max(rp.LastTick, prev)))
	if _, err := enc.Write(buf); err != nil {
		enc.Close()
		return err
	}
	return enc.Close()
}
