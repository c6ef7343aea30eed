package systems_test

import (
	"math"
	"testing"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/systems"
)

// newCollision is a fixture that indexes the movers and applies the
// contact rules, as ticks 5 and 7 do.
func newCollision(t *testing.T, edit func(*ecs.Config)) *fixture {
	return newFixture(t, edit, &systems.Spatial{}, &systems.Collision{})
}

func TestBustMassRatio(t *testing.T) {
	tests := []struct {
		name     string
		a, b     float64 // masses
		wantBust bool
	}{
		{"1.19x does not bust", 119, 100, false},
		{"just under 1.2x does not bust", math.Nextafter(120, 0), 100, false},
		{"1.2x busts", 120, 100, true},
		{"2x busts", 200, 100, true},
		{"equal masses", 100, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCollision(t, nil)
			a := f.player(1, "A", 1000, 1000, tt.a)
			b := f.player(2, "B", 1001, 1000, tt.b)
			f.step()
			if got := !f.alive(b); got != tt.wantBust {
				t.Fatalf("A %v vs B %v: B busted = %v, want %v", tt.a, tt.b, got, tt.wantBust)
			}
			if !f.alive(a) {
				t.Fatalf("A %v vs B %v: A busted, want the bigger marble alive", tt.a, tt.b)
			}
			wantA := tt.a
			if tt.wantBust {
				wantA += 0.7 * tt.b
			}
			if got := f.massOf(a); !near(got, wantA, 1e-9) {
				t.Errorf("A mass after = %v, want %v", got, wantA)
			}
		})
	}
}

func TestBustOverlapBoundary(t *testing.T) {
	// A of mass 144 (radius 48) reaches B of mass 100 (radius 40) up to
	// 48 - 0.4*40 = 32 units apart.
	const ax, ay, aMass, bMass = 1000.0, 1000.0, 144.0, 100.0
	cfg := quietConfig()
	reach := cfg.Radius(aMass) - cfg.BustOverlap*cfg.Radius(bMass)
	if reach != 32 || ax+reach-ax != reach {
		t.Fatalf("reach = %v, want exactly 32 for an exact boundary", reach)
	}
	tests := []struct {
		name     string
		dx, dy   float64
		wantBust bool
	}{
		{"same centre", 0, 0, true},
		{"well inside", 20, 0, true},
		{"exactly at reach on x", reach, 0, true},
		{"exactly at reach on -y", 0, -reach, true},
		{"a hair beyond reach", reach + 1e-9, 0, false},
		{"touching but not overlapping enough", 60, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCollision(t, nil)
			f.player(1, "A", ax, ay, aMass)
			b := f.player(2, "B", ax+tt.dx, ay+tt.dy, bMass)
			f.step()
			if got := !f.alive(b); got != tt.wantBust {
				t.Errorf("B at distance %v (reach %v): busted = %v, want %v", math.Hypot(tt.dx, tt.dy), reach, got, tt.wantBust)
			}
		})
	}
}

func TestBustGainAndShards(t *testing.T) {
	tests := []struct {
		name          string
		a, b          float64
		wantFragments int
	}{
		{"small victim", 120, 100, 30},
		{"odd mass", 50, 41.3, 12},
		{"big victim hits the shard cap", 2000, 1000, 40},
		{"tiny victim still leaves one fragment", 3, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCollision(t, nil)
			const bx, by = 1500.0, 1500.0
			a := f.player(1, "A", bx-0.5, by, tt.a)
			b := f.player(2, "B", bx, by, tt.b)
			f.step()
			if f.alive(b) {
				t.Fatalf("B (%v) alive after touching A (%v), want busted", tt.b, tt.a)
			}
			if got, want := f.massOf(a), tt.a+0.7*tt.b; !near(got, want, 1e-9) {
				t.Errorf("A mass = %v, want %v + 70%% of %v = %v", got, tt.a, tt.b, want)
			}
			frags := f.fragments()
			if len(frags) != tt.wantFragments {
				t.Errorf("%d fragments, want %d", len(frags), tt.wantFragments)
			}
			if got, want := f.fragmentMass(), 0.3*tt.b; !near(got, want, 1e-9) {
				t.Errorf("fragment mass sums to %v, want 30%% of %v = %v", got, tt.b, want)
			}
			// Shards land in a ring just outside A: from A's new radius + 5
			// to that plus 1.5 x B's radius (clamped into the arena).
			ap := f.pos.Get(a)
			inner := f.a.Config.Radius(f.massOf(a)) + 5
			outer := inner + 1.5*f.a.Config.Radius(tt.b)
			for _, s := range frags {
				if d := math.Hypot(s.X-ap.X, s.Y-ap.Y); d < inner-1e-9 || d > outer+1e-9 {
					t.Errorf("fragment at (%v, %v) is %v from A's centre, want %v..%v", s.X, s.Y, d, inner, outer)
				}
			}
			if got := f.a.Fragments.Len(); got != len(frags) {
				t.Errorf("fragment index holds %d, want %d (every shard indexed)", got, len(frags))
			}
			if got, want := f.a.StaticHash, f.staticHash(); got != want {
				t.Errorf("StaticHash = %#x, want %#x recomputed from the world", got, want)
			}
		})
	}
}

