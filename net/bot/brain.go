package bot

import (
	"cmp"
	"iter"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/wire"
)

// Rules are the game numbers steering depends on. RulesFromWelcome reads
// them from the server's welcome, so that a bot follows a server run with
// other rules; DefaultRules has the numbers of DESIGN.md.
type Rules struct {
	// ArenaWidth and ArenaHeight are the arena's size in units; positions
	// on the wire are quantized over them.
	ArenaWidth, ArenaHeight float64
	// TickRate is ticks a second.
	TickRate int
	// BoostFloor is the mass at or below which the server refuses boost
	// (boost_floor).
	BoostFloor float64
	// ChaseRatio: a marble lighter than ChaseRatio times own mass is prey
	// (zombie_chase_ratio).
	ChaseRatio float64
	// FleeRatio: a marble at least FleeRatio times own mass can bust this
	// one, so it is a threat (bust_ratio).
	FleeRatio float64
	// FleeRange is how near a threat must be to be fled (zombie_flee_range).
	FleeRange float64
	// BoostRange is how near the chased marble or the nearest threat must
	// be for a boost to pay for its mass (zombie_boost_range).
	BoostRange float64
}

// DefaultRules returns the rules of DESIGN.md.
func DefaultRules() Rules {
	return Rules{
		ArenaWidth: 3000, ArenaHeight: 3000, TickRate: 30,
		BoostFloor: 15, ChaseRatio: 0.8, FleeRatio: 1.2, FleeRange: 300, BoostRange: 150,
	}
}

// RulesFromWelcome returns the rules the welcome announces, with
// DefaultRules for any it leaves out.
func RulesFromWelcome(w *wire.Welcome) Rules {
	r := DefaultRules()
	if w.ArenaWidth > 0 && w.ArenaHeight > 0 {
		r.ArenaWidth, r.ArenaHeight = w.ArenaWidth, w.ArenaHeight
	}
	if w.Rate > 0 {
		r.TickRate = w.Rate
	}
	for _, rule := range w.Rules {
		switch rule.Name {
		case "boost_floor":
			r.BoostFloor = rule.Value
		case "zombie_chase_ratio":
			r.ChaseRatio = rule.Value
		case "bust_ratio":
			r.FleeRatio = rule.Value
		case "zombie_flee_range":
			r.FleeRange = rule.Value
		case "zombie_boost_range":
			r.BoostRange = rule.Value
		}
	}
	return r
}

// Goal is what an Action pursues.
type Goal uint8

// The goals, from the most to the least urgent.
const (
	// GoalSpawn asks the server to (re-)enter the arena.
	GoalSpawn Goal = iota + 1
	// GoalWait sends nothing: dead, with a spawn already asked for.
	GoalWait
	// GoalFlee heads away from threats.
	GoalFlee
	// GoalChase heads for a smaller marble.
	GoalChase
	// GoalFeed heads for a fragment.
	GoalFeed
	// GoalWander heads for a random point: nothing in view to eat or fear.
	GoalWander
)

// String returns the goal's name.
func (g Goal) String() string {
	switch g {
	case GoalSpawn:
		return "spawn"
	case GoalWait:
		return "wait"
	case GoalFlee:
		return "flee"
	case GoalChase:
		return "chase"
	case GoalFeed:
		return "feed"
	case GoalWander:
		return "wander"
	}
	return "none"
}

// Action is one decision. Angle and Boost are the input to send for the
// moving goals (radians: 0 along +x, growing toward +y).
type Action struct {
	Goal  Goal
	Angle float64
	Boost bool
	// Target is the entity chased, fed on or fled (the nearest threat), or
	// 0.
	Target uint32
}

// wallMargin is how near a wall a fleeing marble starts to be pushed back
// inward, so that it does not run itself into a corner.
const wallMargin = 150

// wanderSeconds is how long a bot heads for one random point before it
// picks another.
const wanderSeconds = 5

// Brain decides a bot's actions. It is not safe for concurrent use; a
// Player guards its own.
type Brain struct {
	rules Rules
	rng   *rand.Rand // the brain's own source, so that a seed fixes its choices

	// The spawn request: when dead, a spawn is asked for once, then again
	// each second of ticks while the server has not put the marble back.
	spawnAsked bool
	spawnTick  uint64

	// The wander point and the tick at which to pick a new one.
	wanderX, wanderY float64
	wanderUntil      uint64

	threats []threat // reused by Decide
	scan    scan
	see     func(uint32, client.Entity) bool // b.consider, bound once
}

// threat is a marble big enough to bust this one, within flee range.
type threat struct {
	id     uint32
	dx, dy float64 // from the threat to this marble
	dist   float64
}

