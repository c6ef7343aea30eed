package ecs_test

import (
	"errors"
	"math"
	"testing"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/shatter/shatter/ecs"
)

// emptyConfig spawns nothing at construction.
func emptyConfig() ecs.Config {
	cfg := ecs.DefaultConfig()
	cfg.ObstacleCount = 0
	cfg.FragmentCount = 0
	cfg.MinPopulation = 0
	return cfg
}

// staticHash recomputes the XOR of EntityHash over fragments and obstacles.
func staticHash(w *arche.World) uint64 {
	var h uint64
	masses := generic.NewMap[ecs.Mass](w)
	q := generic.NewFilter2[ecs.Body, ecs.Position]().Query(w)
	for q.Next() {
		b, p := q.Get()
		switch b.Kind {
		case ecs.KindFragment:
			h ^= ecs.EntityHash(b.ID, b.Kind, p.X, p.Y, masses.Get(q.Entity()).Value)
		case ecs.KindObstacle:
			h ^= ecs.EntityHash(b.ID, b.Kind, p.X, p.Y, 0)
		}
	}
	return h
}

func TestNewWorldPanicsOnBadConfig(t *testing.T) {
	cfg := ecs.DefaultConfig()
	cfg.TickRate = 0
	defer func() {
		r := recover()
		err, _ := r.(error)
		if !errors.Is(err, ecs.ErrConfig) {
			t.Errorf("NewWorld panicked with %v, want an error wrapping ErrConfig", r)
		}
	}()
	ecs.NewWorld(cfg, 1)
	t.Errorf("NewWorld with tick rate 0 returned, want a panic")
}

func TestNewWorldObstacles(t *testing.T) {
	cfg := ecs.DefaultConfig()
	w, a := ecs.NewWorld(cfg, 3)
	if ecs.StateOf(w) != a {
		t.Fatalf("StateOf(w) is not the arena NewWorld returned")
	}
	if got := a.Obstacles.Len(); got != 30 {
		t.Errorf("%d obstacles indexed, want 30", got)
	}
	n := 0
	q := generic.NewFilter2[ecs.Body, ecs.Position]().With(generic.T[ecs.Obstacle]()).Query(w)
	for q.Next() {
		n++
		b, p := q.Get()
		if b.Kind != ecs.KindObstacle {
			t.Errorf("obstacle %d has kind %v", b.ID, b.Kind)
		}
		if p.X < 30 || p.X > 2970 || p.Y < 30 || p.Y > 2970 {
			t.Errorf("obstacle %d at %+v, want at least its radius 30 inside", b.ID, *p)
		}
	}
	if n != 30 {
		t.Errorf("%d obstacle entities, want 30", n)
	}
	if a.MoverCount != 0 || a.Fragments.Len() != 0 {
		t.Errorf("new world has %d movers, %d fragments; want none (population's job)", a.MoverCount, a.Fragments.Len())
	}
	if got, want := a.StaticHash, staticHash(w); got != want || got == 0 {
		t.Errorf("StaticHash = %#x, want %#x (non-zero)", got, want)
	}
}

func TestNewWorldDeterministic(t *testing.T) {
	hash := func(seed uint64) uint64 {
		_, a := ecs.NewWorld(ecs.DefaultConfig(), seed)
		return a.StaticHash ^ a.Rand.State
	}
	if a, b := hash(5), hash(5); a != b {
		t.Errorf("two worlds of seed 5 differ (%x, %x), want identical", a, b)
	}
	if hash(5) == hash(6) {
		t.Errorf("worlds of seeds 5 and 6 are identical, want different")
	}
}

