package sim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/shatter/shatter/ecs"
	"github.com/vmihailenco/msgpack/v5"
)

// replayLogs loads every replay log in testdata/replays.
func replayLogs(t *testing.T) map[string]*Replay {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(replayDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	logs := map[string]*Replay{}
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		rp, err := LoadReplay(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		logs[filepath.Base(path)] = rp
	}
	if len(logs) == 0 {
		t.Fatal("no replay logs in " + replayDir)
	}
	return logs
}

// commandsByTick indexes a replay's commands by tick.
func commandsByTick(rp *Replay) [][]ecs.Command {
	cmds := make([][]ecs.Command, rp.LastTick+1)
	for _, rt := range rp.Ticks {
		cmds[rt.Tick] = rt.Commands
	}
	return cmds
}

// TestKeyframesPlayOnExactly plays each replay log, takes keyframes along
// the way, and starts a second arena from each: its first frame must have
// the original's hash, its own keyframe must be the same bytes, and from
// there every tick's hash and the whole state at the end (the final
// keyframes compared byte for byte: velocities, zombie plans, the entity
// pool, index order and all) must be the original's.
func TestKeyframesPlayOnExactly(t *testing.T) {
	for name, rp := range replayLogs(t) {
		t.Run(name, func(t *testing.T) {
			cmds := commandsByTick(rp)
			a, err := New(Options{ID: rp.Arena, Config: rp.Config, Seed: rp.Seed})
			if err != nil {
				t.Fatal(err)
			}
			keys := 5
			if raceEnabled {
				keys = 2
			}
			every := rp.LastTick/uint64(keys+1) + 1
			hashes := make([]uint64, rp.LastTick+1)
			keyframes := map[uint64][]byte{}
			for tick := uint64(1); tick <= rp.LastTick; tick++ {
				if err := a.stepRecorded(cmds[tick]); err != nil {
					t.Fatal(err)
				}
				hashes[tick] = frameHash(a)
				if tick%every == 0 {
					if keyframes[tick], err = a.AppendKeyframe(nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			final, err := a.AppendKeyframe(nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(keyframes) == 0 {
				t.Fatal("no keyframe taken")
			}
			for at, key := range keyframes {
				b, err := New(Options{ID: rp.Arena, Config: rp.Config, Seed: rp.Seed, Keyframe: key})
				if err != nil {
					t.Fatalf("keyframe of tick %d: %v", at, err)
				}
				if b.Tick() != at || frameHash(b) != hashes[at] {
					t.Fatalf("keyframe of tick %d: restored at tick %d with hash %016x, want %016x", at, b.Tick(), frameHash(b), hashes[at])
				}
				if a.Board() != nil && (b.Board() == nil || b.Board().Count == 0) {
					t.Fatalf("keyframe of tick %d: no leaderboard after the restore", at)
				}
				again, err := b.AppendKeyframe(nil)
				if err != nil || !bytes.Equal(again, key) {
					dumpKeyframeDiff(t, key, again)
					t.Fatalf("keyframe of tick %d: the restored arena's keyframe differs (%d bytes, was %d; %v)", at, len(again), len(key), err)
				}
				for tick := at + 1; tick <= rp.LastTick; tick++ {
					if err := b.stepRecorded(cmds[tick]); err != nil {
						t.Fatal(err)
					}
					if got := frameHash(b); got != hashes[tick] {
						t.Fatalf("from the keyframe of tick %d: tick %d hash %016x, want %016x", at, tick, got, hashes[tick])
					}
				}
				end, err := b.AppendKeyframe(nil)
				if err != nil || !bytes.Equal(end, final) {
					t.Fatalf("from the keyframe of tick %d: the state at the end differs from the original's (%v)", at, err)
				}
				t.Logf("keyframe of tick %d: %d bytes; played on to tick %d exactly", at, len(key), rp.LastTick)
			}
		})
	}
}

func frameHash(a *Arena) uint64 {
	f := a.Acquire()
	defer f.Release()
	return f.Hash
}

// TestKeyframeRefusesBadInput feeds RestoreWorld what a damaged or forged
// file could hold: each is refused with ErrKeyframe, none panics.
func TestKeyframeRefusesBadInput(t *testing.T) {
	cfg := playersConfig()
	a, err := New(Options{Config: cfg, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	for range 60 {
		if err := a.StepWith(); err != nil {
			t.Fatal(err)
		}
	}
	good, err := a.AppendKeyframe(nil)
	if err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.GridCell *= 2
	cases := []struct {
		name string
		cfg  ecs.Config
		data []byte
	}{
		{"empty", cfg, []byte{}},
		{"not msgpack", cfg, []byte("hello")},
		{"truncated", cfg, good[:len(good)/2]},
		{"another grid", other, good},
	}
	for i := 0; i < len(good); i += len(good)/97 + 1 {
		bad := bytes.Clone(good)
		bad[i] ^= 0x5a
		cases = append(cases, struct {
			name string
			cfg  ecs.Config
			data []byte
		}{"flipped byte", cfg, bad})
	}
	for _, c := range cases {
		_, err := New(Options{Config: c.cfg, Seed: 5, Keyframe: c.data})
		if c.name == "flipped byte" {
			// A flipped byte may land in a float and make another valid
			// state; what matters is that nothing panics and every
			// refusal says why.
			if err != nil && !errors.Is(err, ecs.ErrKeyframe) {
				t.Errorf("%s: %v, want an ErrKeyframe", c.name, err)
			}
			continue
		}
		if !errors.Is(err, ecs.ErrKeyframe) {
			t.Errorf("%s: %v, want an ErrKeyframe", c.name, err)
		}
	}
}

func dumpKeyframeDiff(t *testing.T, want, got []byte) {
	var w, g any
	msgpack.Unmarshal(want, &w)
	msgpack.Unmarshal(got, &g)
	ws, gs := fmt.Sprint(w), fmt.Sprint(g)
	for i := range min(len(ws), len(gs)) {
		if ws[i] != gs[i] {
			t.Logf("first difference at %d:\nwant %s\n got %s", i, ws[max(0, i-200):min(len(ws), i+200)], gs[max(0, i-200):min(len(gs), i+200)])
			return
		}
	}
}

// FuzzRestoreWorld: whatever the bytes, starting an arena from them as a
// keyframe is an arena or an ErrKeyframe, never a panic, a hang or an
// allocation beyond what the arena's config can hold; an arena restored
// plays a tick.
func FuzzRestoreWorld(f *testing.F) {
	cfg := playersConfig()
	a, err := New(Options{Config: cfg, Seed: 5})
	if err != nil {
		f.Fatal(err)
	}
	for range 90 {
		if err := a.StepWith(); err != nil {
			f.Fatal(err)
		}
	}
	good, err := a.AppendKeyframe(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/3])
	// A list header that claims 2^31 sessions in 15 bytes.
	f.Add([]byte{0xdc, 0x00, 0x15, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x92, 0xc0, 0x00, 0x00, 0xdd, 0x80, 0x00, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := New(Options{Config: cfg, Seed: 5, Keyframe: data})
		if err != nil {
			if !errors.Is(err, ecs.ErrKeyframe) {
				t.Fatalf("refused with %v, not an ErrKeyframe", err)
			}
			return
		}
		if err := b.StepWith(); err != nil {
			t.Fatal(err)
		}
	})
}
