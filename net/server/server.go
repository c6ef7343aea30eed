package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

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
	// Fleet is this node's place in the fleet (directory, id, public URL,
	// TTLs); the zero value is a fleet of one. An empty Fleet.URL becomes
	// ws://127.0.0.1:PORT/ws for the public listener's port, and an empty
	// Fleet.Node a random id.
	Fleet lobby.FleetConfig
	// Drill, if set, runs inside every tick of every arena (sim.Options'
	// Drill): a seam for fault-injection tests and drills only, never set
	// by cmd/server.
	Drill func(arena int, tick uint64)
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
	draining bool
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
	// The public listener first: its port makes the default public URL.
	if s.publicLn, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("public listener: %w", err)
	}
	fc := cfg.Fleet
	if fc.URL == "" {
		fc.URL = fmt.Sprintf("ws://127.0.0.1:%d/ws", s.publicLn.Addr().(*net.TCPAddr).Port)
	}
	if fc.Node == "" {
		fc.Node = NewNodeID()
	}
	fc.Metrics = s.metrics
	s.lobby, err = lobby.New(lobby.Config{
		MaxArenas: cfg.MaxArenas, Grace: cfg.Grace, EmptyArenaTTL: cfg.EmptyArenaTTL,
		NewArena: s.newArena, Logger: cfg.Logger, Fleet: fc,
		// The arena's Run has returned: nothing observes its series.
		ArenaStopped: s.metrics.ForgetArena,
	})
	if err != nil {
		s.publicLn.Close()
		return nil, err
	}
	s.env = &session.Env{Config: cfg.Session, Lobby: s.lobby, Metrics: s.metrics, Logger: cfg.Logger, Rules: s.rules}
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

// Serve starts the listeners, the lobby's janitor and its fleet round in
// goroutines owned by the server; they stop in Shutdown.
func (s *Server) Serve() {
	s.serving.Add(3)
	go func() {
		defer s.serving.Done()
		s.lobby.Run(s.lobbyCtx, 10*time.Second)
	}()
	go func() {
		defer s.serving.Done()
		s.lobby.RunFleet(s.lobbyCtx)
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
	node, url := s.lobby.Node()
	s.log.Info("serving", "addr", s.Addr(), "admin", s.AdminAddr(), "web", s.cfg.WebDir, "node", node, "url", url)
}

// Drain moves every player to other nodes of the fleet and leaves routing
// (lobby.Drain), returning when all have been handled or ctx is done; the
// caller then calls Shutdown. While it runs, /healthz answers 503 and new
// players are sent elsewhere. lobby.ErrAlone when no other node is ready:
// nothing was touched, and Shutdown stops the node as a single one.
func (s *Server) Drain(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	err := s.lobby.Drain(ctx)
	if errors.Is(err, lobby.ErrAlone) {
		s.mu.Lock()
		s.draining = false
		s.mu.Unlock()
	}
	return err
}

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
	// The others stop routing here at once, and honour this node's
	// detached players' tokens from their last checkpoints.
	if e := s.lobby.LeaveFleet(ctx); e != nil {
		s.log.Warn("could not remove this node's lease; it lapses by itself", "err", e)
	}
	_ = s.public.Shutdown(ctx)
	if s.admin != nil {
		_ = s.admin.Shutdown(ctx)
	}
	s.serving.Wait()
	return err
}
