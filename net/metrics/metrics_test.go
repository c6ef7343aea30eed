package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/net/wire"
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

// TestClosedLabelSetsStartAtZero: the series of every error code, move
// why, seat event and replay failure reason are scraped before their
// first event, at zero.
func TestClosedLabelSetsStartAtZero(t *testing.T) {
	m := New()
	want := map[string]int{
		"shatter_errors_sent_total": len(wire.ErrorCodes()), "shatter_fleet_moves_total": 3,
		"shatter_fleet_seats_total": 4, "shatter_replay_failures_total": 3, "shatter_panics_total": 2,
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		n, ok := want[f.GetName()]
		if !ok {
			continue
		}
		delete(want, f.GetName())
		if len(f.GetMetric()) != n {
			t.Errorf("%s: %d series, want %d", f.GetName(), len(f.GetMetric()), n)
		}
		for _, s := range f.GetMetric() {
			if v := s.GetCounter().GetValue(); v != 0 {
				t.Errorf("%s%v = %v, want 0", f.GetName(), s.GetLabel(), v)
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("families missing before any event: %v", want)
	}
	var drain dto.Metric
	if err := m.FleetMoves.WithLabelValues(fleet.WhyDrain).Write(&drain); err != nil || drain.GetCounter() == nil {
		t.Errorf("moves{why=drain}: %v, %v; want a counter at 0", &drain, err)
	}
}

// TestSetNodeNamesOneNode: NodeInfo holds one series, the last node set.
func TestSetNodeNamesOneNode(t *testing.T) {
	m := New()
	m.SetNode("a", "ws://a/ws")
	m.SetNode("b", "ws://b/ws")
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "shatter_node_info" {
			continue
		}
		if s := f.GetMetric(); len(s) != 1 || s[0].GetGauge().GetValue() != 1 ||
			s[0].GetLabel()[0].GetValue() != "b" || s[0].GetLabel()[1].GetValue() != "ws://b/ws" {
			t.Fatalf("node_info: %v, want one series node=b url=ws://b/ws at 1", s)
		}
		return
	}
	t.Fatal("no shatter_node_info")
}

// TestCPUByMode: the process's CPU time is scraped split into user and
// system, each not going back, and the user time grows with work done in
// the process's own code.
func TestCPUByMode(t *testing.T) {
	m := New()
	modes := func() map[string]float64 {
		t.Helper()
		families, err := m.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, f := range families {
			if f.GetName() != "shatter_process_cpu_seconds_total" {
				continue
			}
			for _, s := range f.GetMetric() {
				for _, l := range s.GetLabel() {
					if l.GetName() == "mode" {
						got[l.GetValue()] = s.GetCounter().GetValue()
					}
				}
			}
		}
		return got
	}
	before := modes()
	if len(before) != 2 {
		t.Fatalf("modes scraped: %v, want user and system", before)
	}
	// Work in the process's own code until the user time has moved on:
	// getrusage counts it in clock ticks or finer.
	x := uint64(1)
	deadline := time.Now().Add(5 * time.Second)
	for modes()["user"] <= before["user"] {
		if time.Now().After(deadline) {
			t.Fatalf("user CPU time stayed at %v through 5 s of work", before["user"])
		}
		for i := range 1 << 20 {
			x = x*6364136223846793005 + uint64(i)
		}
	}
	after := modes()
	if after["system"] < before["system"] || after["user"] <= before["user"] {
		t.Fatalf("CPU time went from %v to %v (%d)", before, after, x)
	}
}
