package bot

import (
	"maps"
	"math"
	"slices"
	"testing"

	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/wire"
)

// q quantizes an arena coordinate of DefaultRules' 3000-unit arena.
func q(v float64) uint16 { return uint16(math.Round(v / 3000 * 65535)) }

// me is the bot's own marble, id 1, at (x, y).
func me(x, y float64, mass uint32) wire.UpdEntity {
	return wire.UpdEntity{ID: 1, X: q(x), Y: q(y), Mass: mass}
}

func ent(kind uint8, x, y float64, mass uint32) client.Entity {
	return client.Entity{Kind: kind, X: q(x), Y: q(y), Mass: mass}
}

// angleNear reports whether two headings are within tol radians.
func angleNear(a, b, tol float64) bool {
	d := math.Mod(a-b, 2*math.Pi)
	if d > math.Pi {
		d -= 2 * math.Pi
	} else if d < -math.Pi {
		d += 2 * math.Pi
	}
	return math.Abs(d) <= tol
}

func TestDecide(t *testing.T) {
	const west, east, north, south = math.Pi, 0.0, -math.Pi / 2, math.Pi / 2
	tests := []struct {
		name       string
		you        wire.UpdEntity
		view       map[uint32]client.Entity
		goal       Goal
		angle      float64 // checked for every goal but wander
		boost      bool
		target     uint32
		checkAngle bool
	}{
		{
			name: "flee a bigger marble to the east by heading west",
			you:  me(1500, 1500, 50),
			view: map[uint32]client.Entity{1: ent(wire.KindPlayer, 1500, 1500, 50), 7: ent(wire.KindZombie, 1700, 1500, 60)},
			goal: GoalFlee, angle: west, target: 7, checkAngle: true,
		},
		{
			name: "flee two threats, north and east, toward the south-west",
			you:  me(1500, 1500, 50),
			view: map[uint32]client.Entity{
				7: ent(wire.KindZombie, 1700, 1500, 60),
				8: ent(wire.KindPlayer, 1500, 1320, 200),
			},
			goal: GoalFlee, angle: 3 * math.Pi / 4, target: 8, checkAngle: true,
		},
		{
			name: "boost away from a close threat",
			you:  me(1500, 1500, 50),
			view: map[uint32]client.Entity{7: ent(wire.KindZombie, 1600, 1500, 60)},
			goal: GoalFlee, angle: west, boost: true, target: 7, checkAngle: true,
		},
		{
			name: "no boost at the floor, even from a close threat",
			you:  me(1500, 1500, 15),
			view: map[uint32]client.Entity{7: ent(wire.KindZombie, 1550, 1500, 60)},
			goal: GoalFlee, angle: west, boost: false, target: 7, checkAngle: true,
		},
		{
			name: "a fleeing marble at the west wall turns along it",
			you:  me(20, 1500, 50),
			view: map[uint32]client.Entity{7: ent(wire.KindZombie, 220, 1500, 60)},
			goal: GoalFlee, target: 7,
		},
		{
			name: "ignore a bigger marble beyond flee range",
			you:  me(1500, 1500, 50),
			view: map[uint32]client.Entity{7: ent(wire.KindZombie, 1900, 1500, 60), 9: ent(wire.KindFragment, 1500, 1600, 1)},
			goal: GoalFeed, angle: south, target: 9, checkAngle: true,
		},
		{
			name: "a marble under the bust ratio is no threat",
			you:  me(1500, 1500, 50),
			view: map[uint32]client.Entity{7: ent(wire.KindZombie, 1550, 1500, 59), 9: ent(wire.KindFragment, 1500, 1400, 1)},
			goal: GoalFeed, angle: north, target: 9, checkAngle: true,
		},
		{
			name: "seek the nearest fragment",
			you:  me(1500, 1500, 20),
			view: map[uint32]client.Entity{
				9:  ent(wire.KindFragment, 1500, 1700, 1),
				10: ent(wire.KindFragment, 1400, 1500, 1),
				11: ent(wire.KindObstacle, 1490, 1500, 0),
			},
			goal: GoalFeed, angle: west, target: 10, checkAngle: true,
		},
		{
			name: "chase a smaller marble nearer than any fragment, boosting when close",
			you:  me(1500, 1500, 100),
			view: map[uint32]client.Entity{
				5: ent(wire.KindPlayer, 1500, 1400, 79),
				9: ent(wire.KindFragment, 1700, 1500, 1),
			},
			goal: GoalChase, angle: north, boost: true, target: 5, checkAngle: true,
		},
		{
			name: "a marble at 0.8 of own mass is not prey",
			you:  me(1500, 1500, 100),
			view: map[uint32]client.Entity{
				5: ent(wire.KindPlayer, 1500, 1400, 80),
				9: ent(wire.KindFragment, 1700, 1500, 1),
			},
			goal: GoalFeed, angle: east, target: 9, checkAngle: true,
		},
		{
			name: "no boost chasing far prey",
			you:  me(1500, 1500, 100),
			view: map[uint32]client.Entity{5: ent(wire.KindZombie, 1800, 1500, 30)},
			goal: GoalChase, angle: east, target: 5, checkAngle: true,
		},
		{
			name: "equal distances go to the lower id",
			you:  wire.UpdEntity{ID: 1, X: 30000, Y: 30000, Mass: 20},
			view: map[uint32]client.Entity{
				12: {Kind: wire.KindFragment, X: 31000, Y: 30000, Mass: 1},
				11: {Kind: wire.KindFragment, X: 29000, Y: 30000, Mass: 1},
			},
			goal: GoalFeed, angle: west, target: 11, checkAngle: true,
		},
		{
			name: "wander with nothing in view",
			you:  me(1500, 1500, 20),
			view: map[uint32]client.Entity{1: ent(wire.KindPlayer, 1500, 1500, 20)},
			goal: GoalWander,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewBrain(1, DefaultRules()).Decide(100, true, tt.you, maps.All(tt.view))
			if got.Goal != tt.goal || got.Boost != tt.boost || got.Target != tt.target {
				t.Fatalf("Decide = %s boost=%v target=%d; want %s boost=%v target=%d", got.Goal, got.Boost, got.Target, tt.goal, tt.boost, tt.target)
			}
			if tt.checkAngle && !angleNear(got.Angle, tt.angle, 0.05) {
				t.Errorf("angle = %.3f; want %.3f", got.Angle, tt.angle)
			}
		})
	}
}