func TestBustDeath(t *testing.T) {
	tests := []struct {
		name        string
		victimIsBot bool
	}{
		{"player victim", false},
		{"zombie victim", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCollision(t, nil)
			a := f.player(1, "Crusher", 1000, 1000, 200)
			var b arche.Entity
			wantSession := uint32(0)
			if tt.victimIsBot {
				b = f.zombie("Pebble", 1005, 1000, 50)
			} else {
				b = f.player(9, "Pebble", 1005, 1000, 50)
				wantSession = 9
			}
			aID, bID := f.body.Get(a).ID, f.body.Get(b).ID
			f.step()
			want := ecs.Death{Session: wantSession, Victim: bID, Name: "Pebble", By: aID, ByName: "Crusher", Mass: 50}
			if len(f.a.Deaths) != 1 || f.a.Deaths[0] != want {
				t.Fatalf("Deaths = %+v, want [%+v]", f.a.Deaths, want)
			}
			if !tt.victimIsBot {
				if s := f.a.Session(9); s == nil || !s.Marble.IsZero() {
					t.Errorf("session 9 = %+v, want kept with no marble", s)
				}
			}
			if got, want := f.a.MoverCount, 1; got != want {
				t.Errorf("MoverCount = %d, want %d", got, want)
			}
		})
	}
}

// chain places A > B > C in a row where A can bust B and B can bust C, but
// A cannot reach C, not even after gaining B. order lists the creation
// (query) order of A, B and C by their letters.
func chain(f *fixture, order string) (a, b, c arche.Entity) {
	for _, r := range order {
		switch r {
		case 'A':
			a = f.player(1, "A", 1000, 1000, 400)
		case 'B':
			b = f.player(2, "B", 1040, 1000, 200)
		case 'C':
			c = f.player(3, "C", 1080, 1000, 100)
		}
	}
	return a, b, c
}

func TestBustedMarbleBustsNobody(t *testing.T) {
	f := newCollision(t, nil)
	a, b, c := chain(f, "ABC")
	f.step()
	if f.alive(b) {
		t.Fatalf("B alive, want busted by A")
	}
	if !f.alive(c) {
		t.Errorf("C busted, want alive: B was busted before its turn")
	}
	if got, want := f.massOf(a), 400+0.7*200; !near(got, want, 1e-9) {
		t.Errorf("A mass = %v, want %v", got, want)
	}
	if got := len(f.a.Deaths); got != 1 {
		t.Errorf("%d deaths (%+v), want 1", got, f.a.Deaths)
	}
}

func TestBustedMarbleBustsNobodyWhateverTheOrder(t *testing.T) {
	f := newCollision(t, nil)
	_, b, c := chain(f, "CBA")
	f.step()
	if f.alive(b) {
		t.Fatalf("B alive, want busted by A")
	}
	if !f.alive(c) {
		t.Errorf("C busted by B, which was itself busted this tick; want C alive")
	}
	if got := len(f.a.Deaths); got != 1 {
		t.Errorf("%d deaths (%+v), want 1", got, f.a.Deaths)
	}
}

func TestVictimBustedOnce(t *testing.T) {
	// Two marbles each able to bust a third: only one gets it.
	f := newCollision(t, nil)
	a := f.player(1, "A", 1000, 1000, 300)
	a2 := f.player(2, "A2", 1010, 1000, 300)
	v := f.player(3, "V", 1005, 1000, 50)
	f.step()
	if f.alive(v) {
		t.Fatalf("V alive, want busted")
	}
	gained := f.massOf(a) + f.massOf(a2) - 600
	if !near(gained, 35, 1e-9) {
		t.Errorf("A and A2 gained %v together, want 35 (one bust of 50)", gained)
	}
	if got := len(f.a.Deaths); got != 1 {
		t.Errorf("%d deaths, want 1", got)
	}
}

