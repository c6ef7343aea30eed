package ecs_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/shatter/shatter/ecs"
)

func TestDefaultConfigValid(t *testing.T) {
	cfg := ecs.DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v, want nil", err)
	}
	// Spot-check the DESIGN.md table.
	checks := []struct {
		name      string
		got, want float64
	}{
		{"tick_rate", float64(cfg.TickRate), 30},
		{"arena_w", cfg.ArenaWidth, 3000},
		{"arena_h", cfg.ArenaHeight, 3000},
		{"max_players", float64(cfg.MaxPlayers), 150},
		{"min_population", float64(cfg.MinPopulation), 25},
		{"terrain_samples", float64(cfg.TerrainSamples), 129},
		{"start_mass", cfg.StartMass, 20},
		{"radius_factor", cfg.RadiusFactor, 4},
		{"top_speed", cfg.TopSpeed, 220},
		{"speed_exponent", cfg.SpeedExponent, -0.22},
		{"boost_factor", cfg.BoostFactor, 2},
		{"boost_cost", cfg.BoostCost, 0.02},
		{"boost_floor", cfg.BoostFloor, 15},
		{"boost_hold", cfg.BoostHold, 1},
		{"decay_rate", cfg.DecayRate, 0.002},
		{"decay_threshold", cfg.DecayThreshold, 100},
		{"fragment_count", float64(cfg.FragmentCount), 1200},
		{"fragment_mass", cfg.FragmentMass, 1},
		{"bust_ratio", cfg.BustRatio, 1.2},
		{"bust_overlap", cfg.BustOverlap, 0.4},
		{"bust_gain", cfg.BustGain, 0.7},
		{"obstacle_count", float64(cfg.ObstacleCount), 30},
		{"obstacle_radius", cfg.ObstacleRadius, 30},
		{"obstacle_min_mass", cfg.ObstacleMinMass, 150},
		{"obstacle_loss", cfg.ObstacleLoss, 0.3},
		{"zombie_flee_range", cfg.ZombieFleeRange, 300},
		{"zombie_chase_range", cfg.ZombieChaseRange, 400},
		{"zombie_chase_ratio", cfg.ZombieChaseRatio, 0.8},
		{"view_w", cfg.ViewWidth, 600},
		{"view_h", cfg.ViewHeight, 340},
		{"view_growth", cfg.ViewGrowth, 40},
		{"leaderboard_size", float64(cfg.LeaderboardSize), 10},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("DefaultConfig %s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name  string
		edit  func(*ecs.Config)
		field string // must appear in the error
	}{
		{"tick rate 9", func(c *ecs.Config) { c.TickRate = 9 }, "tick_rate"},
		{"tick rate 121", func(c *ecs.Config) { c.TickRate = 121 }, "tick_rate"},
		{"arena width 0", func(c *ecs.Config) { c.ArenaWidth = 0 }, "arena size"},
		{"arena width +Inf", func(c *ecs.Config) { c.ArenaWidth = inf }, "arena size"},
		{"arena height -1", func(c *ecs.Config) { c.ArenaHeight = -1 }, "arena size"},
		{"arena height NaN", func(c *ecs.Config) { c.ArenaHeight = nan }, "arena size"},
		{"max players 0", func(c *ecs.Config) { c.MaxPlayers = 0 }, "max_players"},
		{"min population -1", func(c *ecs.Config) { c.MinPopulation = -1 }, "min_population"},
		{"min population above max", func(c *ecs.Config) { c.MinPopulation = c.MaxPlayers + 1 }, "min_population"},
		{"terrain samples 1", func(c *ecs.Config) { c.TerrainSamples = 1 }, "terrain_samples"},
		{"terrain samples 4098", func(c *ecs.Config) { c.TerrainSamples = 4098 }, "terrain_samples"},
		{"gravity -1", func(c *ecs.Config) { c.Gravity = -1 }, "gravity"},
		{"start mass 0", func(c *ecs.Config) { c.StartMass = 0 }, "start_mass"},
		{"start mass NaN", func(c *ecs.Config) { c.StartMass = nan }, "start_mass"},
		{"radius factor -1", func(c *ecs.Config) { c.RadiusFactor = -1 }, "radius_factor"},
		{"top speed +Inf", func(c *ecs.Config) { c.TopSpeed = inf }, "top_speed"},
		{"acceleration 0", func(c *ecs.Config) { c.Acceleration = 0 }, "acceleration"},
		{"drag -0.1", func(c *ecs.Config) { c.Drag = -0.1 }, "drag"},
		{"boost factor 0.99", func(c *ecs.Config) { c.BoostFactor = 0.99 }, "boost_factor"},
		{"boost cost -0.01", func(c *ecs.Config) { c.BoostCost = -0.01 }, "boost_cost"},
		{"boost cost 1", func(c *ecs.Config) { c.BoostCost = 1 }, "boost_cost"},
		{"boost floor -1", func(c *ecs.Config) { c.BoostFloor = -1 }, "boost_floor"},
		{"boost hold -1", func(c *ecs.Config) { c.BoostHold = -1 }, "boost_hold"},
		{"decay rate -0.1", func(c *ecs.Config) { c.DecayRate = -0.1 }, "decay_rate"},
		{"decay rate 1", func(c *ecs.Config) { c.DecayRate = 1 }, "decay_rate"},
		{"fragment count -1", func(c *ecs.Config) { c.FragmentCount = -1 }, "fragments"},
		{"fragment mass 0", func(c *ecs.Config) { c.FragmentMass = 0 }, "fragments"},
		{"max shatter fragments 0", func(c *ecs.Config) { c.MaxShatterFragments = 0 }, "fragments"},
		{"bust ratio 0.99", func(c *ecs.Config) { c.BustRatio = 0.99 }, "bust"},
		{"bust gain -0.1", func(c *ecs.Config) { c.BustGain = -0.1 }, "bust"},
		{"bust gain 1.1", func(c *ecs.Config) { c.BustGain = 1.1 }, "bust"},
		{"bust overlap -0.1", func(c *ecs.Config) { c.BustOverlap = -0.1 }, "bust"},
		{"obstacle count -1", func(c *ecs.Config) { c.ObstacleCount = -1 }, "obstacles"},
		{"obstacle radius 0", func(c *ecs.Config) { c.ObstacleRadius = 0 }, "obstacles"},
		{"obstacle loss -0.1", func(c *ecs.Config) { c.ObstacleLoss = -0.1 }, "obstacles"},
		{"obstacle loss 1", func(c *ecs.Config) { c.ObstacleLoss = 1 }, "obstacles"},
		{"zombie think ticks 0", func(c *ecs.Config) { c.ZombieThinkTicks = 0 }, "zombie_think_ticks"},
		{"view width 0", func(c *ecs.Config) { c.ViewWidth = 0 }, "view"},
		{"view height NaN", func(c *ecs.Config) { c.ViewHeight = nan }, "view"},
		{"view growth -1", func(c *ecs.Config) { c.ViewGrowth = -1 }, "view"},
		{"leaderboard size 0", func(c *ecs.Config) { c.LeaderboardSize = 0 }, "leaderboard_size"},
		{"leaderboard size 101", func(c *ecs.Config) { c.LeaderboardSize = 101 }, "leaderboard_size"},
		{"grid cell 0", func(c *ecs.Config) { c.GridCell = 0 }, "grid_cell"},
		{"grid cell +Inf", func(c *ecs.Config) { c.GridCell = inf }, "grid_cell"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ecs.DefaultConfig()
			tt.edit(&cfg)
			err := cfg.Validate()
			if !errors.Is(err, ecs.ErrConfig) {
				t.Fatalf("Validate() = %v, want an error wrapping ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tt.field) && !strings.Contains(err.Error(), "a finite number") {
				t.Errorf("Validate() = %q, want it to name %q", err, tt.field)
			}
		})
	}
}