func TestFactories(t *testing.T) {
	w, a := ecs.NewWorld(emptyConfig(), 1)
	bodies := generic.NewMap[ecs.Body](w)
	pilots := generic.NewMap[ecs.Pilot](w)
	brains := generic.NewMap[ecs.Brain](w)
	names := generic.NewMap[ecs.Name](w)
	masses := generic.NewMap[ecs.Mass](w)

	p := a.NewMarble(4, "ann", 10, 20, 30)
	z := a.NewMarble(0, "Pebble", 40, 50, 60)
	f := a.NewFragment(70, 80, 2)
	o := a.NewObstacle(90, 100)
	tests := []struct {
		name     string
		e        arche.Entity
		kind     ecs.Kind
		id       uint32
		pilot    bool
		brain    bool
		wantMass float64
	}{
		{"player", p, ecs.KindPlayer, 1, true, false, 30},
		{"zombie", z, ecs.KindZombie, 2, false, true, 60},
		{"fragment", f, ecs.KindFragment, 3, false, false, 2},
		{"obstacle", o, ecs.KindObstacle, 4, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bodies.Get(tt.e)
			if b.Kind != tt.kind || b.ID != tt.id {
				t.Errorf("body = %+v, want kind %v id %d", *b, tt.kind, tt.id)
			}
			if got := pilots.Has(tt.e); got != tt.pilot {
				t.Errorf("has Pilot = %v, want %v", got, tt.pilot)
			}
			if got := brains.Has(tt.e); got != tt.brain {
				t.Errorf("has Brain = %v, want %v", got, tt.brain)
			}
			if tt.kind.IsMover() != (tt.pilot || tt.brain) {
				t.Errorf("%v.IsMover() = %v", tt.kind, tt.kind.IsMover())
			}
			if masses.Has(tt.e) && masses.Get(tt.e).Value != tt.wantMass {
				t.Errorf("mass = %v, want %v", masses.Get(tt.e).Value, tt.wantMass)
			}
		})
	}
	if got := pilots.Get(p).Session; got != 4 {
		t.Errorf("player's session = %d, want 4", got)
	}
	if got := names.Get(z).Value; got != "Pebble" {
		t.Errorf("zombie name = %q, want Pebble", got)
	}
	if ph := brains.Get(z).Phase; ph >= 3 {
		t.Errorf("zombie phase = %d, want < ZombieThinkTicks 3", ph)
	}
	if a.MoverCount != 2 || a.Fragments.Len() != 1 || a.Obstacles.Len() != 1 {
		t.Errorf("movers %d fragments %d obstacles %d, want 2, 1, 1", a.MoverCount, a.Fragments.Len(), a.Obstacles.Len())
	}
	// IDs are never reused.
	a.Remove(f)
	if id := bodies.Get(a.NewFragment(1, 1, 1)).ID; id != 5 {
		t.Errorf("next id after a removal = %d, want 5", id)
	}
}

func TestStaticHashTracksChanges(t *testing.T) {
	w, a := ecs.NewWorld(emptyConfig(), 1)
	check := func(step string) {
		t.Helper()
		if got, want := a.StaticHash, staticHash(w); got != want {
			t.Errorf("after %s: StaticHash = %#x, want %#x", step, got, want)
		}
	}
	f1 := a.NewFragment(100, 100, 1)
	f2 := a.NewFragment(200, 200, 2.5)
	o := a.NewObstacle(300, 300)
	check("creation")
	a.MoveObstacle(o, 1500, 1700)
	check("MoveObstacle")
	if !inIndex(a.Obstacles, o, 1500, 1700) || a.Obstacles.Len() != 1 {
		t.Errorf("moved obstacle not indexed at its new spot")
	}
	// TakeFragment first (as Eat does), then Remove: hashed out once.
	a.TakeFragment(f1, 100, 100)
	a.TakeFragment(f1, 100, 100)
	if a.Fragments.Len() != 1 {
		t.Errorf("fragment index len = %d after taking one, want 1", a.Fragments.Len())
	}
	a.Remove(f1)
	check("TakeFragment + Remove")
	a.Remove(f2)
	a.Remove(o)
	check("Remove")
	if a.StaticHash != 0 || a.Fragments.Len() != 0 || a.Obstacles.Len() != 0 {
		t.Errorf("empty world: StaticHash %#x, %d fragments, %d obstacles; want 0, 0, 0",
			a.StaticHash, a.Fragments.Len(), a.Obstacles.Len())
	}
}

