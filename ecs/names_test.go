package ecs_test

import (
	"slices"
	"testing"

	arche "github.com/mlange-42/arche/ecs"

	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/internal/allocprof"
)

func TestDistinctName(t *testing.T) {
	taken := func(names ...string) func(string) bool {
		return func(n string) bool {
			for _, m := range names {
				if m == n {
					return true
				}
			}
			return false
		}
	}
	tests := []struct {
		name  string
		taken []string
		want  string
	}{
		{"Flint", nil, "Flint"},
		{"Flint", []string{"Flint"}, "Flint 2"},
		{"Flint", []string{"Flint", "Flint 2", "Flint 3"}, "Flint 4"},
		{"Flint 2", []string{"Flint 2"}, "Flint 2 2"},
		{"Sixteen chars!!!", []string{"Sixteen chars!!!"}, "Sixteen chars! 2"},
		{"ÄÖÜäöüßÄÖÜäöüßÄÖ", []string{"ÄÖÜäöüßÄÖÜäöüßÄÖ"}, "ÄÖÜäöüßÄÖÜäöüß 2"},
	}
	for _, tt := range tests {
		if got := ecs.DistinctName(tt.name, taken(tt.taken...)); got != tt.want {
			t.Errorf("DistinctName(%q) with %q taken = %q, want %q", tt.name, tt.taken, got, tt.want)
		}
	}
}

// TestZombieName: a zombie's name is its base while free, else the lowest
// free "base n"; a name freed by a busted zombie, or by a session that
// left, is given again, and a session's name is never given.
func TestZombieName(t *testing.T) {
	_, a := ecs.NewWorld(ecs.DefaultConfig(), 1)
	var got []string
	var marbles []arche.Entity
	for range 5 {
		name := a.ZombieName("Tumble")
		got = append(got, name)
		marbles = append(marbles, a.NewMarble(0, name, 100, 100, 20))
	}
	want := []string{"Tumble", "Tumble 2", "Tumble 3", "Tumble 4", "Tumble 5"}
	if !slices.Equal(got, want) {
		t.Fatalf("names %q, want %q", got, want)
	}
	a.Remove(marbles[2]) // Tumble 3
	if n := a.ZombieName("Tumble"); n != "Tumble 3" {
		t.Fatalf("after Tumble 3 was busted: %q, want Tumble 3 again", n)
	}
	a.NewMarble(0, "Tumble 3", 100, 100, 20)
	a.AddSession(7, "Tumble 6")
	if n := a.ZombieName("Tumble"); n != "Tumble 7" {
		t.Fatalf("with a session named Tumble 6: %q, want Tumble 7", n)
	}
	a.RemoveSession(7)
	if n := a.ZombieName("Tumble"); n != "Tumble 6" {
		t.Fatalf("after the session left: %q, want Tumble 6", n)
	}
}

// TestReserveZombieNames: names made ahead are the names ZombieName gives
// anyway, and naming zombies within the reservation allocates nothing.
func TestReserveZombieNames(t *testing.T) {
	bases := []string{"Flint", "Sixteen chars!!!"}
	_, plain := ecs.NewWorld(ecs.DefaultConfig(), 1)
	_, reserved := ecs.NewWorld(ecs.DefaultConfig(), 1)
	reserved.ReserveZombieNames(bases, 40) // 20 a base, and more
	var marbles [2][]arche.Entity
	r := ecs.NewRand(4)
	for i := range 200 {
		base := bases[r.Intn(len(bases))]
		for j, a := range []*ecs.State{plain, reserved} {
			if len(marbles[j]) > 30 { // bust one, freeing its name
				k := i % len(marbles[j])
				a.Remove(marbles[j][k])
				marbles[j] = append(marbles[j][:k], marbles[j][k+1:]...)
			}
		}
		got, want := reserved.ZombieName(base), plain.ZombieName(base)
		if got != want {
			t.Fatalf("draw %d: reserved gives %q, plain %q", i, got, want)
		}
		marbles[0] = append(marbles[0], plain.NewMarble(0, want, 100, 100, 20))
		marbles[1] = append(marbles[1], reserved.NewMarble(0, got, 100, 100, 20))
	}
	for _, e := range marbles[1] {
		reserved.Remove(e)
	}
	// Each new Flint takes the next suffix, up to 41, a name never given
	// before in this arena: already made, it allocates nothing.
	for held := range 40 {
		var name string
		if n := allocprof.In("github.com/shatter/shatter/ecs.(*State).ZombieName", func() { name = reserved.ZombieName("Flint") }); n != 0 {
			t.Fatalf("naming a zombie %q with %d Flints alive: %d allocs, want 0", name, held, n)
		}
		reserved.NewMarble(0, name, 100, 100, 20)
	}
}