func TestValidateAcceptsBoundaries(t *testing.T) {
	tests := []struct {
		name string
		edit func(*ecs.Config)
	}{
		{"tick rate 10", func(c *ecs.Config) { c.TickRate = 10 }},
		{"tick rate 120", func(c *ecs.Config) { c.TickRate = 120 }},
		{"min population = max", func(c *ecs.Config) { c.MinPopulation = c.MaxPlayers }},
		{"min population 0", func(c *ecs.Config) { c.MinPopulation = 0 }},
		{"one player", func(c *ecs.Config) { c.MaxPlayers, c.MinPopulation = 1, 1 }},
		{"terrain samples 2", func(c *ecs.Config) { c.TerrainSamples = 2 }},
		{"terrain samples 4097", func(c *ecs.Config) { c.TerrainSamples = 4097 }},
		{"gravity 0", func(c *ecs.Config) { c.Gravity = 0 }},
		{"drag 0", func(c *ecs.Config) { c.Drag = 0 }},
		{"boost factor 1", func(c *ecs.Config) { c.BoostFactor = 1 }},
		{"boost cost 0", func(c *ecs.Config) { c.BoostCost = 0 }},
		{"boost floor 0", func(c *ecs.Config) { c.BoostFloor = 0 }},
		{"decay rate 0", func(c *ecs.Config) { c.DecayRate = 0 }},
		{"no fragments", func(c *ecs.Config) { c.FragmentCount = 0 }},
		{"max shatter fragments 1", func(c *ecs.Config) { c.MaxShatterFragments = 1 }},
		{"bust ratio 1", func(c *ecs.Config) { c.BustRatio = 1 }},
		{"bust gain 0", func(c *ecs.Config) { c.BustGain = 0 }},
		{"bust gain 1", func(c *ecs.Config) { c.BustGain = 1 }},
		{"bust overlap 0", func(c *ecs.Config) { c.BustOverlap = 0 }},
		{"no obstacles", func(c *ecs.Config) { c.ObstacleCount = 0 }},
		{"obstacle loss 0", func(c *ecs.Config) { c.ObstacleLoss = 0 }},
		{"zombie think ticks 1", func(c *ecs.Config) { c.ZombieThinkTicks = 1 }},
		{"leaderboard size 1", func(c *ecs.Config) { c.LeaderboardSize = 1 }},
		{"leaderboard size 100", func(c *ecs.Config) { c.LeaderboardSize = 100 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ecs.DefaultConfig()
			tt.edit(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateRejectsNonFinite(t *testing.T) {
	fields := []struct {
		name string
		set  func(*ecs.Config, float64)
	}{
		{"gravity", func(c *ecs.Config, v float64) { c.Gravity = v }},
		{"speed_exponent", func(c *ecs.Config, v float64) { c.SpeedExponent = v }},
		{"drag", func(c *ecs.Config, v float64) { c.Drag = v }},
		{"boost_factor", func(c *ecs.Config, v float64) { c.BoostFactor = v }},
		{"boost_cost", func(c *ecs.Config, v float64) { c.BoostCost = v }},
		{"boost_floor", func(c *ecs.Config, v float64) { c.BoostFloor = v }},
		{"boost_hold", func(c *ecs.Config, v float64) { c.BoostHold = v }},
		{"decay_rate", func(c *ecs.Config, v float64) { c.DecayRate = v }},
		{"decay_threshold", func(c *ecs.Config, v float64) { c.DecayThreshold = v }},
		{"bust_ratio", func(c *ecs.Config, v float64) { c.BustRatio = v }},
		{"bust_overlap", func(c *ecs.Config, v float64) { c.BustOverlap = v }},
		{"bust_gain", func(c *ecs.Config, v float64) { c.BustGain = v }},
		{"obstacle_radius", func(c *ecs.Config, v float64) { c.ObstacleRadius = v }},
		{"obstacle_min_mass", func(c *ecs.Config, v float64) { c.ObstacleMinMass = v }},
		{"obstacle_loss", func(c *ecs.Config, v float64) { c.ObstacleLoss = v }},
		{"obstacle_knockback", func(c *ecs.Config, v float64) { c.ObstacleKnockback = v }},
		{"knockback_time", func(c *ecs.Config, v float64) { c.KnockbackTime = v }},
		{"zombie_flee_range", func(c *ecs.Config, v float64) { c.ZombieFleeRange = v }},
		{"zombie_chase_range", func(c *ecs.Config, v float64) { c.ZombieChaseRange = v }},
		{"zombie_chase_ratio", func(c *ecs.Config, v float64) { c.ZombieChaseRatio = v }},
		{"zombie_boost_range", func(c *ecs.Config, v float64) { c.ZombieBoostRange = v }},
		{"zombie_search_range", func(c *ecs.Config, v float64) { c.ZombieSearchRange = v }},
	}
	for _, fld := range fields {
		for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			t.Run(fld.name+" "+strings.ToLower(ftoa(v)), func(t *testing.T) {
				cfg := ecs.DefaultConfig()
				fld.set(&cfg, v)
				if err := cfg.Validate(); !errors.Is(err, ecs.ErrConfig) {
					t.Errorf("%s = %v: Validate() = %v, want an error wrapping ErrConfig", fld.name, v, err)
				}
			})
		}
	}
}

func ftoa(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	}
	return "-Inf"
}

func TestRadiusAndSpeed(t *testing.T) {
	cfg := ecs.DefaultConfig()
	tests := []struct {
		mass       float64
		wantRadius float64
	}{
		{1, 4}, {20, 4 * math.Sqrt(20)}, {25, 20}, {100, 40}, {150, 4 * math.Sqrt(150)},
	}
	for _, tt := range tests {
		if got := cfg.Radius(tt.mass); !near(got, tt.wantRadius, 1e-12) {
			t.Errorf("Radius(%v) = %v, want %v", tt.mass, got, tt.wantRadius)
		}
		want := 220 * math.Pow(tt.mass, -0.22)
		if got := cfg.MaxSpeed(tt.mass, false); !near(got, want, 1e-12) {
			t.Errorf("MaxSpeed(%v, false) = %v, want %v", tt.mass, got, want)
		}
		if got := cfg.MaxSpeed(tt.mass, true); !near(got, 2*want, 1e-12) {
			t.Errorf("MaxSpeed(%v, true) = %v, want %v", tt.mass, got, 2*want)
		}
	}
	// Bigger is slower.
	if cfg.MaxSpeed(200, false) >= cfg.MaxSpeed(20, false) {
		t.Errorf("MaxSpeed(200) = %v >= MaxSpeed(20) = %v, want slower", cfg.MaxSpeed(200, false), cfg.MaxSpeed(20, false))
	}
}

func TestViewHalfSize(t *testing.T) {
	cfg := ecs.DefaultConfig()
	tests := []struct {
		mass, wantW, wantH float64
	}{
		{0, 600, 340},
		{100, 600 * 1.25, 340 * 1.25},
		{1600, 1200, 680},
	}
	for _, tt := range tests {
		w, h := cfg.ViewHalfSize(tt.mass)
		if !near(w, tt.wantW, 1e-9) || !near(h, tt.wantH, 1e-9) {
			t.Errorf("ViewHalfSize(%v) = %v, %v, want %v, %v", tt.mass, w, h, tt.wantW, tt.wantH)
		}
	}
}

func TestForPopulation(t *testing.T) {
	def := ecs.DefaultConfig()
	tests := []struct {
		movers, frags, obstacles int
		wantSide                 float64
	}{
		{10, 100, 3, 3000},    // never smaller than the default arena
		{150, 1200, 30, 3000}, // the default density
		{600, 4800, 120, 6000},
		{15000, 0, 0, 30000},
	}
	for _, tt := range tests {
		cfg := def.ForPopulation(tt.movers, tt.frags, tt.obstacles)
		if !near(cfg.ArenaWidth, tt.wantSide, 1e-6) || cfg.ArenaHeight != cfg.ArenaWidth {
			t.Errorf("ForPopulation(%d): arena %vx%v, want %vx%v", tt.movers, cfg.ArenaWidth, cfg.ArenaHeight, tt.wantSide, tt.wantSide)
		}
		if cfg.MinPopulation != tt.movers || cfg.MaxPlayers < tt.movers || cfg.FragmentCount != tt.frags || cfg.ObstacleCount != tt.obstacles {
			t.Errorf("ForPopulation(%d, %d, %d) = min %d max %d frags %d obstacles %d, want the counts asked for",
				tt.movers, tt.frags, tt.obstacles, cfg.MinPopulation, cfg.MaxPlayers, cfg.FragmentCount, cfg.ObstacleCount)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("ForPopulation(%d).Validate() = %v, want nil", tt.movers, err)
		}
	}
	if def.MinPopulation != 25 {
		t.Errorf("ForPopulation changed its receiver: MinPopulation = %d, want 25", def.MinPopulation)
	}
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestRulesCoverEveryFieldAndPointIntoConfig(t *testing.T) {
	cfg := ecs.DefaultConfig()
	rules := cfg.Rules()
	if got, want := len(rules), reflect.TypeOf(cfg).NumField(); got != want {
		t.Fatalf("Rules lists %d rules, Config has %d fields: every field needs a rule tag", got, want)
	}
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.Name] {
			t.Errorf("rule %q listed twice", r.Name)
		}
		seen[r.Name] = true
		if (r.Int == nil) == (r.Float == nil) {
			t.Errorf("rule %q: want exactly one of Int and Float set", r.Name)
		}
	}
	if rules[0].Name != "tick_rate" || rules[0].Value() != 30 {
		t.Errorf("first rule = %s %v, want tick_rate 30 (field order)", rules[0].Name, rules[0].Value())
	}
	// Writing through a rule changes the config it came from.
	for _, r := range rules {
		switch r.Name {
		case "tick_rate":
			*r.Int = 60
		case "boost_factor":
			*r.Float = 3.5
		}
	}
	if cfg.TickRate != 60 || cfg.BoostFactor != 3.5 {
		t.Errorf("after writing through Rules: tick_rate %d boost_factor %v, want 60 and 3.5", cfg.TickRate, cfg.BoostFactor)
	}
}
