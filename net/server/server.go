// Package server is Shatter's network front: the public HTTP listener (the
// browser client's files at /, the WebSocket at /ws, /healthz), the admin
// listener (/metrics, /debug/pprof/, /arenas), the lobby of arenas, and a
// bounded graceful shutdown.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shatter/shatter/net/lobby"
	"github.com/shatter/shatter/net/metrics"
	"github.com/shatter/shatter/net/session"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// Config configures a server.
type Config struct {
	Addr      string // public listener, e.g. ":4000"
	AdminAddr string // admin listener, e.g. "127.0.0.1:6060"; "" disables it
	WebDir    string // the browser client's files; a help page if missing
	Arena     sim.Config
	// Seed seeds arena n with Seed+n; 0 draws a random seed per arena.
	Seed          uint64
	MaxArenas     int
	Grace         time.Duration // resume window (PROTOCOL.md: 10 s)
	EmptyArenaTTL time.Duration // extra empty arenas stop after this
	RecordDir     string        // write replay logs here if set
	// MaxConns bounds open WebSocket connections (10,000 if zero); more
	// are answered 503 before the upgrade.
	MaxConns int
	// MaxConnsPerIP bounds open WebSocket connections from one remote
	// address (0: no bound), so one host cannot take every seat. Off by
	// default: behind a reverse proxy every player shares its address.
	MaxConnsPerIP int
	Session       session.Config
	Logger        *slog.Logger
	// Clock paces the arenas; the wall clock if nil. Tests pass a
	// sim.ManualClock to step arenas one tick at a time.
	Clock sim.Clock
}

// Server is a running Shatter server.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics.Metrics
	lobby   *lobby.Lobby
	env     *session.Env
	rules   []wire.Rule

	public, admin     *http.Server
	publicLn, adminLn net.Listener
	lobbyCtx          context.Context // ends the lobby's janitor
	cancelLobby       context.CancelFunc

	slots    chan struct{} // one per open connection, MaxConns deep
	mu       sync.Mutex    // guards conns, perIP, closing
	conns    map[*session.Conn]struct{}
	perIP    map[string]int // open connections by remote host
	closing  bool
	sessions sync.WaitGroup // one per served connection
	serving  sync.WaitGroup // the listeners' Serve goroutines and the lobby janitor
}

// New validates the config, starts the first arena and binds the
// listeners; Serve starts serving them.
func New(cfg Config) (*Server, error) {
	if err := cfg.Arena.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 10 * time.Second
	}
	if cfg.EmptyArenaTTL <= 0 {
		cfg.EmptyArenaTTL = time.Minute
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 10000
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: metrics.New(), conns: map[*session.Conn]struct{}{},
		slots: make(chan struct{}, cfg.MaxConns), perIP: map[string]int{}}
	s.rules = RulesOf(&cfg.Arena)
	s.lobbyCtx, s.cancelLobby = context.WithCancel(context.Background())
	var err error
	s.lobby, err = lobby.New(lobby.Config{
		MaxArenas: cfg.MaxArenas, Grace: cfg.Grace, EmptyArenaTTL: cfg.EmptyArenaTTL,
		NewArena: s.newArena, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	s.env = &session.Env{Config: cfg.Session, Lobby: s.lobby, Metrics: s.metrics, Logger: cfg.Logger, Rules: s.rules}

	if s.publicLn, err = net.Listen("tcp", cfg.Addr); err != nil {
		s.lobby.Close(context.Background())
		return nil, fmt.Errorf("public listener: %w", err)
	}
	s.public = &http.Server{Handler: s.publicMux(), ReadHeaderTimeout: 5 * time.Second}
	if cfg.AdminAddr != "" {
		if s.adminLn, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			s.publicLn.Close()
			s.lobby.Close(context.Background())
			return nil, fmt.Errorf("admin listener: %w", err)
		}
		s.admin = &http.Server{Handler: s.adminMux(), ReadHeaderTimeout: 5 * time.Second}
	}
	return s, nil
}

