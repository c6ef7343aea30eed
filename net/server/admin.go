package server

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
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
