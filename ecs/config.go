package ecs

import (
	"errors"
	"fmt"
	"math"
	"reflect"
)

// Config holds every rule number of an arena. The defaults are the table in
// DESIGN.md; each field's `rule` tag is the name under which the value is
// sent to clients in the welcome message's rules map (PROTOCOL.md), and the
// name of the server flag that sets it.
//
// Config is plain data: it is copied into an arena at construction and never
// changed while the arena runs, so a replay log's copy reproduces the match.
type Config struct {
	TickRate int `json:"tick_rate" rule:"tick_rate"` // ticks a second, 10..120

	ArenaWidth    float64 `json:"arena_w" rule:"arena_w"`         // units
	ArenaHeight   float64 `json:"arena_h" rule:"arena_h"`         // units
	MaxPlayers    int     `json:"max_players" rule:"max_players"` // players+zombies in one arena
	MinPopulation int     `json:"min_population" rule:"min_population"`

	TerrainSamples int     `json:"terrain_samples" rule:"terrain_samples"` // heightmap samples per side
	Gravity        float64 `json:"gravity" rule:"gravity"`                 // units/s² of pull per unit of height per unit of distance

	StartMass    float64 `json:"start_mass" rule:"start_mass"`
	RadiusFactor float64 `json:"radius_factor" rule:"radius_factor"` // radius = RadiusFactor * sqrt(mass)

	TopSpeed      float64 `json:"top_speed" rule:"top_speed"`           // units/s at mass 1
	SpeedExponent float64 `json:"speed_exponent" rule:"speed_exponent"` // top speed = TopSpeed * mass^SpeedExponent
	Acceleration  float64 `json:"acceleration" rule:"acceleration"`     // units/s² toward the heading
	Drag          float64 `json:"drag" rule:"drag"`                     // fraction of velocity lost per second
	BoostFactor   float64 `json:"boost_factor" rule:"boost_factor"`     // top speed multiplier while boosting

	BoostCost  float64 `json:"boost_cost" rule:"boost_cost"`   // fraction of mass burnt per second of boost
	BoostFloor float64 `json:"boost_floor" rule:"boost_floor"` // boost is refused at or below this mass
	// BoostHold is how long, in seconds, a player's boost wish stands
	// without a new input: a client that stops sending (it stopped
	// reading, froze, or its link went quiet) stops burning mass. 0 means
	// the wish stands until the next input, which is what replay logs
	// recorded before this rule read (their configs lack the field).
	BoostHold float64 `json:"boost_hold" rule:"boost_hold"`

	DecayRate      float64 `json:"decay_rate" rule:"decay_rate"`           // fraction of mass lost per second above DecayThreshold
	DecayThreshold float64 `json:"decay_threshold" rule:"decay_threshold"` // mass

	FragmentCount       int     `json:"fragment_count" rule:"fragment_count"`
	FragmentMass        float64 `json:"fragment_mass" rule:"fragment_mass"`
	MaxShatterFragments int     `json:"max_shatter_fragments" rule:"max_shatter_fragments"` // fragments one bust or hit may scatter

	BustRatio   float64 `json:"bust_ratio" rule:"bust_ratio"`     // A busts B when A.mass >= BustRatio * B.mass ...
	BustOverlap float64 `json:"bust_overlap" rule:"bust_overlap"` // ... and distance <= A.radius - BustOverlap * B.radius
	BustGain    float64 `json:"bust_gain" rule:"bust_gain"`       // share of B's mass A gains; the rest shatters

	ObstacleCount     int     `json:"obstacle_count" rule:"obstacle_count"`
	ObstacleRadius    float64 `json:"obstacle_radius" rule:"obstacle_radius"`
	ObstacleMinMass   float64 `json:"obstacle_min_mass" rule:"obstacle_min_mass"`   // players at or above this mass are hurt
	ObstacleLoss      float64 `json:"obstacle_loss" rule:"obstacle_loss"`           // share of mass lost on a hit
	ObstacleKnockback float64 `json:"obstacle_knockback" rule:"obstacle_knockback"` // units/s away from the obstacle
	// KnockbackTime is how long, in seconds, a spike ball's push lasts:
	// it is added to the marble's own roll, past its top speed, and fades
	// linearly to nothing over this time. 0 sets the marble's velocity
	// to the push, which the next tick's speed cap cuts at once: what
	// replay logs recorded before this rule (their configs lack it).
	KnockbackTime float64 `json:"knockback_time" rule:"knockback_time"`

	ZombieFleeRange   float64 `json:"zombie_flee_range" rule:"zombie_flee_range"`
	ZombieChaseRange  float64 `json:"zombie_chase_range" rule:"zombie_chase_range"`
	ZombieChaseRatio  float64 `json:"zombie_chase_ratio" rule:"zombie_chase_ratio"`   // chase movers lighter than this share of own mass
	ZombieBoostRange  float64 `json:"zombie_boost_range" rule:"zombie_boost_range"`   // boost when the chased or feared mover is this close
	ZombieThinkTicks  int     `json:"zombie_think_ticks" rule:"zombie_think_ticks"`   // a zombie re-plans every this many ticks
	ZombieSearchRange float64 `json:"zombie_search_range" rule:"zombie_search_range"` // how far a zombie looks for fragments

	// SpawnShield is how long, in seconds, a player's new marble (spawned
	// or arrived from another node) cannot be busted, and ZombieSpare how
	// long zombies leave it alone (they do not chase it): a newcomer gets
	// a moment to look around. 0, as in replay logs recorded before these
	// rules, gives no grace.
	SpawnShield float64 `json:"spawn_shield" rule:"spawn_shield"`
	ZombieSpare float64 `json:"zombie_spare" rule:"zombie_spare"`

	ViewWidth  float64 `json:"view_w" rule:"view_w"`           // half-width of a session's view at mass 0
	ViewHeight float64 `json:"view_h" rule:"view_h"`           // half-height of a session's view at mass 0
	ViewGrowth float64 `json:"view_growth" rule:"view_growth"` // view scale = 1 + sqrt(mass)/ViewGrowth

	LeaderboardSize int `json:"leaderboard_size" rule:"leaderboard_size"`

	GridCell float64 `json:"grid_cell" rule:"grid_cell"` // spatial grid cell size in units
}

