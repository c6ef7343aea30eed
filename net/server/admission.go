package server

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

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
// players before they connect. Each client address may ask at JoinRate
// (429 {"error": "rate_limited"} with Retry-After past it), and a
// reservation counts against its MaxConnsPerIP until it expires (429
// {"error": "max_conns_per_ip"}). A banned client address gets 403 first.
func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	if s.refuseBanned(w, r, true) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	key := addrKey(s.clientAddr(r))
	if ok, wait := s.joins.allow(key, time.Now()); !ok {
		s.metrics.Closes.WithLabelValues("join_rate_limited").Inc()
		tooMany(w, wait, "rate_limited")
		return
	}
	if !s.perAddr.acquire(key) {
		s.metrics.Closes.WithLabelValues("join_max_conns_per_ip").Inc()
		tooMany(w, s.seatTTL, "max_conns_per_ip")
		return
	}
	url, seat, err := s.lobby.ReserveSeat(r.Context())
	if err == nil {
		s.perAddr.releaseAfter(key, s.seatTTL)
	} else {
		s.perAddr.release(key)
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "full"})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"url": url, "seat": seat})
}

// tooMany answers 429 with code and a Retry-After of wait, in whole
// seconds (at least 1).
func tooMany(w http.ResponseWriter, wait time.Duration, code string) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	w.WriteHeader(http.StatusTooManyRequests)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
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

// handleWS upgrades a request and starts its session (read by the
// Env's poller on a TCP socket, by a goroutine of its own otherwise),
// then returns: net/http's per-connection state
// (its 4 KiB buffers among it) is freed instead of living as long as the
// game. Before the upgrade it refuses a banned client address (403,
// before anything else), a browser page of a foreign origin
// (403), a server that is stopping, and a client address or a server at
// its connection limit (503).
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	if s.refuseBanned(w, r, false) {
		return
	}
	if !s.originAllowed(r) {
		s.metrics.Closes.WithLabelValues("origin").Inc()
		http.Error(w, "pages of this origin may not open game connections", http.StatusForbidden)
		return
	}
	key := addrKey(s.clientAddr(r))
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	if !s.perAddr.acquire(key) {
		s.mu.Unlock()
		s.metrics.Closes.WithLabelValues("max_conns_per_ip").Inc()
		http.Error(w, "too many connections from your address", http.StatusServiceUnavailable)
		return
	}
	s.sessions.Add(1)
	s.mu.Unlock()
	// release gives back what this connection holds of the limits.
	release := func() {
		s.perAddr.release(key)
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
		closeFailedUpgrade(conn)
		s.metrics.Closes.WithLabelValues("bad_upgrade").Inc()
		s.log.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	c := session.New(s.env, conn, session.SmallReader(rw.Reader, conn))
	s.mu.Lock()
	if s.closing {
		// Shutdown began during the upgrade and did not see this session.
		c.Shutdown()
	}
	s.conns[c] = key
	s.mu.Unlock()
	// Runs once the session is over (counted in s.sessions, which
	// Shutdown waits for), on whichever goroutine ended it: a session on a
	// TCP socket holds no goroutine of its own while it lasts.
	c.Start(func() {
		// After the session's end: its Leave may have held a detached
		// seat for key (holdSeat), which looks the connection up here.
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		<-s.slots
		release()
	})
}

// failedUpgradeLinger bounds how long a failed upgrade's connection is
// read after its answer, before it is closed.
const failedUpgradeLinger = 250 * time.Millisecond

// closeFailedUpgrade closes the connection of a failed upgrade at once.
// gobwas/ws's UpgradeHTTP hijacks the connection before it checks the
// handshake, writes the 4xx itself and returns the connection open: left
// alone, it would stay open, outside every limit, until the garbage
// collector finalized it. The write side is shut first, so the client
// reads the answer and then EOF; what the client still sends is read
// (for failedUpgradeLinger at most) so that the close does not reset the
// connection and destroy the answer before the client has read it.
func closeFailedUpgrade(conn net.Conn) {
	if conn == nil {
		return // the hijack itself failed; net/http still owns it
	}
	if cw, ok := conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		_ = conn.SetReadDeadline(time.Now().Add(failedUpgradeLinger))
		_, _ = io.Copy(io.Discard, io.LimitReader(conn, 64<<10))
	}
	_ = conn.Close()
}
