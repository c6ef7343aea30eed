package systems_test

import (
	"fmt"
	"strings"

	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/systems"
)

// ExampleDefault runs one tick of every system on a fresh arena: the
// population system fills it with zombies and fragments.
func ExampleDefault() {
	cfg := ecs.DefaultConfig()
	w, a := ecs.NewWorld(cfg, 1)
	ss := systems.Default()
	for _, s := range ss {
		s.Initialize(w)
	}
	a.Tick++
	var names []string
	for _, s := range ss {
		names = append(names, s.Name())
		s.Update(w)
	}
	fmt.Println(strings.Join(names, " "))
	fmt.Println("movers:", a.MoverCount, "fragments:", a.Fragments.Len(), "obstacles:", a.Obstacles.Len())
	// Output:
	// input zombie movement mass spatial eat collision population leaderboard
	// movers: 25 fragments: 1200 obstacles: 30
}