// DefaultConfig returns the rules of DESIGN.md.
func DefaultConfig() Config {
	return Config{
		TickRate:            30,
		ArenaWidth:          3000,
		ArenaHeight:         3000,
		MaxPlayers:          150,
		MinPopulation:       25,
		TerrainSamples:      129,
		Gravity:             30000,
		StartMass:           20,
		RadiusFactor:        4,
		TopSpeed:            220,
		SpeedExponent:       -0.22,
		Acceleration:        900,
		Drag:                1.5,
		BoostFactor:         2,
		BoostCost:           0.02,
		BoostFloor:          15,
		BoostHold:           1,
		DecayRate:           0.002,
		DecayThreshold:      100,
		FragmentCount:       1200,
		FragmentMass:        1,
		MaxShatterFragments: 40,
		BustRatio:           1.2,
		BustOverlap:         0.4,
		BustGain:            0.7,
		ObstacleCount:       30,
		ObstacleRadius:      30,
		ObstacleMinMass:     150,
		ObstacleLoss:        0.3,
		ObstacleKnockback:   400,
		KnockbackTime:       0.5,
		ZombieFleeRange:     300,
		ZombieChaseRange:    400,
		ZombieChaseRatio:    0.8,
		ZombieBoostRange:    150,
		ZombieThinkTicks:    3,
		ZombieSearchRange:   600,
		SpawnShield:         3,
		ZombieSpare:         35,
		ViewWidth:           600,
		ViewHeight:          340,
		ViewGrowth:          40,
		LeaderboardSize:     10,
		GridCell:            100,
	}
}

// ErrConfig is wrapped by every error Validate returns.
var ErrConfig = errors.New("invalid config")