func TestSessions(t *testing.T) {
	w, a := ecs.NewWorld(emptyConfig(), 1)
	for _, id := range []uint32{5, 1, 9, 3} {
		a.AddSession(id, "s")
	}
	var ids []uint32
	for _, s := range a.Sessions {
		ids = append(ids, s.ID)
	}
	if want := []uint32{1, 3, 5, 9}; len(ids) != 4 || ids[0] != 1 || ids[1] != 3 || ids[2] != 5 || ids[3] != 9 {
		t.Fatalf("Sessions = %v, want %v", ids, want)
	}
	s := a.Session(5)
	s.Ack = 17
	s.Marble = a.NewMarble(5, "s", 100, 100, 20)
	marble := s.Marble
	if again := a.AddSession(5, "other"); again.Ack != 17 || again.Name != "s" || again.Marble != marble {
		t.Errorf("re-adding session 5 gave %+v, want its old state kept", *again)
	}
	if a.Session(4) != nil || a.Session(10) != nil || a.Session(0) != nil {
		t.Errorf("Session of an unknown id is not nil")
	}

	// A removed player leaves its session spectating.
	a.Remove(marble)
	if !a.Session(5).Marble.IsZero() || w.Alive(marble) || a.MoverCount != 0 {
		t.Errorf("after Remove: session marble %v alive %v movers %d, want zero, false, 0",
			a.Session(5).Marble, w.Alive(marble), a.MoverCount)
	}

	// RemoveSession takes the marble with it.
	m3 := a.NewMarble(3, "t", 200, 200, 20)
	a.Session(3).Marble = m3
	a.RemoveSession(3)
	a.RemoveSession(42) // unknown: no-op
	if a.Session(3) != nil || w.Alive(m3) || a.MoverCount != 0 || len(a.Sessions) != 3 {
		t.Errorf("after RemoveSession(3): session %v, marble alive %v, movers %d, %d sessions; want nil, false, 0, 3",
			a.Session(3), w.Alive(m3), a.MoverCount, len(a.Sessions))
	}
}

func TestRandomPoint(t *testing.T) {
	cfg := emptyConfig()
	cfg.ArenaWidth, cfg.ArenaHeight = 1000, 400
	tests := []struct {
		margin     float64
		x0, x1     float64
		y0, y1     float64
		centreOnly bool
	}{
		{0, 0, 1000, 0, 400, false},
		{30, 30, 970, 30, 370, false},
		{500, 200, 800, 200, 200, true}, // margin wider than half the height
	}
	for _, tt := range tests {
		_, a := ecs.NewWorld(cfg, 2)
		for i := 0; i < 1000; i++ {
			x, y := a.RandomPoint(tt.margin)
			if x < tt.x0 || x > tt.x1 || y < tt.y0 || y > tt.y1 {
				t.Fatalf("RandomPoint(%v) = (%v, %v), want in [%v,%v]x[%v,%v]", tt.margin, x, y, tt.x0, tt.x1, tt.y0, tt.y1)
			}
		}
	}
}