// newArena builds arena id with its metrics hook and replay log.
func (s *Server) newArena(id int) (*sim.Arena, error) {
	seed := s.cfg.Seed + uint64(id)
	if s.cfg.Seed == 0 {
		seed = randomSeed()
	}
	opts := sim.Options{ID: id, Config: s.cfg.Arena, Seed: seed, Clock: s.cfg.Clock, Logger: s.log}
	if s.cfg.RecordDir != "" {
		if err := os.MkdirAll(s.cfg.RecordDir, 0o755); err != nil {
			return nil, err
		}
		path := filepath.Join(s.cfg.RecordDir, fmt.Sprintf("arena-%d-seed-%d-%s.jsonl", id, seed, time.Now().UTC().Format("20060102T150405")))
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		opts.Record = sim.NewRecorder(f, 30)
		s.log.Info("recording arena", "arena", id, "path", path)
	}
	var observe func(float64, []float64, int)
	var perSystem []float64 // reused every tick, on the arena goroutine
	opts.OnTick = func(t *sim.TickStats) {
		perSystem = perSystem[:0]
		for _, d := range t.Systems {
			perSystem = append(perSystem, d.Seconds())
		}
		observe(t.Duration.Seconds(), perSystem, t.Movers)
	}
	a, err := sim.New(opts)
	if err != nil {
		return nil, err
	}
	observe = s.metrics.TickObserver(id, a.SystemNames())
	return a, nil
}

// Addr returns the public listener's address.
func (s *Server) Addr() string { return s.publicLn.Addr().String() }

// AdminAddr returns the admin listener's address, or "" if disabled.
func (s *Server) AdminAddr() string {
	if s.adminLn == nil {
		return ""
	}
	return s.adminLn.Addr().String()
}

// Metrics returns the server's collectors.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// Lobby returns the server's lobby.
func (s *Server) Lobby() *lobby.Lobby { return s.lobby }

// Serve starts the listeners and the lobby's janitor in goroutines owned
// by the server; they stop in Shutdown.
func (s *Server) Serve() {
	s.serving.Add(2)
	go func() {
		defer s.serving.Done()
		s.lobby.Run(s.lobbyCtx, 10*time.Second)
	}()
	go func() {
		defer s.serving.Done()
		err := s.public.Serve(s.publicLn)
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.log.Error("public listener failed", "err", err)
		}
	}()
	if s.admin != nil {
		s.serving.Add(1)
		go func() {
			defer s.serving.Done()
			if err := s.admin.Serve(s.adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("admin listener failed", "err", err)
			}
		}()
	}
	s.log.Info("serving", "addr", s.Addr(), "admin", s.AdminAddr(), "web", s.cfg.WebDir)
}

func (s *Server) publicMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", s.handleWS)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		closing := s.closing
		s.mu.Unlock()
		if closing {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	if st, err := os.Stat(filepath.Join(s.cfg.WebDir, "index.html")); err == nil && !st.IsDir() {
		mux.Handle("/", http.FileServer(http.Dir(s.cfg.WebDir)))
	} else {
		mux.HandleFunc("/", s.helpPage)
	}
	return mux
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

// arenaStopBudget is kept from Shutdown's deadline for stopping the arenas
// and flushing their replay logs, whatever the sessions took.
const arenaStopBudget = time.Second

// Shutdown stops accepting, tells every session the server is stopping
// (error shutdown, close 1001), waits for them to end, stops the arenas
// (flushing replay logs) and the listeners, all within ctx. The sessions
// get all but arenaStopBudget of ctx's time, so a session stuck on a client
// that does not read never costs a replay log.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	conns := make([]*session.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.publicLn.Close() // no new connections; hijacked ones are ours to end
	for _, c := range conns {
		c.Shutdown()
	}
	sessCtx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		sessCtx, cancel = context.WithDeadline(ctx, deadline.Add(-arenaStopBudget))
		defer cancel()
	}
	done := make(chan struct{})
	// Exits once every session handler has returned; they all end within
	// their CloseTimeout of being told to shut down.
	go func() { s.sessions.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-sessCtx.Done():
		err = fmt.Errorf("sessions still open at shutdown deadline: %w", sessCtx.Err())
	}
	s.cancelLobby()
	if e := s.lobby.Close(ctx); e != nil && err == nil {
		err = fmt.Errorf("arenas: %w", e)
	}
	_ = s.public.Shutdown(ctx)
	if s.admin != nil {
		_ = s.admin.Shutdown(ctx)
	}
	s.serving.Wait()
	return err
}

// RulesOf lists the config's rules for the welcome message, named by their
// rule tags, in field order.
func RulesOf(cfg *sim.Config) []wire.Rule {
	var rules []wire.Rule
	for _, r := range cfg.Rules() {
		rules = append(rules, wire.Rule{Name: r.Name, Value: r.Value()})
	}
	return rules
}