// Validate reports the first field whose value would break the simulation.
func (c *Config) Validate() error {
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("%w: %s = %v, want %s", ErrConfig, field, v, want)
	}
	finitePos := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) }
	// NaN passes every comparison below, and flags parse "NaN" and "Inf":
	// refuse non-finite numbers in any field first.
	for _, r := range c.Rules() {
		if r.Float != nil && (math.IsNaN(*r.Float) || math.IsInf(*r.Float, 0)) {
			return bad(r.Name, *r.Float, "a finite number")
		}
	}
	switch {
	case c.TickRate < 10 || c.TickRate > 120:
		return bad("tick_rate", c.TickRate, "10..120")
	case !finitePos(c.ArenaWidth) || !finitePos(c.ArenaHeight):
		return bad("arena size", fmt.Sprintf("%vx%v", c.ArenaWidth, c.ArenaHeight), "positive")
	case c.MaxPlayers < 1:
		return bad("max_players", c.MaxPlayers, ">= 1")
	case c.MinPopulation < 0 || c.MinPopulation > c.MaxPlayers:
		return bad("min_population", c.MinPopulation, "0..max_players")
	case c.TerrainSamples < 2 || c.TerrainSamples > 4097:
		return bad("terrain_samples", c.TerrainSamples, "2..4097")
	case c.Gravity < 0:
		return bad("gravity", c.Gravity, ">= 0")
	case !finitePos(c.StartMass) || !finitePos(c.RadiusFactor) || !finitePos(c.TopSpeed):
		return bad("start_mass/radius_factor/top_speed", "", "positive")
	case !finitePos(c.Acceleration) || c.Drag < 0 || c.BoostFactor < 1:
		return bad("acceleration/drag/boost_factor", "", "acceleration > 0, drag >= 0, boost_factor >= 1")
	case c.BoostCost < 0 || c.BoostCost >= 1 || c.BoostFloor < 0:
		return bad("boost_cost/boost_floor", "", "cost in [0,1), floor >= 0")
	case c.BoostHold < 0:
		return bad("boost_hold", c.BoostHold, ">= 0 (0: no limit)")
	case c.DecayRate < 0 || c.DecayRate >= 1:
		return bad("decay_rate", c.DecayRate, "[0,1)")
	case c.FragmentCount < 0 || !finitePos(c.FragmentMass) || c.MaxShatterFragments < 1:
		return bad("fragments", "", "count >= 0, mass > 0, max_shatter_fragments >= 1")
	case c.BustRatio < 1 || c.BustGain < 0 || c.BustGain > 1 || c.BustOverlap < 0:
		return bad("bust", "", "ratio >= 1, gain in [0,1], overlap >= 0")
	case c.ObstacleCount < 0 || c.ObstacleRadius <= 0 || c.ObstacleLoss < 0 || c.ObstacleLoss >= 1:
		return bad("obstacles", "", "count >= 0, radius > 0, loss in [0,1)")
	case c.ZombieThinkTicks < 1:
		return bad("zombie_think_ticks", c.ZombieThinkTicks, ">= 1")
	case c.ZombieFleeRange < 0 || c.ZombieChaseRange < 0 || c.ZombieChaseRatio < 0 || c.ZombieBoostRange < 0:
		return bad("zombie ranges", "", ">= 0")
	case c.ZombieSearchRange < 0 || c.ZombieSearchRange > math.Hypot(c.ArenaWidth, c.ArenaHeight):
		// Past the arena's diagonal a search only visits empty rings.
		return bad("zombie_search_range", c.ZombieSearchRange, "0..the arena's diagonal")
	case c.ObstacleKnockback < 0 || c.ObstacleMinMass < 0 || c.DecayThreshold < 0:
		return bad("obstacle_knockback/obstacle_min_mass/decay_threshold", "", ">= 0")
	case c.SpawnShield < 0 || c.ZombieSpare < 0 || c.SpawnShield > 3600 || c.ZombieSpare > 3600:
		return bad("spawn_shield/zombie_spare", "", "0..3600 seconds")
	case c.KnockbackTime < 0 || c.KnockbackTime > 10:
		return bad("knockback_time", c.KnockbackTime, "0..10 seconds")
	case !finitePos(c.ViewWidth) || !finitePos(c.ViewHeight) || !finitePos(c.ViewGrowth):
		return bad("view", "", "positive")
	case c.LeaderboardSize < 1 || c.LeaderboardSize > 100:
		return bad("leaderboard_size", c.LeaderboardSize, "1..100")
	case !finitePos(c.GridCell):
		return bad("grid_cell", c.GridCell, "positive")
	}
	return nil
}

