package ecs_test

import (
	"slices"
	"testing"

	arche "github.com/mlange-42/arche/ecs"

	"github.com/shatter/shatter/ecs"
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
