package main

import (
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/shatter/shatter/internal/dashboard"
	"github.com/shatter/shatter/net/fleet/redistest"
)

// dashboardPath is the Grafana dashboard kept in the repository.
const dashboardPath = "../../deploy/grafana/shatter.json"

// scrape reads and parses a node's /metrics.
func (n *node) scrape() dashboard.Scrape {
	n.t.Helper()
	resp, err := http.Get("http://" + n.admin + "/metrics")
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		n.t.Fatalf("node %s: /metrics answered %s", n.id, resp.Status)
	}
	s, err := dashboard.ParseScrape(resp.Body)
	if err != nil {
		n.t.Fatalf("node %s: %v", n.id, err)
	}
	return s
}

// TestDashboardQueriesExist runs a two-node fleet over a real Redis, plays
// on it (players on both nodes spawn, steer and leave; Redis freezes long
// enough for each node to count a directory error), then checks the
// repository's Grafana dashboard against both nodes' /metrics: its shape,
// and that every metric, matcher and grouping label its queries use is
// there. A panel whose metric was renamed or removed fails here, not on
// an operator's screen.
func TestDashboardQueriesExist(t *testing.T) {
	f, err := os.Open(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	d, err := dashboard.Load(f)
	f.Close()
	if err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}

	redis := redistest.Start(t)
	a := startNode(t, redis)
	b := startNode(t, redis)
	a.waitFleet(leaseWindow, a.id, b.id)
	b.waitFleet(leaseWindow, a.id, b.id)
	var stay []*player
	for _, n := range []*node{a, b} {
		for i := range 2 {
			p := mustDial(t, n, fmt.Sprintf("%s-%d", n.id, i), "")
			p.spawn(t)
			for k := range 10 {
				if _, err := p.c.SendInput(float64(k)/3, k%4 == 0); err != nil {
					t.Fatal(err)
				}
			}
			if i == 0 {
				_ = p.c.Close() // a session that ends
			} else {
				stay = append(stay, p)
			}
		}
	}
	redis.Freeze()
	waitFor(t, 10*time.Second, "a directory error counted on both nodes", func() bool {
		return a.scrape().Sum("shatter_fleet_errors_total") > 0 && b.scrape().Sum("shatter_fleet_errors_total") > 0
	})
	redis.Thaw()
	a.waitFleet(leaseWindow, a.id, b.id)
	b.waitFleet(leaseWindow, a.id, b.id)
	// The fleet's player count: the two players who stayed, one a node.
	for _, n := range []*node{a, b} {
		waitFor(t, leaseWindow, "node "+n.id+" counts the fleet's 2 players", func() bool {
			return n.scrape().Sum("shatter_fleet_players") == float64(len(stay))
		})
	}

	queries := d.Queries()
	if len(queries) < 20 {
		t.Fatalf("%s has %d queries; the dashboard lost its panels?", dashboardPath, len(queries))
	}
	for _, n := range []*node{a, b} {
		s := n.scrape()
		if err := dashboard.Check(d, s); err != nil {
			t.Errorf("node %s's /metrics lacks what %s queries:\n%v", n.id, dashboardPath, err)
		}
		if info := s["shatter_node_info"]; len(info) != 1 || info[0].Labels["node"] != n.id || info[0].Labels["url"] != n.ws {
			t.Errorf("node %s: shatter_node_info %v, want node=%s url=%s", n.id, info, n.id, n.ws)
		}
	}
}
