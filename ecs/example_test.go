package ecs_test

import (
	"fmt"

	"github.com/shatter/shatter/ecs"
)

// ExampleNewWorld builds a small arena, places a player and some food, and
// reads the rules that apply to them.
func ExampleNewWorld() {
	cfg := ecs.DefaultConfig()
	cfg.ObstacleCount = 2
	w, a := ecs.NewWorld(cfg, 42)

	sess := a.AddSession(1, "ann")
	sess.Marble = a.NewMarble(1, "ann", 1500, 1500, cfg.StartMass)
	a.NewFragment(1510, 1500, cfg.FragmentMass)

	fmt.Println("same arena:", ecs.StateOf(w) == a)
	fmt.Println("movers:", a.MoverCount, "fragments:", a.Fragments.Len(), "obstacles:", a.Obstacles.Len())
	fmt.Printf("radius %.2f, top speed %.2f (boosted %.2f)\n",
		cfg.Radius(cfg.StartMass), cfg.MaxSpeed(cfg.StartMass, false), cfg.MaxSpeed(cfg.StartMass, true))
	// Output:
	// same arena: true
	// movers: 1 fragments: 1 obstacles: 2
	// radius 17.89, top speed 113.81 (boosted 227.63)
}

// ExampleConfig_Validate shows the error a bad rule number gets.
func ExampleConfig_Validate() {
	cfg := ecs.DefaultConfig()
	cfg.TickRate = 500
	fmt.Println(cfg.Validate())
	// Output:
	// invalid config: tick_rate = 500, want 10..120
}