// A threat due east of a marble pinned to the west wall must not drive it
// into the wall: the flee heading has to leave the wall alone or turn
// inward.
func TestFleeAtWallDoesNotHeadIntoIt(t *testing.T) {
	a := NewBrain(1, DefaultRules()).Decide(0, true, me(5, 1500, 50),
		maps.All(map[uint32]client.Entity{7: ent(wire.KindZombie, 205, 1501, 60)}))
	if math.Cos(a.Angle) < -0.01 {
		t.Fatalf("flee angle %.3f heads into the west wall", a.Angle)
	}
}

func TestDecideSpawns(t *testing.T) {
	b := NewBrain(1, DefaultRules()) // 30 ticks a second
	steps := []struct {
		tick  uint64
		alive bool
		want  Goal
	}{
		{100, false, GoalSpawn},
		{101, false, GoalWait},
		{129, false, GoalWait},
		{130, false, GoalSpawn}, // a second of ticks later: ask again
		{131, true, GoalWander},
		{200, false, GoalSpawn}, // died: spawn at once
	}
	for _, s := range steps {
		if got := b.Decide(s.tick, s.alive, me(1500, 1500, 20), maps.All(map[uint32]client.Entity{})); got.Goal != s.want {
			t.Fatalf("tick %d alive=%v: goal %s; want %s", s.tick, s.alive, got.Goal, s.want)
		}
	}
}

// After a move the new arena's ticks may be far below the old one's: a
// reset brain asks for a spawn at once rather than wait for the old tick,
// and wanders by the new arena's size.
func TestBrainReset(t *testing.T) {
	b := NewBrain(1, DefaultRules())
	none := maps.All(map[uint32]client.Entity{})
	if got := b.Decide(90000, false, wire.UpdEntity{}, none).Goal; got != GoalSpawn {
		t.Fatalf("goal %s at tick 90000; want spawn", got)
	}
	small := DefaultRules()
	small.ArenaWidth, small.ArenaHeight = 500, 500
	b.Reset(small)
	if b.Rules() != small {
		t.Errorf("Rules() = %+v after Reset, want %+v", b.Rules(), small)
	}
	if got := b.Decide(10, false, wire.UpdEntity{}, none).Goal; got != GoalSpawn {
		t.Errorf("goal %s at tick 10 of the new arena; want spawn", got)
	}
	b.Decide(11, true, wire.UpdEntity{ID: 1, X: 32768, Y: 32768, Mass: 20}, none)
	if b.wanderX > 500 || b.wanderY > 500 {
		t.Errorf("wandering to (%.0f, %.0f), outside the new 500x500 arena", b.wanderX, b.wanderY)
	}
}

