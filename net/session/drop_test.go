package session

import (
	"testing"

	"github.com/shatter/shatter/net/metrics"
)

// TestStartDropSeries: every drop reason's series is scraped at zero
// before its first drop.
func TestStartDropSeries(t *testing.T) {
	m := metrics.New()
	StartDropSeries(m)
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "shatter_messages_dropped_total" {
			if n := len(f.GetMetric()); n != int(numDropReasons) {
				t.Fatalf("%d drop series, want %d", n, numDropReasons)
			}
			for _, s := range f.GetMetric() {
				if v := s.GetCounter().GetValue(); v != 0 {
					t.Errorf("drops%v = %v, want 0", s.GetLabel(), v)
				}
			}
			return
		}
	}
	t.Fatal("no shatter_messages_dropped_total in the scrape")
}
