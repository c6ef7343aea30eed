package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shatter/shatter/net/fleet"
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
	// AdminToken, if set, must come with every admin request (as
	// "Authorization: Bearer <token>" or ?token=); New refuses an
	// AdminAddr that is not loopback without one.
	AdminToken string
	WebDir     string // the browser client's files; a help page if missing
	Arena      sim.Config
	// Seed seeds arena n with Seed+n; 0 draws a random seed per arena.
	Seed          uint64
	MaxArenas     int
	Grace         time.Duration // resume window (PROTOCOL.md: 10 s)
	EmptyArenaTTL time.Duration // extra empty arenas stop after this
	RecordDir     string        // write replay logs here if set
	// Clips keeps every arena's last minutes on disk to cut clips from
	// (POST /arenas/{id}/clip on the admin listener); off when its
	// Minutes is 0. Its Dir gets a directory per node process.
	Clips sim.ClipOptions
	// KeyframeEvery is how often replay logs carry a keyframe and clip
	// rings start a segment (sim.Options.KeyframeEvery).
	KeyframeEvery time.Duration
	// MaxConns bounds open WebSocket connections (10,000 if zero); more
	// are answered 503 before the upgrade.
	MaxConns int
	// MaxConnsPerIP bounds what one client address holds (32 if zero,
	// no bound if negative), so one host cannot take every seat: its open
	// WebSocket connections, its detached seats (until resumed or
	// released) and its /join reservations (until they expire, SeatTTL,
	// even if claimed earlier). More are answered 503 before the upgrade,
	// or 429 at /join. An address is an IPv4 address or an IPv6 /64 (one
	// host usually has a whole /64); see TrustedProxies.
	MaxConnsPerIP int
	// TrustedProxies are the reverse proxies whose ClientIPHeader names
	// the client (none by default). Only a request whose TCP peer is in
	// one of them is read for the header; its client is the rightmost
	// address in the header that is not itself a trusted proxy.
	TrustedProxies []netip.Prefix
	// ClientIPHeader is the header trusted proxies put the client's
	// address in, a comma-separated list each proxy appends to
	// (X-Forwarded-For if empty).
	ClientIPHeader string
	// AllowedOrigins, if not empty, are the only web origins
	// ("https://play.example.com") whose pages may open WebSockets: a
	// browser request with another Origin is answered 403 before the
	// upgrade. Requests without an Origin (not from a browser) pass.
	// Empty allows any origin: the protocol uses no cookies or other
	// ambient credentials a foreign page could borrow.
	AllowedOrigins []string
	// JoinRate bounds GET /join per client address (1 a second with a
	// burst of 5 if zero; negative: no bound).
	JoinRate JoinRate
	// HTTP bounds every request on both listeners.
	HTTP    HTTPLimits
	Session session.Config
	Logger  *slog.Logger
	// Clock paces the arenas; the wall clock if nil. Tests pass a
	// sim.ManualClock to step arenas one tick at a time.
	Clock sim.Clock
	// DrainTimeout bounds a drain an operator asks for on the admin
	// listener (15 s if zero).
	DrainTimeout time.Duration
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

	slots chan struct{} // one per open connection, MaxConns deep
	// perAddr counts what each client address holds; static after New,
	// with its own lock.
	perAddr *addrLimit
	joins   *joinLimiter    // static after New, with its own lock
	origins map[string]bool // AllowedOrigins, lower case; static after New
	seatTTL time.Duration   // how long a /join reservation lives; static after New
	// dir is the fleet directory the lobby uses too (bans, commands);
	// callTimeout bounds a call to it and refresh is how often the bans
	// are read from it (the fleet's heartbeat). Static after New.
	dir         fleet.Directory
	callTimeout time.Duration
	refresh     time.Duration
	bans        banSet // with its own lock
	// drainTimeout bounds a drain an operator asks for; static after New.
	drainTimeout time.Duration
	// mu guards conns, closing and draining. The lobby calls holdSeat
	// with its own lock held, so mu is never held while calling the lobby.
	mu       sync.Mutex
	conns    map[*session.Conn]netip.Prefix // open sessions and their client address
	closing  bool
	draining bool
	// adminDraining: an operator's drain (POST /nodes/{id}/drain) began
	// and did not find the node alone.
	adminDraining bool
	sessions      sync.WaitGroup // one per served connection
	events        *eventLog      // the console's recent events
	console       *consoleState  // the console watcher's latest frame and the open streams
	serving       sync.WaitGroup // the listeners' Serve goroutines and the lobby janitor
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
	if cfg.MaxConnsPerIP == 0 {
		cfg.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if cfg.ClientIPHeader == "" {
		cfg.ClientIPHeader = "X-Forwarded-For"
	}
	cfg.HTTP = cfg.HTTP.withDefaults()
	if err := checkAdminExposure(cfg.AdminAddr, cfg.AdminToken); err != nil {
		return nil, err
	}
	origins, err := originSet(cfg.AllowedOrigins)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: metrics.New(), conns: map[*session.Conn]netip.Prefix{},
		slots: make(chan struct{}, cfg.MaxConns), perAddr: newAddrLimit(cfg.MaxConnsPerIP),
		joins: newJoinLimiter(cfg.JoinRate), origins: origins,
		events: newEventLog(eventLogSize), console: newConsoleState()}
	s.rules = RulesOf(&cfg.Arena)
	if cfg.Clips.Minutes > 0 {
		// An earlier process's segments cannot be cut through this one's
		// arenas: clear them, so that restarts do not fill the disk.
		old, _ := filepath.Glob(filepath.Join(cfg.Clips.Dir, "clip-*"+sim.ReplayExt))
		for _, p := range old {
			os.Remove(p)
		}
	}
	s.lobbyCtx, s.cancelLobby = context.WithCancel(context.Background())
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
	s.metrics.SetNode(fc.Node, fc.URL)
	if fc.SeatTTL <= 0 {
		fc.SeatTTL = 15 * time.Second // the lobby's default, made explicit for /join's count
	}
	s.seatTTL = fc.SeatTTL
	if fc.Directory == nil {
		fc.Directory = fleet.NewMemory() // the lobby's default, made explicit for the bans
	}
	s.dir = fc.Directory
	s.callTimeout, s.refresh = fc.CallTimeout, fc.Heartbeat
	if s.callTimeout <= 0 {
		s.callTimeout = time.Second
	}
	if s.refresh <= 0 {
		s.refresh = time.Second
	}
	s.drainTimeout = cfg.DrainTimeout
	if s.drainTimeout <= 0 {
		s.drainTimeout = 15 * time.Second
	}
	s.lobby, err = lobby.New(lobby.Config{
		MaxArenas: cfg.MaxArenas, Grace: cfg.Grace, EmptyArenaTTL: cfg.EmptyArenaTTL,
		NewArena: s.newArena, Logger: cfg.Logger, Fleet: fc, Hold: s.holdSeat,
		// The arena's Run has returned: nothing observes its series.
		ArenaStopped:  s.arenaStopped,
		ArenaBytesOut: s.arenaBytesOut,
	})
	if err != nil {
		s.publicLn.Close()
		return nil, err
	}
	session.StartDropSeries(s.metrics)
	s.env = &session.Env{Config: cfg.Session, Lobby: s.lobby, Metrics: s.metrics, Logger: cfg.Logger, Rules: s.rules}
	s.public = cfg.HTTP.server(s.publicMux())
	if cfg.AdminAddr != "" {
		if s.adminLn, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			s.publicLn.Close()
			s.lobby.Close(context.Background())
			return nil, fmt.Errorf("admin listener: %w", err)
		}
		// The console's page loads without the token (a browser opening it
		// cannot send one); the API it calls needs it.
		s.admin = cfg.HTTP.server(s.withConsole(requireToken(cfg.AdminToken, s.adminMux())))
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

