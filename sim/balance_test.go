package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// lifeCap ends a life that lasts this long, counted as that long: the
// medians only need to know it is long.
const lifeCap = 300 * time.Second

// balanceSeeds are the arenas the fair-start measurement plays in, each
// with livesPerSeed spawns one after the other.
var balanceSeeds = []uint64{101, 202, 303, 404, 505, 606}

const livesPerSeed = 4

// measureLives plays, in a default arena of each seed (first warmed up
// for 30 s of zombies alone, so they have grown), one player who spawns
// livesPerSeed times in turn, and returns how long each life lasted. A
// player that wanders turns its heading by up to a radian every half
// second (seeded, so the run is the same every time) and heads back
// toward the middle near the edges; one that does not steer never sends
// an input and rolls where its random spawn heading points. Headless
// (StepWith) and in simulated time, so it takes seconds.
func measureLives(t testing.TB, cfg Config, wander bool) []time.Duration {
	t.Helper()
	var lives []time.Duration
	for _, seed := range balanceSeeds {
		a, err := New(Options{Config: cfg, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		warm := 30 * cfg.TickRate
		for i := 0; i < warm; i++ {
			if err := a.StepWith(); err != nil {
				t.Fatal(err)
			}
		}
		const session = 1
		if err := a.StepWith(Join(session, "newcomer", &countingSink{}), Spawn(session)); err != nil {
			t.Fatal(err)
		}
		born, seq, angle := 0, uint32(0), rng.Float64()*2*math.Pi
		for ticks := 0; len(lives) < (slices.Index(balanceSeeds, seed)+1)*livesPerSeed; ticks++ {
			f := a.Acquire()
			p := *f.Player(session)
			f.Release()
			var cmds []Command
			switch {
			case !p.Alive || time.Duration(ticks-born)*time.Second/time.Duration(cfg.TickRate) >= lifeCap:
				lives = append(lives, time.Duration(ticks-born)*time.Second/time.Duration(cfg.TickRate))
				if p.Alive {
					cmds = append(cmds, Leave(session), Join(session, "newcomer", &countingSink{}))
				}
				cmds = append(cmds, Spawn(session))
				born = ticks + 1
			case wander && (ticks-born)%(cfg.TickRate/2) == 0:
				angle += rng.Float64()*2 - 1
				const edge = 200
				if x, y := float64(p.Entity.X), float64(p.Entity.Y); x < edge || y < edge || x > cfg.ArenaWidth-edge || y > cfg.ArenaHeight-edge {
					angle = math.Atan2(cfg.ArenaHeight/2-y, cfg.ArenaWidth/2-x)
				}
				seq++
				cmds = append(cmds, Input(session, seq, angle, false))
			}
			if err := a.StepWith(cmds...); err != nil {
				t.Fatal(err)
			}
		}
	}
	return lives
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// TestFairStart measures how long a newcomer lives in a default arena
// with 24 zombies, over 24 spawns each way (docs/PERFORMANCE.md, "Game
// balance"): the median life of a marble that does not steer must be at
// least 20 s and under 2 minutes (zombies stay a threat), of one that
// wanders at least 30 s.
func TestFairStart(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("plays hours of simulated time on one goroutine: run without -short and -race")
	}
	bare := DefaultConfig()
	bare.SpawnShield, bare.ZombieSpare = 0, 0
	t.Logf("without the grace: does not steer: median %v, wanders: median %v",
		median(measureLives(t, bare, false)), median(measureLives(t, bare, true)))
	cfg := DefaultConfig()
	still := measureLives(t, cfg, false)
	wander := measureLives(t, cfg, true)
	t.Logf("does not steer: median %v, lives %v", median(still), still)
	t.Logf("wanders:        median %v, lives %v", median(wander), wander)
	if m := median(still); m < 20*time.Second || m >= 2*time.Minute {
		t.Errorf("median life of a marble that does not steer = %v, want 20 s .. 2 min", m)
	}
	if m := median(wander); m < 30*time.Second {
		t.Errorf("median life of a marble that wanders = %v, want >= 30 s", m)
	}
}

// TestFrameShowsProtection checks that a frame tells the client its
// marble is shielded, for spawn_shield after the spawn and no longer.
func TestFrameShowsProtection(t *testing.T) {
	cfg := DefaultConfig()
	a, err := New(Options{Config: cfg, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.StepWith(Join(1, "p", &countingSink{}), Spawn(1)); err != nil {
		t.Fatal(err)
	}
	protected := func() bool {
		f := a.Acquire()
		defer f.Release()
		p := f.Player(1)
		if !p.Alive {
			t.Fatal("the marble died in its grace")
		}
		return p.Protected
	}
	shield := int(cfg.SecondsToTicks(cfg.SpawnShield))
	for i := 0; i < shield; i++ {
		if !protected() {
			t.Fatalf("%d ticks after the spawn: not protected, want protected for %d", i, shield)
		}
		if err := a.StepWith(); err != nil {
			t.Fatal(err)
		}
	}
	if protected() {
		t.Errorf("%d ticks after the spawn: still protected", shield)
	}
}