// TestMassAccountingAcrossBust runs whole ticks with no mass sources or
// sinks: the total of marbles and fragments must not change through a bust
// and the shards being eaten afterwards.
func TestMassAccountingAcrossBust(t *testing.T) {
	f := newFixture(t, func(c *ecs.Config) { c.DecayRate = 0 }, systems.Default()...)
	f.player(1, "A", 1000, 1000, 300)
	b := f.player(2, "B", 1010, 1000, 100)
	f.player(3, "C", 1400, 1400, 40)
	f.a.NewFragment(900, 900, 1)
	f.a.NewFragment(1100, 1050, 2.5)
	before := f.totalMass()
	for i := 0; i < 60; i++ {
		f.step()
		if got := f.totalMass(); !near(got, before, 1e-9) {
			t.Fatalf("tick %d: total mass = %v, want %v", f.a.Tick, got, before)
		}
	}
	if f.alive(b) {
		t.Fatalf("B alive after 60 ticks, want busted (the test needs a bust)")
	}
}

func TestObstacleHit(t *testing.T) {
	const ox, oy = 1000.0, 1000.0
	tests := []struct {
		name    string
		mass    float64
		dx, dy  float64 // marble's offset from the ball
		wantHit bool
	}{
		{"149 touching is unharmed", 149, 60, 0, false},
		{"150 touching is hit", 150, 60, 0, true},
		{"225 exactly touching is hit", 225, 90, 0, true},
		{"225 a hair apart is unharmed", 225, 90 + 1e-9, 0, false},
		{"diagonal hit", 400, 30, 40, true},
		{"centre on the ball", 400, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, &systems.Spatial{}, &systems.Collision{}, &systems.Population{})
			ball := f.a.NewObstacle(ox, oy)
			m := f.player(1, "M", ox+tt.dx, oy+tt.dy, tt.mass)
			*f.vel.Get(m) = ecs.Velocity{X: 5, Y: -7}
			before := f.totalMass()
			f.step()

			if got := f.totalMass(); !near(got, before, 1e-9) {
				t.Errorf("total mass = %v, want %v (no mass lost or made)", got, before)
			}
			if !tt.wantHit {
				if got := f.massOf(m); got != tt.mass {
					t.Errorf("mass = %v, want %v", got, tt.mass)
				}
				if got, want := *f.vel.Get(m), (ecs.Velocity{X: 5, Y: -7}); got != want {
					t.Errorf("velocity = %+v, want %+v (no knockback)", got, want)
				}
				if got, want := *f.pos.Get(ball), (ecs.Position{X: ox, Y: oy}); got != want {
					t.Errorf("ball at %+v, want it left at %+v", got, want)
				}
				if n := len(f.fragments()); n != 0 {
					t.Errorf("%d fragments, want 0", n)
				}
				return
			}

			if got, want := f.massOf(m), 0.7*tt.mass; !near(got, want, 1e-9) {
				t.Errorf("mass = %v, want 70%% of %v = %v", got, tt.mass, want)
			}
			if got, want := f.fragmentMass(), 0.3*tt.mass; !near(got, want, 1e-9) {
				t.Errorf("fragments sum to %v, want 30%% of %v = %v", got, tt.mass, want)
			}
			// Knocked straight away from the ball at ObstacleKnockback.
			wantX, wantY := 400.0, 0.0
			if d := math.Hypot(tt.dx, tt.dy); d > 0 {
				wantX, wantY = tt.dx/d*400, tt.dy/d*400
			}
			// The push is a knockback lasting KnockbackTime (15 ticks);
			// the marble's own velocity keeps nothing toward the ball.
			kbs := generic.NewMap[ecs.Knockback](f.w)
			kb := *kbs.Get(m)
			if !near(kb.X, wantX, 1e-9) || !near(kb.Y, wantY, 1e-9) || kb.Left != 15 || kb.Of != 15 {
				t.Errorf("knockback = %+v, want (%v, %v) over 15 ticks", kb, wantX, wantY)
			}
			if v := f.vel.Get(m); v.X*wantX+v.Y*wantY < -1e-9 {
				t.Errorf("velocity = %+v still points into the ball", *v)
			}
			// Shards lie in a ring the hit marble cannot reach at once.
			r := f.a.Config.Radius(tt.mass)
			for _, s := range f.fragments() {
				if d := math.Hypot(s.X-ox-tt.dx, s.Y-oy-tt.dy); d < r+5 || d > r+80 {
					t.Errorf("shard %v from the marble, want in [%v, %v]", d, r+5, r+80)
				}
			}
			// Population moved the ball and emptied the queue.
			p := f.pos.Get(ball)
			if p.X == ox && p.Y == oy {
				t.Errorf("ball still at (%v, %v), want relocated", ox, oy)
			}
			if !inIndex(f.a.Obstacles, ball, p.X, p.Y) || f.a.Obstacles.Len() != 1 {
				t.Errorf("obstacle index (len %d) does not hold the ball at its new spot %+v", f.a.Obstacles.Len(), *p)
			}
			if n := len(f.a.HitObstacles); n != 0 {
				t.Errorf("%d hit obstacles left queued, want 0", n)
			}
			if got, want := f.a.StaticHash, f.staticHash(); got != want {
				t.Errorf("StaticHash = %#x, want %#x", got, want)
			}
		})
	}
}

