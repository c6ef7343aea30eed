package server

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/session"
)

// publicMux routes the public listener: the WebSocket, the health check
// and the browser client's files.
func (s *Server) publicMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", s.handleWS)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		closing, draining := s.closing, s.draining
		s.mu.Unlock()
		switch {
		case closing:
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		case draining:
			http.Error(w, "draining: moving its players to other nodes", http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, "ok")
		}
	})
	mux.HandleFunc("/join", s.handleJoin)
	if st, err := os.Stat(filepath.Join(s.cfg.WebDir, "index.html")); err == nil && !st.IsDir() {
		mux.Handle("/", http.FileServer(http.Dir(s.cfg.WebDir)))
	} else {
		mux.HandleFunc("/", s.helpPage)
	}
	return mux
}

// handleJoin reserves a seat for a player on a node of the fleet with
// room, this node first (PROTOCOL.md "HTTP"): {"url", "seat"}, or 503
// {"error": "full"}. For matchmakers and load balancers that place
// players before they connect.
func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	url, seat, err := s.lobby.ReserveSeat(r.Context())
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "full"})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"url": url, "seat": seat})
}

// helpPage stands in for the browser client when its files are not built.
func (s *Server) helpPage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><title>Shatter</title><h1>Shatter server</h1>
<p>The browser client is not built here (looked in <code>%s</code>): run <code>make server</code> from the repository to build it.</p>
<p>Game clients connect with WebSocket to <code>ws://%s/ws</code> and speak msgpack as described in docs/PROTOCOL.md.</p>`,
		s.cfg.WebDir, r.Host)
}

// handleWS upgrades a request and hands the connection to a session
// goroutine of its own, then returns: net/http's per-connection state
// (its 4 KiB buffers among it) is freed instead of living as long as the
// game.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	if s.cfg.MaxConnsPerIP > 0 && s.perIP[host] >= s.cfg.MaxConnsPerIP {
		s.mu.Unlock()
		s.metrics.Closes.WithLabelValues("max_conns_per_ip").Inc()
		http.Error(w, "too many connections from your address", http.StatusServiceUnavailable)
		return
	}
	s.perIP[host]++
	s.sessions.Add(1)
	s.mu.Unlock()
	// release gives back what this connection holds of the limits.
	release := func() {
		s.mu.Lock()
		if s.perIP[host]--; s.perIP[host] == 0 {
			delete(s.perIP, host)
		}
		s.mu.Unlock()
		s.sessions.Done()
	}
	select {
	case s.slots <- struct{}{}:
	default:
		release()
		s.metrics.Closes.WithLabelValues("max_conns").Inc()
		http.Error(w, "server at its connection limit; try again later", http.StatusServiceUnavailable)
		return
	}
	conn, rw, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		<-s.slots
		release()
		s.log.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	c := session.New(s.env, conn, session.SmallReader(rw.Reader, conn))
	s.mu.Lock()
	if s.closing {
		// Shutdown began during the upgrade and did not see this session.
		c.Shutdown()
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	// Owned by the server (counted in s.sessions, which Shutdown waits
	// for); exits when the session ends.
	go func() {
		defer release()
		defer func() { <-s.slots }()
		c.Serve()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
}