func TestEntityHash(t *testing.T) {
	base := ecs.EntityHash(7, ecs.KindZombie, 1.5, 2.5, 20)
	if again := ecs.EntityHash(7, ecs.KindZombie, 1.5, 2.5, 20); again != base {
		t.Fatalf("EntityHash not a function of its inputs: %#x then %#x", base, again)
	}
	tests := []struct {
		name string
		h    uint64
	}{
		{"id", ecs.EntityHash(8, ecs.KindZombie, 1.5, 2.5, 20)},
		{"id high bits", ecs.EntityHash(7|1<<31, ecs.KindZombie, 1.5, 2.5, 20)},
		{"kind", ecs.EntityHash(7, ecs.KindPlayer, 1.5, 2.5, 20)},
		{"x", ecs.EntityHash(7, ecs.KindZombie, math.Nextafter(1.5, 2), 2.5, 20)},
		{"y", ecs.EntityHash(7, ecs.KindZombie, 1.5, math.Nextafter(2.5, 3), 20)},
		{"mass", ecs.EntityHash(7, ecs.KindZombie, 1.5, 2.5, math.Nextafter(20, 21))},
		{"x and y swapped", ecs.EntityHash(7, ecs.KindZombie, 2.5, 1.5, 20)},
		{"negative zero x", ecs.EntityHash(7, ecs.KindZombie, math.Copysign(0, -1), 2.5, 20)},
	}
	zeroX := ecs.EntityHash(7, ecs.KindZombie, 0, 2.5, 20)
	for _, tt := range tests {
		want := base
		if tt.name == "negative zero x" {
			want = zeroX
		}
		if tt.h == want {
			t.Errorf("changing %s left the hash at %#x, want a different hash", tt.name, tt.h)
		}
	}
}

func TestMix64(t *testing.T) {
	if got := ecs.Mix64(0); got != 0 {
		t.Errorf("Mix64(0) = %#x, want 0", got)
	}
	seen := map[uint64]uint64{}
	for i := uint64(1); i <= 10000; i++ {
		h := ecs.Mix64(i)
		if j, dup := seen[h]; dup {
			t.Fatalf("Mix64(%d) = Mix64(%d) = %#x, want a bijection", i, j, h)
		}
		seen[h] = i
	}
}

func TestKindAndCommandNames(t *testing.T) {
	kinds := map[ecs.Kind]string{ecs.KindPlayer: "player", ecs.KindZombie: "zombie",
		ecs.KindFragment: "fragment", ecs.KindObstacle: "obstacle", 9: "unknown"}
	for k, want := range kinds {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
	cmds := map[ecs.CommandKind]string{ecs.CmdJoin: "join", ecs.CmdLeave: "leave", ecs.CmdSpawn: "spawn",
		ecs.CmdInput: "input", ecs.CmdDetach: "detach", 0: "unknown"}
	for k, want := range cmds {
		if got := k.String(); got != want {
			t.Errorf("CommandKind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

// inIndex reports whether an entity is in the cell index, at (x, y).
func inIndex(ix *ecs.CellIndex, e arche.Entity, x, y float64) bool {
	for r := 0; r < ix.Rows; r++ {
		for c := 0; c < ix.Cols; c++ {
			for _, it := range ix.Cell(c, r) {
				if it.Entity == e {
					return it.X == x && it.Y == y
				}
			}
		}
	}
	return false
}

func TestTurnOf(t *testing.T) {
	const step = 2 * math.Pi / ecs.TurnsPerCircle
	tests := []struct {
		name  string
		angle float64
		want  uint16
	}{
		{"zero", 0, 0},
		{"quarter", math.Pi / 2, 16384},
		{"half", math.Pi, 32768},
		{"minus a quarter", -math.Pi / 2, 49152},
		{"a full turn wraps", 2 * math.Pi, 0},
		{"several turns", 6*math.Pi + math.Pi/2, 16384},
		{"just below a turn rounds up and wraps", 2*math.Pi - step/4, 0},
		{"rounds to nearest", 10.4 * step, 10},
		{"rounds half away", 10.5 * step, 11},
		{"NaN", math.NaN(), 0},
		{"+Inf", math.Inf(1), 0},
		{"-Inf", math.Inf(-1), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ecs.TurnOf(tt.angle); got != tt.want {
				t.Errorf("TurnOf(%v) = %d, want %d", tt.angle, got, tt.want)
			}
		})
	}
	for _, turn := range []uint16{0, 1, 16384, 40000, 65535} {
		if got := ecs.TurnOf(ecs.TurnAngle(turn)); got != turn {
			t.Errorf("TurnOf(TurnAngle(%d)) = %d", turn, got)
		}
	}
}