// NewBrain returns a brain following rules whose random choices come from
// seed.
func NewBrain(seed uint64, rules Rules) *Brain {
	return &Brain{rules: rules, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Rules returns the rules the brain follows.
func (b *Brain) Rules() Rules { return b.rules }

// Reset makes the brain follow rules in a new arena, after a move to
// another node (PROTOCOL.md, Fleet). It forgets what it remembered by
// tick, a pending spawn and where it was wandering, since ticks count per
// arena: a spawn asked for at tick 90000 of the old arena would otherwise
// hold the bot waiting until the new one reaches it. Its random source
// goes on.
func (b *Brain) Reset(rules Rules) {
	b.rules = rules
	b.spawnAsked, b.spawnTick = false, 0
	b.wanderUntil = 0
}

// Decide returns the action for a view: the tick it shows, whether the
// session's marble is alive and, if so, the marble (you); and every entity
// in view, the marble itself included or not.
//
// In order: a dead bot spawns; a live one flees the threats within
// FleeRange (marbles of at least FleeRatio times its mass); else it heads
// for the nearest food, a fragment or a marble lighter than ChaseRatio
// times its mass; else it wanders. It boosts only to escape a threat or
// catch prey within BoostRange, and never at or below BoostFloor, where
// the server would refuse. Ties go to the lower id, and threats are summed
// in id order, so the order the view is iterated in does not matter.
func (b *Brain) Decide(tick uint64, alive bool, you wire.UpdEntity, view iter.Seq2[uint32, client.Entity]) Action {
	if !alive {
		if b.spawnAsked && tick < b.spawnTick+uint64(b.rules.TickRate) {
			return Action{Goal: GoalWait}
		}
		b.spawnAsked, b.spawnTick = true, tick
		return Action{Goal: GoalSpawn}
	}
	b.spawnAsked = false

	r := &b.rules
	mx, my := b.position(you.X, you.Y)
	mass := float64(you.Mass)
	canBoost := mass > r.BoostFloor

	b.threats = b.threats[:0]
	b.scan = scan{you: you.ID, mx: mx, my: my, mass: mass, foodDist2: math.Inf(1)}
	if b.see == nil {
		b.see = b.consider
	}
	view(b.see)
	food, prey, foodDist2, foodX, foodY := b.scan.food, b.scan.prey, b.scan.foodDist2, b.scan.foodX, b.scan.foodY

	if len(b.threats) > 0 {
		return b.flee(mx, my, canBoost)
	}
	if food != 0 {
		a := Action{Goal: GoalFeed, Angle: math.Atan2(foodY-my, foodX-mx), Target: food}
		if prey != 0 {
			a.Goal = GoalChase
			a.Boost = canBoost && foodDist2 <= r.BoostRange*r.BoostRange
		}
		return a
	}
	if tick >= b.wanderUntil || math.Hypot(b.wanderX-mx, b.wanderY-my) < wallMargin {
		b.wanderX = r.ArenaWidth * (0.1 + 0.8*b.rng.Float64())
		b.wanderY = r.ArenaHeight * (0.1 + 0.8*b.rng.Float64())
		b.wanderUntil = tick + uint64(wanderSeconds*r.TickRate)
	}
	return Action{Goal: GoalWander, Angle: math.Atan2(b.wanderY-my, b.wanderX-mx)}
}

// scan is what Decide's pass over a view has found so far: the nearest
// food (prey is set when it is a marble) and, in Brain.threats, the
// threats. It is a field of the Brain, and the pass's function (see) is
// bound once, so that handing it to a view's iterator allocates nothing:
// a closure over Decide's locals would be allocated at every decision.
type scan struct {
	you                     uint32
	mx, my, mass            float64
	food, prey              uint32
	foodDist2, foodX, foodY float64
}

// consider takes one entity of the view into b.scan; it always goes on.
func (b *Brain) consider(id uint32, e client.Entity) bool {
	sc, r := &b.scan, &b.rules
	if id == sc.you {
		return true
	}
	var isFood bool
	switch e.Kind {
	case wire.KindFragment:
		isFood = true
	case wire.KindPlayer, wire.KindZombie:
		isFood = float64(e.Mass) < r.ChaseRatio*sc.mass
	default:
		return true // Obstacles hurt only the heavy, and only on touch.
	}
	x, y := b.position(e.X, e.Y)
	dx, dy := sc.mx-x, sc.my-y
	// Squared distances: a bot compares hundreds of them a step, and
	// needs the root only of the threats and the food it picks.
	dist2 := dx*dx + dy*dy
	if e.Kind != wire.KindFragment && float64(e.Mass) >= r.FleeRatio*sc.mass && dist2 <= r.FleeRange*r.FleeRange {
		b.threats = append(b.threats, threat{id: id, dx: dx, dy: dy, dist: math.Sqrt(dist2)})
		return true
	}
	if isFood && (dist2 < sc.foodDist2 || dist2 == sc.foodDist2 && id < sc.food) {
		sc.food, sc.foodDist2, sc.foodX, sc.foodY = id, dist2, x, y
		sc.prey = 0
		if e.Kind != wire.KindFragment {
			sc.prey = id
		}
	}
	return true
}

// flee heads away from b.threats, the nearer ones weighing more, and away
// from walls within wallMargin.
func (b *Brain) flee(mx, my float64, canBoost bool) Action {
	r := &b.rules
	slices.SortFunc(b.threats, func(p, q threat) int { return cmp.Compare(p.id, q.id) })
	var ax, ay float64
	nearest := b.threats[0]
	for _, t := range b.threats {
		if t.dist < nearest.dist {
			nearest = t
		}
		if t.dist == 0 {
			continue // On top of it: no direction to take from this one.
		}
		w := 1 + (r.FleeRange-t.dist)/r.FleeRange
		ax += w * t.dx / t.dist
		ay += w * t.dy / t.dist
	}
	push := func(gap float64) float64 { return max(0, wallMargin-gap) / wallMargin * 2 }
	ax += push(mx) - push(r.ArenaWidth-mx)
	ay += push(my) - push(r.ArenaHeight-my)
	if ax == 0 && ay == 0 {
		// Threats cancel out, or sit exactly on this marble: run across
		// the line to the nearest one rather than stand still.
		ax, ay = -nearest.dy, nearest.dx
		if ax == 0 && ay == 0 {
			ax = 1
		}
	}
	return Action{
		Goal:   GoalFlee,
		Angle:  math.Atan2(ay, ax),
		Boost:  canBoost && nearest.dist <= r.BoostRange,
		Target: nearest.id,
	}
}

// position converts quantized wire coordinates to arena units.
func (b *Brain) position(qx, qy uint16) (x, y float64) {
	return float64(qx) / 65535 * b.rules.ArenaWidth, float64(qy) / 65535 * b.rules.ArenaHeight
}