// Rule is one rule of a Config: its name, which is the field's `rule` tag,
// and a pointer to the field. Exactly one of Int and Float is set.
type Rule struct {
	Name  string
	Int   *int
	Float *float64
}

// Value returns the rule's value as a number.
func (r Rule) Value() float64 {
	if r.Int != nil {
		return float64(*r.Int)
	}
	return *r.Float
}

// Rules lists c's rules in field order, pointing into c. It is the one walk
// over the `rule` tags: validation, the command-line flags and the
// welcome's rules map are all made from it, so a new rule field shows up
// in each of them. Panics if a tagged field is neither int nor float64
// (a programmer error caught by the package's tests).
func (c *Config) Rules() []Rule {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	rules := make([]Rule, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name := t.Field(i).Tag.Get("rule")
		if name == "" {
			continue
		}
		switch p := v.Field(i).Addr().Interface().(type) {
		case *int:
			rules = append(rules, Rule{Name: name, Int: p})
		case *float64:
			rules = append(rules, Rule{Name: name, Float: p})
		default:
			panic(fmt.Sprintf("ecs: config field %s has unsupported type %s", t.Field(i).Name, t.Field(i).Type))
		}
	}
	return rules
}

// Radius is the radius of a marble of the given mass.
func (c *Config) Radius(mass float64) float64 { return c.RadiusFactor * math.Sqrt(mass) }

// BoostHoldTicks is BoostHold in whole ticks (at least 1), or 0 when a
// boost wish stands until the next input.
func (c *Config) BoostHoldTicks() uint64 {
	if c.BoostHold <= 0 {
		return 0
	}
	return max(1, uint64(math.Round(c.BoostHold*float64(c.TickRate))))
}

// KnockbackTicks is KnockbackTime in whole ticks (at least 1), or 0 when
// a knockback is a plain velocity that the speed cap cuts.
func (c *Config) KnockbackTicks() uint32 {
	if c.KnockbackTime <= 0 {
		return 0
	}
	return max(1, uint32(math.Round(c.KnockbackTime*float64(c.TickRate))))
}

// SecondsToTicks is a span of seconds in whole ticks, rounded.
func (c *Config) SecondsToTicks(s float64) uint64 {
	return uint64(math.Round(max(s, 0) * float64(c.TickRate)))
}

// MaxSpeed is the top speed of a marble of the given mass, boosted or not.
func (c *Config) MaxSpeed(mass float64, boosting bool) float64 {
	s := c.TopSpeed * math.Pow(mass, c.SpeedExponent)
	if boosting {
		s *= c.BoostFactor
	}
	return s
}

// ViewHalfSize is the half-width and half-height of the rectangle a session
// with a marble of the given mass sees around it (DESIGN.md "Views").
func (c *Config) ViewHalfSize(mass float64) (w, h float64) {
	scale := 1 + math.Sqrt(mass)/c.ViewGrowth
	return c.ViewWidth * scale, c.ViewHeight * scale
}

// MaxMovers is the most marbles an arena holds at once: zombies fill it to
// MinPopulation, and a player joining at MaxPlayers displaces a zombie.
// Per-tick lists get room for this many up front, so that a busy tick does
// not grow them while the arena plays.
func (c *Config) MaxMovers() int { return max(c.MinPopulation, c.MaxPlayers) }

// ForPopulation returns c resized for a headless load of the given number
// of zombies, fragments and obstacles: the arena keeps the mover density of
// a full default arena (150 marbles on 3000 x 3000), so per-marble work
// stays what a real match costs and total work grows linearly with the
// population. Benchmarks, profiles and the headless mode use it.
func (c Config) ForPopulation(movers, fragments, obstacles int) Config {
	def := DefaultConfig()
	areaPerMover := def.ArenaWidth * def.ArenaHeight / float64(def.MaxPlayers)
	side := max(def.ArenaWidth, math.Sqrt(float64(movers)*areaPerMover))
	c.ArenaWidth, c.ArenaHeight = side, side
	c.MinPopulation = movers
	c.MaxPlayers = max(c.MaxPlayers, movers)
	c.FragmentCount = fragments
	c.ObstacleCount = obstacles
	return c
}
