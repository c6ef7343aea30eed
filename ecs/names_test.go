package ecs_test

import (
	"testing"

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
