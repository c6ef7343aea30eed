package ecs

import arche "github.com/mlange-42/arche/ecs"

// Kind says what an entity is. The values are the wire values of PROTOCOL.md.
type Kind uint8

// Entity kinds.
const (
	KindPlayer   Kind = 0
	KindZombie   Kind = 1
	KindFragment Kind = 2
	KindObstacle Kind = 3
)

// String returns the kind's name, as used in logs and replay reports.
func (k Kind) String() string {
	switch k {
	case KindPlayer:
		return "player"
	case KindZombie:
		return "zombie"
	case KindFragment:
		return "fragment"
	case KindObstacle:
		return "obstacle"
	}
	return "unknown"
}

// IsMover reports whether entities of this kind roll around (players and
// zombies), as opposed to the static fragments and obstacles.
func (k Kind) IsMover() bool { return k == KindPlayer || k == KindZombie }

// IsObstacle reports whether entities of this kind are spike balls: the
// one static kind that may move (MoveObstacle) and keep its id.
func (k Kind) IsObstacle() bool { return k == KindObstacle }

// Position is an entity's centre in arena units, (0,0) top-left, y down.
type Position struct{ X, Y float64 }

// Velocity is a mover's velocity in units per second.
type Velocity struct{ X, Y float64 }

// Knockback is the push a spike ball gave a mover: a velocity added to
// its own (capped) roll, fading linearly to nothing over Left ticks, so a
// hit visibly throws the marble back instead of being cut to its top
// speed on the next tick. Set by collision, spent by movement.
type Knockback struct {
	X, Y float64 // units/s at the hit
	Left uint32  // ticks the push still lasts; 0: none
	Of   uint32  // ticks it lasted in all
}

// Fresh is a newcomer's grace, in ticks of the arena: until ShieldUntil
// no marble can bust it, and until SpareUntil zombies do not chase it.
// Set when a player's marble is made (zero for zombies, which have no
// grace); read by collision, the zombie AI and the frame.
type Fresh struct {
	ShieldUntil, SpareUntil uint64
}

// Mass is an entity's mass. Obstacles have none.
type Mass struct{ Value float64 }

// Body is what every entity has: its kind and stable network id.
type Body struct {
	Kind Kind
	// ID names the entity on the wire for its whole life; never reused
	// within an arena.
	ID uint32
}

// Name is the display name of a player or zombie.
type Name struct{ Value string }

// Steering is a mover's wish, set by input (players) or the zombie AI, and
// its resulting boost state, set by movement and read by the mass system.
type Steering struct {
	Angle float64 // heading in radians; 0 is +x, growing toward +y
	Boost bool    // the wish to boost
	// Steered is set by the input system once a player's session has sent
	// a heading: until then the random angle a marble starts with is the
	// server's choice, and PROTOCOL.md shows heading 0 for it.
	Steered bool
	// Boosting is whether movement granted the boost this tick (it is
	// refused at or below the boost floor).
	Boosting bool
	// TopSpeed caches the unboosted top speed at mass TopSpeedMass: most
	// marbles keep their mass from tick to tick, and math.Pow is the
	// dearest step of movement.
	TopSpeed, TopSpeedMass float64
}

// Pilot marks a mover driven by a network session.
type Pilot struct {
	Session uint32
}

// Brain is a zombie's planning state.
type Brain struct {
	// Phase spreads the zombies' re-planning over ZombieThinkTicks ticks so
	// the AI cost of a tick stays flat.
	Phase uint32
	// Food is the fragment the zombie is heading for, and where it lies,
	// kept while it exists so the zombie need not search again.
	Food         arche.Entity
	FoodX, FoodY float64
}

// Mover marks players and zombies (entities with velocity and steering).
type Mover struct{}

// Fragment marks a fragment: static food.
type Fragment struct{}

// Obstacle marks a spike ball.
type Obstacle struct{}
