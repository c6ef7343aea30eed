package replayserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// Config configures a replay server.
type Config struct {
	Addr   string      // the listener, e.g. ":4100"
	WebDir string      // the browser client's built files; a help page if missing
	Replay *sim.Replay // the match to play, shared read-only by every viewer
	// MaxViewers bounds the viewers at once (16 if zero): each one
	// re-simulates the match on a goroutine of its own. More are
	// answered 503 before the upgrade.
	MaxViewers int
	Logger     *slog.Logger
}

// Server serves one recorded match to any number of viewers (up to
// MaxViewers), each with its own playback.
type Server struct {
	cfg   Config
	log   *slog.Logger
	rules []wire.Rule // the welcome's; static after New
	http  *http.Server
	ln    net.Listener

	// mu guards viewers, next and closing.
	mu      sync.Mutex
	viewers map[*viewer]struct{}
	next    uint32 // the last viewer number given
	closing bool
	// running counts the viewers' goroutines, for Shutdown.
	running sync.WaitGroup
}

// New checks the config and binds the listener; Serve serves it.
func New(cfg Config) (*Server, error) {
	if cfg.Replay == nil {
		return nil, errors.New("replayserve: no replay to serve")
	}
	if cfg.MaxViewers <= 0 {
		cfg.MaxViewers = 16
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, ln: ln, viewers: make(map[*viewer]struct{})}
	for _, r := range cfg.Replay.Config.Rules() {
		s.rules = append(s.rules, wire.Rule{Name: r.Name, Value: r.Value()})
	}
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// Addr returns the listener's address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve serves until Shutdown; it returns nil after a Shutdown.
func (s *Server) Serve() error {
	s.log.Info("serving a replay", "addr", s.Addr(), "web", s.cfg.WebDir, "ticks", s.cfg.Replay.LastTick, "rate", s.cfg.Replay.Config.TickRate)
	if err := s.http.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops taking connections, tells every viewer the server is
// stopping (error shutdown, close 1001), and waits for their goroutines
// to end, or for ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for v := range s.viewers {
		v.shutdown()
	}
	s.mu.Unlock()
	err := s.http.Shutdown(ctx)
	done := make(chan struct{})
	// Exits once every viewer's goroutines have; each ends within its
	// close timeout of being told to.
	go func() { s.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("viewers still open at the shutdown deadline: %w", ctx.Err())
	}
	return err
}

// routes: the WebSocket, a health check, and the browser client, whose
// page is opened as /?replay so that it watches at once instead of
// asking for a player's name.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", s.handleWS)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	var files http.Handler = http.HandlerFunc(s.helpPage)
	if st, err := os.Stat(filepath.Join(s.cfg.WebDir, "index.html")); err == nil && !st.IsDir() {
		files = http.FileServer(http.Dir(s.cfg.WebDir))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && !r.URL.Query().Has("replay") {
			http.Redirect(w, r, "/?replay", http.StatusFound)
			return
		}
		files.ServeHTTP(w, r)
	})
	return mux
}

// helpPage stands in for the browser client when its files are not built.
func (s *Server) helpPage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><title>Shatter replay</title><h1>Shatter replay server</h1>
<p>The browser client is not built here (looked in <code>%s</code>): run <code>make web</code> from the repository to build it.</p>
<p>Viewers connect with WebSocket to <code>ws://%s/ws</code> and speak msgpack as described in docs/PROTOCOL.md ("Replay viewer").</p>`,
		s.cfg.WebDir, r.Host)
}

// handleWS upgrades a request and runs its viewer on this goroutine
// (the reader) and one more (the player) until the connection ends.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	switch {
	case s.closing:
		s.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	case len(s.viewers) >= s.cfg.MaxViewers:
		s.mu.Unlock()
		http.Error(w, "too many viewers; try again later", http.StatusServiceUnavailable)
		return
	}
	s.next++
	v := newViewer(s, s.next)
	s.viewers[v] = struct{}{}
	s.running.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.viewers, v)
		s.mu.Unlock()
		s.running.Done()
	}()
	conn, rw, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		s.log.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	v.run(conn, rw.Reader)
}