func TestObstacleQueuedForPopulation(t *testing.T) {
	f := newCollision(t, nil)
	ball := f.a.NewObstacle(1000, 1000)
	f.player(1, "M", 1050, 1000, 200)
	f.step()
	if got := f.a.HitObstacles; len(got) != 1 || got[0] != ball {
		t.Fatalf("HitObstacles = %v, want [%v]", got, ball)
	}
	// Collision alone does not move it; population does.
	if got := *f.pos.Get(ball); got != (ecs.Position{X: 1000, Y: 1000}) {
		t.Errorf("ball at %+v after collision, want still at (1000, 1000)", got)
	}
}

func TestObstacleHurtsOneMarblePerTick(t *testing.T) {
	f := newCollision(t, nil)
	ball := f.a.NewObstacle(1000, 1000)
	a := f.player(1, "A", 940, 1000, 200)
	b := f.player(2, "B", 1060, 1000, 200)
	f.step()
	hurt := 0
	for _, e := range []arche.Entity{a, b} {
		if f.massOf(e) < 200 {
			hurt++
		}
	}
	if hurt != 1 {
		t.Errorf("%d marbles hurt by one ball, want 1 (masses %v, %v)", hurt, f.massOf(a), f.massOf(b))
	}
	if got := f.a.HitObstacles; len(got) != 1 || got[0] != ball {
		t.Errorf("HitObstacles = %v, want [%v]", got, ball)
	}
}

func TestObstacleSecondBallHurtsSecondMarble(t *testing.T) {
	// Two balls, two marbles each touching both: each ball hurts one.
	f := newCollision(t, nil)
	f.a.NewObstacle(1000, 1000)
	f.a.NewObstacle(1000, 1040)
	a := f.player(1, "A", 940, 1020, 200)
	b := f.player(2, "B", 1060, 1020, 200)
	f.step()
	for _, e := range []arche.Entity{a, b} {
		if got, want := f.massOf(e), 140.0; !near(got, want, 1e-9) {
			t.Errorf("marble mass = %v, want %v", got, want)
		}
	}
	if got := len(f.a.HitObstacles); got != 2 {
		t.Errorf("%d hit obstacles, want 2", got)
	}
}

func TestMassAccountingAcrossObstacleHit(t *testing.T) {
	f := newFixture(t, func(c *ecs.Config) { c.DecayRate = 0 }, systems.Default()...)
	f.a.NewObstacle(1000, 1000)
	m := f.player(1, "M", 1050, 1000, 300)
	f.player(2, "N", 2000, 2000, 20)
	before := f.totalMass()
	for i := 0; i < 30; i++ {
		f.step()
		if got := f.totalMass(); !near(got, before, 1e-9) {
			t.Fatalf("tick %d: total mass = %v, want %v", f.a.Tick, got, before)
		}
	}
	if got := f.massOf(m); got >= 300 {
		t.Fatalf("M mass = %v, want < 300 (the test needs a hit)", got)
	}
}