// The same seed and views give the same actions, whatever order the view
// is iterated in; another seed wanders elsewhere.
func TestDecideIsDeterministic(t *testing.T) {
	view := map[uint32]client.Entity{
		7: ent(wire.KindZombie, 1650, 1500, 60),
		8: ent(wire.KindPlayer, 1500, 1350, 200),
		9: ent(wire.KindZombie, 1400, 1600, 90),
	}
	ids := slices.Sorted(maps.Keys(view))
	backward := func(yield func(uint32, client.Entity) bool) {
		for _, id := range slices.Backward(ids) {
			if !yield(id, view[id]) {
				return
			}
		}
	}
	a := NewBrain(3, DefaultRules()).Decide(0, true, me(1500, 1500, 50), maps.All(view))
	b := NewBrain(3, DefaultRules()).Decide(0, true, me(1500, 1500, 50), backward)
	if a != b {
		t.Fatalf("same view in two orders: %+v and %+v", a, b)
	}

	wander := func(seed uint64) []float64 {
		br := NewBrain(seed, DefaultRules())
		var angles []float64
		for tick := uint64(0); tick < 1000; tick += 50 {
			angles = append(angles, br.Decide(tick, true, me(1500, 1500, 20), maps.All(map[uint32]client.Entity{})).Angle)
		}
		return angles
	}
	if w1, w2 := wander(5), wander(5); !slices.Equal(w1, w2) {
		t.Fatalf("seed 5 wandered two ways: %v and %v", w1, w2)
	}
	if w1, w2 := wander(5), wander(6); slices.Equal(w1, w2) {
		t.Fatalf("seeds 5 and 6 wandered the same way: %v", w1)
	}
}

func TestRulesFromWelcome(t *testing.T) {
	w := wire.Welcome{Rate: 60, ArenaWidth: 2000, ArenaHeight: 1000, Rules: []wire.Rule{
		{Name: "boost_floor", Value: 25}, {Name: "bust_ratio", Value: 1.5}, {Name: "zombie_flee_range", Value: 500},
		{Name: "zombie_chase_ratio", Value: 0.5}, {Name: "zombie_boost_range", Value: 99}, {Name: "unknown", Value: 1},
	}}
	want := Rules{ArenaWidth: 2000, ArenaHeight: 1000, TickRate: 60, BoostFloor: 25, ChaseRatio: 0.5, FleeRatio: 1.5, FleeRange: 500, BoostRange: 99}
	if got := RulesFromWelcome(&w); got != want {
		t.Fatalf("RulesFromWelcome = %+v; want %+v", got, want)
	}
	if got := RulesFromWelcome(&wire.Welcome{}); got != DefaultRules() {
		t.Fatalf("RulesFromWelcome(empty) = %+v; want the defaults %+v", got, DefaultRules())
	}
}

// TestDecideAllocatesNothing checks that a decision over a view, threats
// and food in it, allocates nothing once the brain has made one: a load
// generator's thousands of bots decide twenty times a second each.
func TestDecideAllocatesNothing(t *testing.T) {
	var g Glimpse
	g.Apply(&wire.Snap{Tick: 5, HasYou: true, You: wire.UpdEntity{ID: 1, X: 30000, Y: 30000, Mass: 50},
		Add: []wire.AddEntity{
			{ID: 7, Kind: wire.KindZombie, X: 30500, Y: 30000, Mass: 200},
			{ID: 8, Kind: wire.KindPlayer, X: 29000, Y: 31000, Mass: 20},
			{ID: 9, Kind: wire.KindFragment, X: 30100, Y: 29900, Mass: 1},
		}})
	b := NewBrain(1, DefaultRules())
	first := b.Decide(g.Tick, g.Alive, g.You, g.All())
	if first.Goal != GoalFlee || first.Target != 7 {
		t.Fatalf("decided %+v, want a flight from 7", first)
	}
	if n := testing.AllocsPerRun(100, func() { b.Decide(g.Tick, g.Alive, g.You, g.All()) }); n != 0 {
		t.Fatalf("Decide allocates %.1f times a call", n)
	}
}
