package server

import (
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"time"

	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/net/session"
)

// maxKickReason bounds the reason a kick sends, so that its error message
// stays a small frame.
const maxKickReason = 200

// SessionStatus is one row of GET /sessions.
type SessionStatus struct {
	ID      uint32 `json:"id"`
	Name    string `json:"name"`
	Arena   int    `json:"arena"`
	Addr    string `json:"addr"` // the client address (the proxy's header's, when trusted)
	Alive   bool   `json:"alive"`
	Mass    uint32 `json:"mass"`
	SinceMs int64  `json:"since_ms"` // how long the connection has been open
}

// handleSessions lists this node's connected sessions that have a seat
// and are not ending, by arena and id.
func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	out := []SessionStatus{}
	for c, key := range s.connSnapshot() {
		seat := c.Seat()
		if seat == nil || c.Ending() {
			continue
		}
		st := SessionStatus{ID: seat.ID, Name: seat.Name, Arena: seat.Arena.ID(), Addr: prefixText(key),
			SinceMs: now.Sub(c.Since()).Milliseconds()}
		f := seat.Arena.Acquire()
		if p := f.Player(seat.ID); p != nil && p.Alive {
			st.Alive = true
			if m := f.Marble(p.Entity.ID); m != nil {
				st.Mass = m.Mass
			}
		}
		f.Release()
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Arena != out[j].Arena {
			return out[i].Arena < out[j].Arena
		}
		return out[i].ID < out[j].ID
	})
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

// connSnapshot copies the open connections and their client addresses.
func (s *Server) connSnapshot() map[*session.Conn]netip.Prefix {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[*session.Conn]netip.Prefix, len(s.conns))
	for c, k := range s.conns {
		out[c] = k
	}
	return out
}

// Kick ends this node's session id (the lobby numbers its seats once per
// node) with error kicked and close 4004, releasing its seat and token at
// once. It reports whether the session was here and still open.
func (s *Server) Kick(id uint32, reason string) bool {
	for c := range s.connSnapshot() {
		if seat := c.Seat(); seat != nil && seat.ID == id {
			return c.Kick(reason)
		}
	}
	return false
}

// handleKick is POST /sessions/{id}/kick?reason=&node=.
func (s *Server) handleKick(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := strconv.ParseUint(id, 10, 32); err != nil {
		adminError(w, http.StatusBadRequest, "session id: not a number")
		return
	}
	reason := r.URL.Query().Get("reason")
	if reason == "" {
		reason = "kicked by an operator"
	}
	if len(reason) > maxKickReason {
		adminError(w, http.StatusBadRequest, "reason: at most "+strconv.Itoa(maxKickReason)+" bytes")
		return
	}
	s.act(r.Context(), fleet.Command{Node: r.URL.Query().Get("node"), Kind: cmdKick, Target: id, Reason: reason, By: adminWho(r)}).write(w)
}

// kick is a kick on this node, for an operator (who).
func (s *Server) kick(id uint32, reason, who string) actionResult {
	if !s.Kick(id, reason) {
		return failed(http.StatusNotFound, "no such session on this node")
	}
	self, _ := s.lobby.Node()
	s.logAction(who, "session kicked", "node", self, "session", id, "reason", reason)
	return succeeded(map[string]any{"session": id, "node": self})
}

// prefixText shows a client address key: the address itself, or the IPv6
// /64 it stands for.
func prefixText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}
