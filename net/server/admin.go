package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/sim"
)

// adminMux routes the admin API: metrics, profiles, arena status and the
// console's stream (console.go); withConsole adds the console's page.
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
	mux.HandleFunc("POST /arenas/{id}/clip", s.handleClip)
	mux.HandleFunc("GET /sessions", s.handleSessions)
	mux.HandleFunc("POST /sessions/{id}/kick", s.handleKick)
	mux.HandleFunc("POST /nodes/{id}/drain", s.handleDrain)
	mux.HandleFunc("POST /arenas/{id}/stop", s.handleStop)
	mux.HandleFunc("GET /bans", s.handleBans)
	mux.HandleFunc("POST /bans", s.handleBan)
	mux.HandleFunc("DELETE /bans/{prefix...}", s.handleUnban)
	mux.HandleFunc("GET /events", s.handleEvents)
	return mux
}

// handleClip cuts the last minutes of an arena's play from its clip ring
// (?minutes=, the whole ring if absent) and answers with the clip, a
// standalone replay log that starts at a keyframe (sim.ClipRing.Clip).
// With ?node= naming another node, that node cuts it and the clip comes
// back through the directory (fleet.Answer's Data).
func (s *Server) handleClip(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := strconv.Atoi(id); err != nil {
		adminError(w, http.StatusBadRequest, "arena id: not a number")
		return
	}
	var minutes float64
	if q := r.URL.Query().Get("minutes"); q != "" {
		var err error
		if minutes, err = strconv.ParseFloat(q, 64); err != nil || !(minutes > 0) || math.IsInf(minutes, 0) {
			adminError(w, http.StatusBadRequest, "minutes: a number above 0")
			return
		}
	}
	res := s.act(r.Context(), fleet.Command{Node: r.URL.Query().Get("node"), Kind: cmdClip, Target: id, Minutes: minutes, By: adminWho(r)})
	name, _ := res.body["filename"].(string)
	if res.status != http.StatusOK {
		res.write(w)
		return
	}
	if res.data == nil || name == "" {
		// The directory lost the file (evicted under maxmemory).
		failed(http.StatusBadGateway, "the node that cut the clip answered without it; try again").write(w)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(res.data)))
	_, _ = w.Write(res.data)
}

// cutClip cuts a clip of this node's arena id, the last minutes of it (0:
// the whole ring), for an operator (who).
func (s *Server) cutClip(id int, minutes float64, who string) actionResult {
	if s.cfg.Clips.Minutes <= 0 {
		return failed(http.StatusConflict, "this node keeps no clip rings (-clip-minutes 0)")
	}
	if minutes == 0 {
		minutes = s.cfg.Clips.Minutes
	}
	if minutes > s.cfg.Clips.Minutes {
		return failed(http.StatusBadRequest, fmt.Sprintf("minutes: at most %g (-clip-minutes)", s.cfg.Clips.Minutes))
	}
	var arena *sim.Arena
	for _, a := range s.lobby.Arenas() {
		if a.ID() == id {
			arena = a
		}
	}
	self, _ := s.lobby.Node()
	if arena == nil {
		return failed(http.StatusNotFound, fmt.Sprintf("no arena %d on node %s", id, self))
	}
	clip, err := arena.Clip(minutes)
	if errors.Is(err, sim.ErrNoClip) {
		return failed(http.StatusConflict, fmt.Sprintf("arena %d keeps no clip ring (-clip-minutes 0), or has written nothing yet", id))
	}
	var buf bytes.Buffer
	if err == nil {
		err = clip.Save(&buf)
	}
	if err != nil {
		s.log.Error("cannot cut a clip", "arena", id, "err", err)
		return failed(http.StatusInternalServerError, "cannot cut the clip: "+err.Error())
	}
	name := fmt.Sprintf("arena-%d-seed-%d-ticks-%d-%d%s", id, clip.Seed, clip.FirstTick(), clip.LastTick, sim.ReplayExt)
	s.logAction(who, "clip cut", "node", self, "arena", id, "minutes", minutes, "first_tick", clip.FirstTick(), "last_tick", clip.LastTick, "bytes", buf.Len())
	res := succeeded(map[string]any{"arena": id, "node": self, "filename": name, "bytes": buf.Len(), "first_tick": clip.FirstTick(), "last_tick": clip.LastTick})
	res.data = buf.Bytes()
	return res
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
	// BytesOut is what this node sent the arena's seated sessions since
	// the arena started (shatter_arena_bytes_out_total).
	BytesOut float64 `json:"bytes_out"`
}

func (s *Server) handleArenas(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"arenas": s.arenaStatuses()})
}

// arenaStatuses reads this node's arenas: /arenas and the console.
func (s *Server) arenaStatuses() []ArenaStatus {
	var out []ArenaStatus
	for _, a := range s.lobby.Arenas() {
		p := a.Percentiles()
		f := a.Acquire()
		pop := f.Movers
		f.Release()
		st := ArenaStatus{
			ID: a.ID(), Tick: a.Tick(), Sessions: a.Seats(), Population: pop,
			TickP50Ms: ms(p.P50), TickP99Ms: ms(p.P99), TickMaxMs: ms(p.Max),
		}
		st.BytesOut = s.arenaBytesOut(a.ID())
		out = append(out, st)
	}
	return out
}

// arenaBytesOut is what this node sent the seated sessions of arena id
// since it started (shatter_arena_bytes_out_total).
func (s *Server) arenaBytesOut(id int) float64 {
	var m dto.Metric
	if s.metrics.ArenaBytesOut.WithLabelValues(strconv.Itoa(id)).Write(&m) != nil || m.Counter == nil {
		return 0
	}
	return m.Counter.GetValue()
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

func nodeStatus(n fleet.Lease) NodeStatus {
	return NodeStatus{ID: n.Node, URL: n.URL, State: string(n.State), Capacity: n.Capacity,
		Players: n.Players, Online: n.Online, Arenas: n.Arenas, HeartbeatAgeMs: ms(n.Age)}
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
		out = append(out, nodeStatus(n))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"self": self, "nodes": out})
}
