package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// arenaSeries counts the registry's series labelled with arena id.
func arenaSeries(t *testing.T, reg *prometheus.Registry, id string) int {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "arena" && l.GetValue() == id {
					n++
				}
			}
		}
	}
	return n
}

// TestForgetArenaDeletesItsSeries: a stopped arena's tick histograms and
// population gauge leave the registry; another arena's stay.
func TestForgetArenaDeletesItsSeries(t *testing.T) {
	m := New()
	systems := []string{"input", "movement"}
	for _, arena := range []int{0, 1} {
		m.TickObserver(arena, systems)(0.001, []float64{0.0005, 0.0005}, 25)
	}
	// total + one per system, and the population gauge.
	want := 1 + len(systems) + 1
	if n0, n1 := arenaSeries(t, m.Registry, "0"), arenaSeries(t, m.Registry, "1"); n0 != want || n1 != want {
		t.Fatalf("series before: arena 0 %d, arena 1 %d; want %d each", n0, n1, want)
	}
	m.ForgetArena(0)
	if n0, n1 := arenaSeries(t, m.Registry, "0"), arenaSeries(t, m.Registry, "1"); n0 != 0 || n1 != want {
		t.Fatalf("series after ForgetArena(0): arena 0 %d, arena 1 %d; want 0 and %d", n0, n1, want)
	}
}
