package ecs

import (
	"encoding/json"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// MaxKeyframeSize bounds a keyframe RestoreWorld takes: a full default
// arena's is about 100 KB and one of 10,000 marbles about 5 MB.
const MaxKeyframeSize = 32 << 20

// keyLimits bound each list of a keyframe to what an arena of its config
// can hold, so that a forged keyframe cannot make the decoder allocate
// more: msgpack allocates a list as long as its header says.
type keyLimits struct {
	movers, statics, entities, sessions, cells, moverCells, names, board int
}

func keyframeLimits(cfg *Config) keyLimits {
	movers := cfg.MaxMovers()
	// Busts and spike hits scatter fragments beyond the count the
	// population keeps: at most a shatter's worth for every marble.
	statics := cfg.FragmentCount + movers*max(cfg.MaxShatterFragments, 1) + cfg.ObstacleCount + 1024
	return keyLimits{
		movers:     movers,
		statics:    statics,
		entities:   2*(movers+statics) + 1024,
		sessions:   movers + 1024,
		cells:      NewGridShape(cfg.GridCell, cfg.ArenaWidth, cfg.ArenaHeight).NumCells(),
		moverCells: NewGridShape(cfg.GridCell*MoverCellScale, cfg.ArenaWidth, cfg.ArenaHeight).NumCells(),
		names:      16*movers + 4096,
		board:      max(cfg.LeaderboardSize, 0) + 1,
	}
}

// configHash identifies an arena's rules for its keyframes.
func configHash(cfg *Config) uint64 {
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // A Config is numbers: it always marshals.
	}
	return stringHash(string(b))
}

// keyframeFields is how many fields a keyframe encodes (keyframe's
// exported fields, in order).
const keyframeFields = 21

// DecodeMsgpack decodes a keyframe as AppendKeyframe encodes it (structs
// as arrays, fields in order), taking no list longer than k.limits allow
// before it allocates the list. The small structs inside the lists hold
// no lists, so decoding them by reflection allocates only what the data
// holds.
func (k *keyframe) DecodeMsgpack(d *msgpack.Decoder) error {
	lim := k.limits
	if err := arrayOf(d, keyframeFields, "keyframe"); err != nil {
		return err
	}
	if err := d.Decode(&k.Version); err != nil {
		return err
	}
	if k.Version != KeyframeVersion {
		return fmt.Errorf("version %d, want %d", k.Version, KeyframeVersion)
	}
	if err := decodeAll(d, &k.Seed, &k.Config, &k.Tick, &k.Rand, &k.NextID, &k.StaticHash); err != nil {
		return err
	}
	var err error
	if err = arrayOf(d, 2, "board"); err != nil {
		return err
	}
	if k.Board.Top, err = decodeList[BoardEntry](d, lim.board, "board"); err != nil {
		return err
	}
	if err := decodeAll(d, &k.Board.Count, &k.BoardTick); err != nil {
		return err
	}
	if k.Sessions, err = decodeList[keySession](d, lim.sessions, "sessions"); err != nil {
		return err
	}
	// A list of bytes is msgpack's bin.
	kinds, err := d.DecodeBytes()
	if err != nil || len(kinds) > 4 {
		return fmt.Errorf("kinds: %d of them (%v)", len(kinds), err)
	}
	for _, kind := range kinds {
		k.Kinds = append(k.Kinds, Kind(kind))
	}
	if err = arrayOf(d, 4, "pool"); err != nil {
		return err
	}
	if k.Pool.Entities, err = decodeList[handle](d, lim.entities, "pool"); err != nil {
		return err
	}
	if k.Pool.Alive, err = decodeList[uint32](d, lim.entities, "alive"); err != nil {
		return err
	}
	if err := decodeAll(d, &k.Pool.Next, &k.Pool.Available); err != nil {
		return err
	}
	if k.Players, err = decodeList[keyMarble](d, lim.movers, "players"); err != nil {
		return err
	}
	if k.Zombies, err = decodeList[keyMarble](d, lim.movers, "zombies"); err != nil {
		return err
	}
	if k.Fragments, err = decodeList[keyStatic](d, lim.statics, "fragments"); err != nil {
		return err
	}
	if k.Obstacles, err = decodeList[keyStatic](d, lim.statics, "obstacles"); err != nil {
		return err
	}
	if err = arrayOf(d, 2, "movers"); err != nil {
		return err
	}
	if k.Movers.Start, err = decodeList[int32](d, lim.moverCells+1, "mover cells"); err != nil {
		return err
	}
	if k.Movers.Items, err = decodeList[keyItem](d, lim.movers, "mover grid"); err != nil {
		return err
	}
	if k.FragCells, err = decodeCells(d, lim.cells, lim.statics, "fragment index"); err != nil {
		return err
	}
	if k.ObstCells, err = decodeCells(d, lim.cells, lim.statics, "obstacle index"); err != nil {
		return err
	}
	if k.NamesLow, err = decodeList[keyNameLow](d, lim.names, "names"); err != nil {
		return err
	}
	k.NamesMade, err = decodeList[keySuffixed](d, lim.names, "names made")
	return err
}

// arrayOf reads an array header that must be of n elements.
func arrayOf(d *msgpack.Decoder, n int, what string) error {
	got, err := d.DecodeArrayLen()
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	if got != n {
		return fmt.Errorf("%s: %d fields, want %d", what, got, n)
	}
	return nil
}

func decodeAll(d *msgpack.Decoder, vs ...any) error {
	for _, v := range vs {
		if err := d.Decode(v); err != nil {
			return err
		}
	}
	return nil
}

// decodeList reads a list of at most limit elements (nil for a nil list).
func decodeList[T any](d *msgpack.Decoder, limit int, what string) ([]T, error) {
	n, err := d.DecodeArrayLen()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	if n > limit {
		return nil, fmt.Errorf("%s: %d of them, over the %d this arena can hold", what, n, limit)
	}
	if n < 0 {
		return nil, nil
	}
	out := make([]T, n)
	for i := range out {
		if err := d.Decode(&out[i]); err != nil {
			return nil, fmt.Errorf("%s %d: %v", what, i, err)
		}
	}
	return out, nil
}

// decodeCells reads an index's cells: exactly cells lists whose lengths
// add up to at most total.
func decodeCells(d *msgpack.Decoder, cells, total int, what string) ([][]uint32, error) {
	if err := arrayOf(d, cells, what); err != nil {
		return nil, err
	}
	out := make([][]uint32, cells)
	for c := range out {
		var err error
		if out[c], err = decodeList[uint32](d, total, what); err != nil {
			return nil, err
		}
		total -= len(out[c])
	}
	return out, nil
}
