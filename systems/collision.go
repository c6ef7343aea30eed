package systems

import (
	"cmp"
	"math"
	"slices"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/shatter/shatter/ecs"
)

// Collision applies the two contact rules.
//
// Bust: marble A busts marble B when A.mass >= BustRatio x B.mass and their
// centres are at most A.radius - BustOverlap x B.radius apart. A gains
// BustGain of B's mass; the rest shatters into fragments scattered around
// the bust, just outside A so that the buster does not swallow them at once.
// Every possible bust is found first, with the masses the marbles had at
// the start of the step; then they are applied heaviest buster first (ties
// by id), skipping any whose buster or victim is already busted. So a
// marble that is busted busts nobody, whatever the world's storage order,
// and a marble may bust several others in one tick. A player's marble
// within SpawnShield of its making cannot be busted.
//
// Obstacle: a marble of at least ObstacleMinMass touching a spike ball loses
// ObstacleLoss of its mass as fragments scattered around it, is knocked
// away from the ball at ObstacleKnockback (a push that fades over
// KnockbackTime on top of its own roll, which loses what carried it into
// the ball; or, with KnockbackTime 0, its velocity), and the ball is queued for the
// population system to move elsewhere. A ball hurts one marble a tick;
// lighter marbles roll past unharmed.
type Collision struct {
	state     *ecs.State
	world     *arche.World
	busters   *generic.Filter3[ecs.Body, ecs.Position, ecs.Mass]
	hitters   *generic.Filter4[ecs.Position, ecs.Velocity, ecs.Mass, ecs.Knockback]
	masses    generic.Map[ecs.Mass]
	bodies    generic.Map[ecs.Body]
	pilots    generic.Map[ecs.Pilot]
	names     generic.Map[ecs.Name]
	positions generic.Map[ecs.Position]
	fresh     generic.Map[ecs.Fresh]

	// Reused each tick.
	candidates []bust
	busted     []arche.Entity
	shatter    []shard
}

// bust is a possible bust found by the first pass.
type bust struct {
	buster, victim         arche.Entity
	busterID, victimID     uint32
	busterMass, victimMass float64
	victimX, victimY       float64
}

// shard is mass to scatter as fragments: within spread of (X, Y), but at
// least gap away from it.
type shard struct {
	X, Y, Mass, Gap, Spread float64
}

// Name implements System.
func (s *Collision) Name() string { return "collision" }

// Initialize implements System.
func (s *Collision) Initialize(w *arche.World) {
	s.state = ecs.StateOf(w)
	s.world = w
	s.busters = generic.NewFilter3[ecs.Body, ecs.Position, ecs.Mass]().With(generic.T[ecs.Mover]())
	s.busters.Register(w)
	s.hitters = generic.NewFilter4[ecs.Position, ecs.Velocity, ecs.Mass, ecs.Knockback]().With(generic.T[ecs.Mover]())
	s.hitters.Register(w)
	s.masses = generic.NewMap[ecs.Mass](w)
	s.bodies = generic.NewMap[ecs.Body](w)
	s.pilots = generic.NewMap[ecs.Pilot](w)
	s.names = generic.NewMap[ecs.Name](w)
	s.positions = generic.NewMap[ecs.Position](w)
	s.fresh = generic.NewMap[ecs.Fresh](w)
	// Room for a tick in which every marble busts or is busted, or hits a
	// spike ball, so the lists do not grow while the arena plays.
	movers := s.state.Config.MaxMovers()
	s.candidates = make([]bust, 0, movers)
	s.busted = make([]arche.Entity, 0, movers)
	s.shatter = make([]shard, 0, movers+s.state.Config.ObstacleCount)
}

// Update implements System.
func (s *Collision) Update(w *arche.World) {
	s.busted = s.busted[:0]
	s.shatter = s.shatter[:0]
	s.busts(w)
	s.obstacles(w)
	for _, e := range s.busted {
		s.state.Remove(e)
	}
	for _, sh := range s.shatter {
		s.scatter(sh)
	}
}

func (s *Collision) isBusted(e arche.Entity) bool {
	for _, b := range s.busted {
		if b == e {
			return true
		}
	}
	return false
}

func (s *Collision) busts(w *arche.World) {
	cfg := &s.state.Config
	grid := s.state.Movers
	s.candidates = s.candidates[:0]
	q := s.busters.Query(w)
	for q.Next() {
		self := q.Entity()
		body, pos, mass := q.Get()
		// A reaches centres within its own radius at most.
		c0, r0, c1, r1 := grid.Span(pos.X, pos.Y, cfg.Radius(mass.Value))
		for row := r0; row <= r1; row++ {
			for col := c0; col <= c1; col++ {
				for _, it := range grid.Cell(col, row) {
					if it.Entity == self || it.Entity.IsZero() {
						continue
					}
					other := s.masses.Get(it.Entity).Value
					if mass.Value < cfg.BustRatio*other || s.fresh.Get(it.Entity).ShieldUntil > s.state.Tick {
						continue
					}
					reach := cfg.Radius(mass.Value) - cfg.BustOverlap*cfg.Radius(other)
					if dx, dy := it.X-pos.X, it.Y-pos.Y; reach < 0 || dx*dx+dy*dy > reach*reach {
						continue
					}
					s.candidates = append(s.candidates, bust{
						buster: self, victim: it.Entity, busterID: body.ID, victimID: s.bodies.Get(it.Entity).ID,
						busterMass: mass.Value, victimMass: other, victimX: it.X, victimY: it.Y,
					})
				}
			}
		}
	}
	if len(s.candidates) == 0 {
		return
	}
	slices.SortFunc(s.candidates, func(a, b bust) int {
		if c := cmp.Compare(b.busterMass, a.busterMass); c != 0 {
			return c
		}
		if c := cmp.Compare(a.busterID, b.busterID); c != 0 {
			return c
		}
		return cmp.Compare(a.victimID, b.victimID)
	})
	for i := range s.candidates {
		b := &s.candidates[i]
		if s.isBusted(b.buster) || s.isBusted(b.victim) {
			continue
		}
		mass := s.masses.Get(b.buster)
		mass.Value += cfg.BustGain * b.victimMass
		s.busted = append(s.busted, b.victim)
		s.recordDeath(b.victim, b.victimMass, b.busterID, s.names.Get(b.buster).Value)
		// Shards land in a ring just outside the buster (at its new size),
		// centred on it: they are the others' to take.
		pos := s.positions.Get(b.buster)
		gap := cfg.Radius(mass.Value) + 5
		s.shatter = append(s.shatter, shard{X: pos.X, Y: pos.Y, Mass: (1 - cfg.BustGain) * b.victimMass, Gap: gap, Spread: gap + cfg.Radius(b.victimMass)*1.5})
	}
}

