package server

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shatter/shatter/net/fleet"
)

// adminMux routes the admin listener: metrics, profiles and arena status.
func (s *Server) adminMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{Registry: s.metrics.Registry}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/arenas", s.handleArenas)
	mux.HandleFunc("/fleet", s.handleFleet)
	return mux
}

// ArenaStatus is one row of /arenas.
type ArenaStatus struct {
	ID         int     `json:"id"`
	Tick       uint64  `json:"tick"`
	Sessions   int     `json:"sessions"`
	Population int     `json:"population"` // players+zombies
	TickP50Ms  float64 `json:"tick_p50_ms"`
	TickP99Ms  float64 `json:"tick_p99_ms"`
	TickMaxMs  float64 `json:"tick_max_ms"`
}

func (s *Server) handleArenas(w http.ResponseWriter, r *http.Request) {
	var out []ArenaStatus
	for _, a := range s.lobby.Arenas() {
		p := a.Percentiles()
		f := a.Acquire()
		pop := f.Movers
		f.Release()
		out = append(out, ArenaStatus{
			ID: a.ID(), Tick: a.Tick(), Sessions: a.Seats(), Population: pop,
			TickP50Ms: ms(p.P50), TickP99Ms: ms(p.P99), TickMaxMs: ms(p.Max),
		})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"arenas": out})
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// NodeStatus is one row of /fleet.
type NodeStatus struct {
	ID             string            `json:"id"`
	URL            string            `json:"url"`
	State          string            `json:"state"`
	Capacity       int               `json:"capacity"`
	Players        int               `json:"players"`
	Online         int               `json:"online"`
	Arenas         []fleet.ArenaLoad `json:"arenas"`
	HeartbeatAgeMs float64           `json:"heartbeat_age_ms"`
}

// handleFleet lists the fleet's live nodes, as the directory has them
// (PROTOCOL.md: dead nodes are not listed).
func (s *Server) handleFleet(w http.ResponseWriter, r *http.Request) {
	nodes, err := s.lobby.Nodes(r.Context())
	if err != nil {
		http.Error(w, "fleet directory unreachable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	self, _ := s.lobby.Node()
	out := make([]NodeStatus, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, NodeStatus{ID: n.Node, URL: n.URL, State: string(n.State), Capacity: n.Capacity,
			Players: n.Players, Online: n.Online, Arenas: n.Arenas, HeartbeatAgeMs: ms(n.Age)})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"self": self, "nodes": out})
}
