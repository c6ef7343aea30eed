// Command server runs Shatter: the game on -addr (WebSocket at /ws, the
// browser client at /), metrics and profiles on -admin-addr. With -headless
// it runs one arena without sockets and prints its tick statistics.
//
// Every flag has an environment twin: -tick-rate is SHATTER_TICK_RATE.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/shatter/shatter/cmd/internal/flagenv"
	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/net/lobby"
	"github.com/shatter/shatter/net/server"
	"github.com/shatter/shatter/net/session"
	"github.com/shatter/shatter/sim"
)

// shutdownTimeout bounds a graceful stop (PROTOCOL.md: within 5 s).
const shutdownTimeout = 5 * time.Second

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	cfg := sim.DefaultConfig()
	flagenv.BindConfig(fs, &cfg)
	var sc server.Config
	fs.StringVar(&sc.Addr, "addr", ":4000", "public listener: the game, /ws, /healthz")
	fs.StringVar(&sc.AdminAddr, "admin-addr", "127.0.0.1:6060", "admin listener: /metrics, /debug/pprof/, /arenas (empty disables it)")
	fs.StringVar(&sc.AdminToken, "admin-token", "", "bearer token every admin request must carry (Authorization: Bearer TOKEN, or ?token=TOKEN); required when -admin-addr is not loopback. Prefer the environment twin: flags show in ps")
	fs.StringVar(&sc.WebDir, "web-dir", "web/dist", "directory of the browser client's built files")
	fs.IntVar(&sc.MaxArenas, "max-arenas", 8, "most arenas this process runs")
	fs.DurationVar(&sc.Grace, "resume-grace", 10*time.Second, "how long a dropped player waits for its resume token")
	fs.IntVar(&sc.MaxConns, "max-conns", 10000, "most open WebSocket connections; more are refused with HTTP 503")
	fs.IntVar(&sc.MaxConnsPerIP, "max-conns-per-ip", server.DefaultMaxConnsPerIP, "most open WebSocket connections, detached seats and /join reservations of one client address (an IPv4 address or an IPv6 /64); 0: no limit")
	trustedProxies := fs.String("trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose -client-ip-header names the client (e.g. 10.0.0.0/8,192.168.1.7/32); empty: trust none, the TCP peer is the client")
	fs.StringVar(&sc.ClientIPHeader, "client-ip-header", "X-Forwarded-For", "header in which trusted proxies append the client's address; its rightmost entry that is not a trusted proxy is the client")
	allowedOrigins := fs.String("allowed-origins", "", "comma-separated web origins (e.g. https://play.example.com) whose pages may open WebSockets; others get 403, requests without Origin pass; empty: any origin (the protocol uses no cookies)")
	fs.Float64Var(&sc.JoinRate.PerSecond, "join-rate", 1, "GET /join requests a second per client address, past a burst of -join-burst (0: no limit)")
	fs.IntVar(&sc.JoinRate.Burst, "join-burst", 5, "GET /join requests a client address may make at once")
	fs.DurationVar(&sc.HTTP.HeaderTimeout, "http-header-timeout", server.DefaultHeaderTimeout, "most time to read a request's headers (both listeners)")
	fs.DurationVar(&sc.HTTP.RequestTimeout, "http-request-timeout", server.DefaultRequestTimeout, "most time to read a whole request, body included (both listeners)")
	fs.DurationVar(&sc.HTTP.WriteTimeout, "http-write-timeout", server.DefaultWriteTimeout, "most time to write a response (both listeners; pprof profiles and traces add their seconds)")
	fs.DurationVar(&sc.HTTP.IdleTimeout, "http-idle-timeout", server.DefaultIdleTimeout, "how long a keep-alive connection may wait for its next request (both listeners)")
	fs.IntVar(&sc.HTTP.MaxHeaderBytes, "http-max-header-bytes", server.DefaultMaxHeaderBytes, "largest request header block in bytes (both listeners); larger ones get 431")
	redisURL := fs.String("redis", "", "share a fleet directory in this Redis (redis:// or rediss://, with user and password if needed); empty: a fleet of one, nothing else to run")
	fs.StringVar(&sc.Fleet.Node, "node-id", "", "this node's id in the fleet (default: a new random id at each start, printed)")
	fs.StringVar(&sc.Fleet.URL, "public-url", "", "the full URL of this node's WebSocket as players reach it, path included (e.g. ws://10.0.0.5:4001/ws), sent in moved and /join (default ws://127.0.0.1:PORT/ws; required with -redis when -addr is not loopback)")
	fs.DurationVar(&sc.Fleet.Heartbeat, "fleet-heartbeat", time.Second, "how often this node writes its lease, checkpoints and leaderboard to the fleet directory")
	fs.DurationVar(&sc.Fleet.LeaseTTL, "fleet-lease", 3*time.Second, "how long a node's lease lives without a heartbeat; a node silent this long is dead to the others (keep it at least twice -fleet-heartbeat)")
	drainTimeout := fs.Duration("drain-timeout", 15*time.Second, "on SIGTERM with other nodes ready: how long moving every player to them may take before the node stops anyway (a drain asked for on the admin listener too)")
	fs.DurationVar(&sc.Session.IdleTimeout, "idle-timeout", 60*time.Second, "a session without a living marble that sends no spawn, input or watch for this long gets error idle and close 1008 (0: never)")
	fs.DurationVar(&sc.Session.StallTimeout, "stall-timeout", 3*time.Second, "a client that leaves the server's WebSocket ping unanswered this long after its last answer, or whose kernel send queue stays over a second of its traffic this long, is closed with 4001 (it pings every third of it)")
	fs.Float64Var(&sc.Session.WSPingsPerSec, "ws-pings-per-sec", 2, "WebSocket pings a client may send a second (a burst of two seconds' worth); more are dropped unanswered, and 5 s over the limit closes with 1008")
	logJSON := fs.Bool("log-json", false, "log JSON lines instead of text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	var h headlessOptions
	headless := fs.Bool("headless", false, "run one arena without sockets and print tick statistics")
	fs.IntVar(&h.zombies, "zombies", 150, "headless: zombies to fill the arena with")
	fs.IntVar(&h.fragments, "fragments", 1200, "headless: fragments in the arena")
	fs.IntVar(&h.obstacles, "obstacles", 30, "headless: spike balls in the arena")
	fs.DurationVar(&h.duration, "duration", 30*time.Second, "headless: how long to run, paced at the tick rate")
	fs.IntVar(&h.ticks, "ticks", 0, "headless: run this many ticks as fast as possible instead of -duration")
	fs.Uint64Var(&h.seed, "seed", 0, "arena seed (arena n gets seed+n); 0 draws a random one (headless: 1)")
	fs.StringVar(&h.cpuProfile, "cpuprofile", "", "headless: write a CPU profile (pprof labels system=<name>) to this file")
	fs.StringVar(&h.recordDir, "record", "", "write a replay log of every arena into this directory")
	fs.DurationVar(&sc.KeyframeEvery, "keyframe-every", sim.DefaultKeyframeEvery*time.Second, "how often replay logs carry a keyframe (the whole state, where playback and seeks can start) and clip rings start a segment")
	fs.Float64Var(&sc.Clips.Minutes, "clip-minutes", 10, "keep every arena's last minutes on disk to cut clips from (POST /arenas/{id}/clip on the admin listener); 0: off")
	fs.StringVar(&sc.Clips.Dir, "clip-dir", "", "directory of the clip rings, cleared at start (default: shatter-clips-HOST-PORT in the system's temporary directory)")
	clipMaxMB := fs.Int64("clip-max-mb", 64, "most disk an arena's clip ring may use, in MB (its oldest minutes go first)")
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	err := cfg.Validate()
	if err != nil {
		return err
	}
	if sc.KeyframeEvery < time.Second {
		return fmt.Errorf("-keyframe-every %v: at least 1s (each keyframe costs its tick about a millisecond and starts a clip segment)", sc.KeyframeEvery)
	}
	if sc.Session.IdleTimeout == 0 {
		sc.Session.IdleTimeout = session.NoIdleTimeout
	}
	if sc.MaxConnsPerIP == 0 {
		sc.MaxConnsPerIP = -1 // server.Config's "no limit"
	}
	if sc.JoinRate.PerSecond == 0 {
		sc.JoinRate.PerSecond = -1
	}
	if sc.TrustedProxies, err = parsePrefixes(*trustedProxies); err != nil {
		return fmt.Errorf("-trusted-proxies: %w", err)
	}
	sc.AllowedOrigins = splitList(*allowedOrigins)
	if *redisURL != "" && sc.Fleet.URL == "" && !server.LoopbackAddr(sc.Addr) {
		return fmt.Errorf("-public-url is required with -redis when -addr (%s) is not a loopback address: other nodes send players to it", sc.Addr)
	}
	// Signals: the first starts a drain (or a shutdown), a second during a
	// drain cuts it short; either way the node stops gracefully, replay
	// logs flushed.
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { // exits at the first signal or when run returns
		select {
		case <-signals:
			stop()
		case <-ctx.Done():
		}
	}()
	if *headless {
		if h.seed == 0 {
			h.seed = 1
		}
		return runHeadless(ctx, cfg, h, stdout)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	logger := slog.New(slog.NewTextHandler(os.Stderr, hopts))
	if *logJSON {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, hopts))
	}
	sc.Arena, sc.Seed, sc.RecordDir, sc.Logger = cfg, h.seed, h.recordDir, logger
	sc.Clips.MaxBytes = *clipMaxMB << 20
	sc.DrainTimeout = *drainTimeout
	if sc.Clips.Dir == "" {
		sc.Clips.Dir = filepath.Join(os.TempDir(), defaultClipDir(sc.Addr))
	}
	if *redisURL != "" {
		fleet.LogRedisTo(logger)
		dir, err := fleet.NewRedis(fleet.RedisOptions{URL: *redisURL})
		if err != nil {
			return fmt.Errorf("-redis: %w", err)
		}
		defer dir.Close()
		sc.Fleet.Directory, sc.Fleet.Shared = dir, true
	}
	srv, err := server.New(sc)
	if err != nil {
		return err
	}
	srv.Serve()
	node, url := srv.Lobby().Node()
	fmt.Fprintf(stdout, "node %s serving %s admin %s (public URL %s)\n", node, srv.Addr(), srv.AdminAddr(), url)
	<-ctx.Done()
	if *redisURL != "" {
		logger.Info("draining: moving players to other nodes", "timeout", *drainTimeout)
		dctx, cancelDrain := context.WithTimeout(context.Background(), *drainTimeout)
		go func() { // exits at a second signal or when the drain ends
			select {
			case <-signals:
				logger.Info("second signal: stopping without finishing the drain")
				cancelDrain()
			case <-dctx.Done():
			}
		}()
		err := srv.Drain(dctx)
		cancelDrain()
		switch {
		case errors.Is(err, lobby.ErrAlone):
			logger.Info("no other node is ready: shutting down as a single node")
		case err != nil:
			logger.Warn("drain ended early", "err", err)
		default:
			logger.Info("drained")
		}
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// splitList splits a comma-separated flag value, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parsePrefixes parses a comma-separated list of CIDRs; a bare address is
// a prefix of its own.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range splitList(s) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a CIDR (e.g. 10.0.0.0/8) or an address", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// defaultClipDir names the clip rings' directory after the public listen
// address, which no other live node on the machine has, so that a node's
// start clears only its own earlier segments: shatter-clips-HOST-PORT,
// or shatter-clips-pid-PID for a port the system picks (:0).
func defaultClipDir(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "0" || port == "" {
		return fmt.Sprintf("shatter-clips-pid-%d", os.Getpid())
	}
	if host == "" {
		host = "any"
	}
	return "shatter-clips-" + strings.NewReplacer(":", "_", "/", "_", "%", "_").Replace(host) + "-" + port
}