func TestShatterLeavesNoEmptyFragments(t *testing.T) {
	tests := []struct {
		name string
		edit func(*ecs.Config)
		ball bool
	}{
		{"bust with gain 1", func(c *ecs.Config) { c.BustGain = 1 }, false},
		{"hit with loss 0", func(c *ecs.Config) { c.ObstacleLoss = 0 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCollision(t, tt.edit)
			if tt.ball {
				f.a.NewObstacle(1000, 1000)
				f.player(1, "M", 1050, 1000, 300)
			} else {
				f.player(1, "A", 1000, 1000, 300)
				f.player(2, "B", 1005, 1000, 50)
			}
			f.step()
			for _, s := range f.fragments() {
				if s.Mass <= 0 {
					t.Errorf("fragment of mass %v at (%v, %v), want none without mass", s.Mass, s.X, s.Y)
				}
			}
		})
	}
}

func TestBustShardsLandOutsideBuster(t *testing.T) {
	f := newCollision(t, nil)
	a := f.player(1, "A", 1000, 1000, 120)
	f.player(2, "B", 1010, 1000, 100)
	f.step()
	r := f.a.Config.Radius(f.massOf(a))
	p := f.pos.Get(a)
	for _, s := range f.fragments() {
		if d := math.Hypot(s.X-p.X, s.Y-p.Y); d < r {
			t.Errorf("shard %v from A's centre, want >= A's radius %v", d, r)
		}
	}
}

// TestKnockbackLasts rolls a heavy marble into a spike ball and measures
// how far the hit throws it back over the next ten ticks of movement: the
// push must outlast the speed cap (KnockbackTime), where the old rule
// (KnockbackTime 0) set a velocity the next tick cut to the top speed.
func TestKnockbackLasts(t *testing.T) {
	const ox, oy, mass = 1500.0, 1500.0, 400.0
	// away returns how far the marble moved away from the ball over the
	// ten ticks after the one it was hit in, and whether it was hit.
	away := func(knockbackTime float64, ball bool) (float64, bool) {
		f := newFixture(t, func(c *ecs.Config) { c.KnockbackTime = knockbackTime },
			&systems.Movement{}, &systems.Spatial{}, &systems.Collision{}, &systems.Population{})
		if ball {
			f.a.NewObstacle(ox, oy)
		}
		// Touching the ball (radius 80 + 30) and steering straight into it.
		m := f.player(1, "M", ox+109, oy, mass)
		f.steer.Get(m).Angle = math.Pi
		f.step()
		hit := f.massOf(m) < mass
		x0 := f.pos.Get(m).X
		for i := 0; i < 10; i++ {
			f.step()
		}
		return f.pos.Get(m).X - x0, hit
	}
	free, hit := away(0.5, false)
	if hit {
		t.Fatal("marble lost mass with no ball")
	}
	capped, hit := away(0, true)
	if !hit {
		t.Fatal("old rule: marble was not hit")
	}
	pushed, hit := away(0.5, true)
	if !hit {
		t.Fatal("marble was not hit")
	}
	t.Logf("displacement over 10 ticks after the hit: no ball %.1f, old rule %.1f, knockback_time 0.5 %.1f", free, capped, pushed)
	// 400 units/s fading over 15 ticks: 400 * (15+14+...+6)/15 / 30 = 93
	// units in 10 ticks, less the marble's own roll into the ball.
	if pushed < 60 {
		t.Errorf("thrown back %.1f units in 10 ticks, want >= 60", pushed)
	}
	if pushed < capped+60 {
		t.Errorf("thrown back %.1f units, want 60 more than the old rule's %.1f", pushed, capped)
	}
	if free > 0 {
		t.Errorf("with no ball the marble moved %.1f units away, want it rolling toward -x", free)
	}
}

// TestKnockbackStopsAtTheEdge checks that a push into the arena's edge is
// dropped there, not kept to drag the marble along the wall.
func TestKnockbackStopsAtTheEdge(t *testing.T) {
	f := newFixture(t, nil, &systems.Movement{})
	m := f.player(1, "M", 5, 1500, 400)
	kbs := generic.NewMap[ecs.Knockback](f.w)
	*kbs.Get(m) = ecs.Knockback{X: -400, Y: 0, Left: 15, Of: 15}
	f.step()
	if p := f.pos.Get(m); p.X != 0 {
		t.Fatalf("x = %v, want clamped to 0", p.X)
	}
	if kb := kbs.Get(m); kb.X != 0 || kb.Left != 14 {
		t.Errorf("knockback = %+v, want X dropped and 14 ticks left", *kb)
	}
}