// Serve starts the listeners, the lobby's janitor, its fleet round and
// the console watcher in goroutines owned by the server; they stop in
// Shutdown.
func (s *Server) Serve() {
	s.serving.Add(6)
	go func() {
		defer s.serving.Done()
		s.watchConsole(s.lobbyCtx)
	}()
	go func() {
		defer s.serving.Done()
		s.lobby.Run(s.lobbyCtx, 10*time.Second)
	}()
	go func() { // exits when Shutdown cancels lobbyCtx
		defer s.serving.Done()
		s.runBans(s.lobbyCtx)
	}()
	go func() { // exits when Shutdown cancels lobbyCtx
		defer s.serving.Done()
		s.runCommands(s.lobbyCtx)
	}()
	firstRound := make(chan struct{})
	go func() {
		defer s.serving.Done()
		s.lobby.RunFleet(s.lobbyCtx, firstRound)
	}()
	go func() {
		defer s.serving.Done()
		// Players wait in the listener's backlog until this node's lease
		// is in the directory (its first fleet round), or a directory
		// call's time has passed: a /join answered before then would
		// find no node with room, this one included, and say "full".
		t := time.NewTimer(s.callTimeout)
		select {
		case <-firstRound:
		case <-t.C:
		case <-s.lobbyCtx.Done():
		}
		t.Stop()
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