func (s *Collision) recordDeath(victim arche.Entity, mass float64, by uint32, byName string) {
	body := s.bodies.Get(victim)
	d := ecs.Death{Victim: body.ID, Name: s.names.Get(victim).Value, By: by, ByName: byName, Mass: mass}
	if body.Kind == ecs.KindPlayer {
		d.Session = s.pilots.Get(victim).Session
	}
	s.state.Deaths = append(s.state.Deaths, d)
}

func (s *Collision) obstacles(w *arche.World) {
	cfg := &s.state.Config
	ix := s.state.Obstacles
	q := s.hitters.Query(w)
	for q.Next() {
		pos, vel, mass, kb := q.Get()
		if mass.Value < cfg.ObstacleMinMass || s.isBusted(q.Entity()) {
			continue
		}
		r := cfg.Radius(mass.Value)
		touch := r + cfg.ObstacleRadius
		ob, ox, oy, found := s.touchedObstacle(ix, pos.X, pos.Y, touch)
		if !found {
			continue
		}
		loss := cfg.ObstacleLoss * mass.Value
		mass.Value -= loss
		s.state.HitObstacles = append(s.state.HitObstacles, ob)
		s.state.SpikeHits = append(s.state.SpikeHits, ecs.SpikeHit{ID: s.bodies.Get(q.Entity()).ID, Name: s.names.Get(q.Entity()).Value, Loss: loss})
		nx, ny := 1.0, 0.0 // away from the ball
		if dx, dy := pos.X-ox, pos.Y-oy; dx != 0 || dy != 0 {
			d := math.Hypot(dx, dy)
			nx, ny = dx/d, dy/d
		}
		if ticks := cfg.KnockbackTicks(); ticks > 0 {
			if in := vel.X*nx + vel.Y*ny; in < 0 {
				vel.X, vel.Y = vel.X-in*nx, vel.Y-in*ny
			}
			*kb = ecs.Knockback{X: nx * cfg.ObstacleKnockback, Y: ny * cfg.ObstacleKnockback, Left: ticks, Of: ticks}
		} else {
			vel.X, vel.Y = nx*cfg.ObstacleKnockback, ny*cfg.ObstacleKnockback
		}
		s.shatter = append(s.shatter, shard{X: pos.X, Y: pos.Y, Mass: loss, Gap: r + 5, Spread: r + 80})
	}
}

// touchedObstacle finds the first spike ball, not already hit this tick,
// whose centre is within touch of (x, y).
func (s *Collision) touchedObstacle(ix *ecs.CellIndex, x, y, touch float64) (e arche.Entity, ox, oy float64, ok bool) {
	c0, r0, c1, r1 := ix.Span(x, y, touch)
	for row := r0; row <= r1; row++ {
		for col := c0; col <= c1; col++ {
			for _, it := range ix.Cell(col, row) {
				if math.Hypot(it.X-x, it.Y-y) <= touch && !s.alreadyHit(it.Entity) {
					return it.Entity, it.X, it.Y, true
				}
			}
		}
	}
	return arche.Entity{}, 0, 0, false
}

func (s *Collision) alreadyHit(e arche.Entity) bool {
	for _, h := range s.state.HitObstacles {
		if h == e {
			return true
		}
	}
	return false
}

// scatter turns shattered mass into fragments of about FragmentMass each
// (at most MaxShatterFragments, sharing the mass exactly), at random points
// in a ring around the shard's centre, clamped into the arena.
func (s *Collision) scatter(sh shard) {
	cfg := &s.state.Config
	if sh.Mass <= 0 {
		return // nothing shattered (BustGain 1 or ObstacleLoss 0)
	}
	rng := s.state.Rand
	n := int(sh.Mass / cfg.FragmentMass)
	n = min(max(n, 1), cfg.MaxShatterFragments)
	each := sh.Mass / float64(n)
	for i := 0; i < n; i++ {
		sin, cos := math.Sincos(rng.Angle())
		d := rng.Range(sh.Gap, max(sh.Gap, sh.Spread))
		x := min(max(sh.X+cos*d, 0), cfg.ArenaWidth)
		y := min(max(sh.Y+sin*d, 0), cfg.ArenaHeight)
		s.state.NewFragment(x, y, each)
	}
}
