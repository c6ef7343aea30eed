package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shatter/shatter/net/bot"
	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/wire"
)

// errRunOver is the cause the bots' context is cancelled with when a run
// ends as planned; their connections close with a normal close frame.
var errRunOver = errors.New("load run over")

// errRunTimeout ends a run that reached -timeout.
var errRunTimeout = errors.New("run reached its -timeout")

// maxDialsInFlight bounds the handshakes under way at once, so that a
// server slower to welcome than the ramp cannot make the load generator
// open connections without bound.
const maxDialsInFlight = 256

// onTimeFactor: a snap is on time when it arrives within this many tick
// periods of the one before it.
const onTimeFactor = 1.5

// loadConfig describes one load run.
type loadConfig struct {
	URLs        []string      // ws://HOST:PORT/ws of each node; bot i dials URLs[i % len(URLs)]
	Admin       string        // the server's admin HOST:PORT, or "" to measure the clients only
	Clients     int           // bot sessions to open
	Idle        bool          // the bots never spawn or send input: they only read, spectating
	Ramp        float64       // sessions opened a second
	Duration    time.Duration // play after the ramp: the measurement window
	InputRate   float64       // inputs a second per bot
	Spread      int           // arenas the scenario assumes; 0 means clients / max_players rounded up
	Timeout     time.Duration // hard limit on the whole run
	DialTimeout time.Duration // bound on each dial, upgrade, hello and welcome
	Seed        uint64        // bot i steers with seed Seed+i
	Name        string        // bot i is named Name followed by i
	Workers     int           // pacer workers sending the inputs
	Poll        bool          // the bots' sockets are read by a client.PollGroup, not a goroutine each
	PollPace    time.Duration // the group's PollOptions.Pace; 0 for its default
	PollDetach  bool          // the group's PollOptions.Detach
	FullEvery   int           // bot i decodes and applies every snap in full when i % FullEvery == 0; the others skim
	Arrivals    bool          // snaps and acks are timed by the kernel's receive timestamps (client.Options.ArrivalTimes)
	ProfileFile string        // if set, a server CPU profile taken during the window goes here
	HeapFile    string        // if set, a server heap profile taken at the window's end goes here
	SelfProfile string        // if set, the load generator's own CPU profile over the window goes here
	Progress    *progress     // how the run shows how far it is; not nil

	// Reconnect has a bot whose connection drops resume with its token at
	// the other URLs (client.Options.Reconnect).
	Reconnect bool
	// Fleet tracks each bot's mass across drains and crashes (carry.go).
	Fleet bool
	// MoveTimeout is the bots' client.Options.MoveTimeout; 0 for the
	// client's default.
	MoveTimeout time.Duration
	// During, if set, runs on its own goroutine from the window's start;
	// windowEnd is closed when the window ends, ctx is the run's. runLoad
	// waits for it to return before it closes the bots, so it may still
	// read the servers then.
	During func(ctx context.Context, windowEnd <-chan struct{}, run *loadRun)
}

// result is what one run measured; see report.go for how it is shown.
type result struct {
	Config    loadConfig
	Started   time.Time
	Connected int
	Failed    int
	Failures  map[string]int // by dialFailure
	Window    time.Duration  // the measured play, from the end of the ramp
	TickRate  int            // from the welcome

	SnapsPerClient float64 // snaps a second per connected client
	Gaps, OnTime   uint64  // snap arrival gaps measured, and those within onTimeFactor ticks
	SkippedTicks   uint64  // ticks a client's snaps jumped over
	Silent         int     // connected bots that never received a snap

	Acks                   uint64 // inputs acknowledged in the window
	AckP50, AckP95, AckP99 time.Duration

	BytesPerSnap    float64 // server message bytes (payloads) per snap
	BytesPerClient  float64 // server message bytes a second per client
	InputsPerClient float64 // inputs sent a second per client
	Deaths          uint64
	DeltaErrors     uint64

	// Moves counts the bots' moves between nodes over the whole run, and
	// MoveToSnap* the time from a moved to the first snap at the other
	// node (PROTOCOL.md, Fleet).
	Moves                        client.MoveStats
	MoveSamples                  uint64
	MoveToSnapP50, MoveToSnapP99 time.Duration
	// MoveToSnapByWhy splits the move timings by the moved's why.
	MoveToSnapByWhy map[string]timing
	// Drops counts the bots' connections that dropped (with Reconnect),
	// ReconnectsFailed those after which no node took the bot back.
	Drops, ReconnectsFailed uint64
	// Carry and Crash are what Fleet tracking found (carry.go).
	Carry carryResult
	Crash crashResult
	// Fleet is what a fleet scenario measured of its nodes and Redis.
	Fleet       *fleetResult
	SendErrors  uint64
	PacerMissed uint64
	OpenAtEnd   int            // connections still open when the window closed
	Closes      map[string]int // how connections ended, by endReason

	LoadgenCPU float64 // cores the load generator used in the window
	// LoadgenKernelCPU is the kernel's share of LoadgenCPU (system time).
	LoadgenKernelCPU float64
	LoadgenRSS       uint64
	LoadgenHeap      uint64

	Server *serverResult // nil without -admin
	Floor  *floorResult  // measured before a scenario's server started; nil otherwise
}

// serverResult is what the server said about itself.
type serverResult struct {
	Before         serverSample  // before the ramp
	Start, End     serverSample  // at the window's ends
	Arenas         []arenaStatus // at the window's end
	ExpectedArenas int
	ProfileErr     error
}

// loadRun is the state of one load run.
type loadRun struct {
	cfg   loadConfig
	start time.Time
	pacer *bot.Pacer
	poll  *client.PollGroup // with cfg.Poll; static after runLoad made it

	measuring  atomic.Bool // set for the window; bots count only then
	acks       histogram
	moveToSnap histogram                // over the whole run
	moveByWhy  [len(moveWhys)]histogram // moveToSnap split by why, in moveWhys' order
	tally      fleetTally               // with cfg.Fleet
	tickRate   atomic.Int64             // from the first welcome
	maxPlayers atomic.Int64             // max_players from the first welcome
	deaths     atomic.Uint64
	sendErrors atomic.Uint64
	connected  atomic.Int64
	failed     atomic.Int64

	mu       sync.Mutex // guards bots and failures
	bots     []*loadBot
	failures map[string]int
}

// loadBot is one bot session and its snap timing.
type loadBot struct {
	player *bot.Player // static once the bot is in run.bots

	// Owned by the player's read loop.
	onTimeLimit time.Duration // onTimeFactor tick periods
	lastSnap    time.Duration // since run.start; 0 before the first snap
	lastTick    uint64

	// Written by the read loop while measuring; read by the run.
	gaps, onTime, skipped atomic.Uint64

	track *massTrack // with cfg.Fleet; owned by the read loop
}

// runLoad opens cfg.Clients bot sessions at cfg.Ramp a second, lets them
// play for cfg.Duration after the last one is open, measuring the while,
// and closes them. It returns an error only when it could not run at all;
// sessions that fail are counted in the result.
func runLoad(ctx context.Context, cfg loadConfig) (*result, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout, errRunTimeout)
	defer cancel()
	r := &loadRun{cfg: cfg, start: time.Now(), failures: map[string]int{}}
	res := &result{Config: cfg, Started: r.start}
	show := cfg.Progress
	if show == nil {
		show = &progress{}
	}

	var adm *admin
	if cfg.Admin != "" {
		adm = newAdmin(cfg.Admin)
		before, err := adm.sample(ctx)
		if err != nil {
			return nil, err
		}
		res.Server = &serverResult{Before: before}
	}
	if limit, err := raiseOpenFiles(cfg.Clients); err != nil {
		show.note("warning: %v; dials past %d open files will fail with EMFILE", err, limit)
	}

	// One poll group reads every bot of the run. It is closed when
	// runLoad returns, after the bots were closed below.
	if cfg.Poll {
		g, err := client.NewPollGroup(client.PollOptions{Pace: cfg.PollPace, Detach: cfg.PollDetach})
		if err != nil {
			return nil, err
		}
		defer g.Close()
		r.poll = g
	}

	// The bots live until the run is over, then close with a normal close
	// frame; the pacer stops with them.
	botsCtx, stopBots := context.WithCancelCause(ctx)
	defer stopBots(errRunOver)
	r.pacer = bot.NewPacer(cfg.InputRate, cfg.Workers, func(_ *bot.Player, _ bot.Action, err error) {
		if err != nil && !errors.Is(err, bot.ErrDisconnected) && !errors.Is(err, client.ErrMoving) {
			r.sendErrors.Add(1)
		}
	})
	var pacing sync.WaitGroup
	pacing.Go(func() { r.pacer.Run(botsCtx) }) // exits when botsCtx is done

	show.startRamp(cfg.Clients, func() (int, int) { return int(r.connected.Load()), int(r.failed.Load()) })
	rampStart := time.Now()
	r.ramp(botsCtx)
	show.endRamp(time.Since(rampStart))

	var wStart, wEnd time.Time
	var cpu0, cpu1, sys0, sys1 time.Duration
	var stats0, stats1 client.Stats
	if ctx.Err() == nil {
		if adm != nil {
			if s, err := adm.sample(ctx); err == nil {
				res.Server.Start = s
			}
		}
		stats0, _ = r.sumStats()
		stopSelfProfile, err := startSelfProfile(cfg.SelfProfile)
		if err != nil {
			show.note("warning: load generator profile: %v", err)
		}
		cpu0, sys0 = processCPU()
		wStart = time.Now()
		r.measuring.Store(true)

		var profiling sync.WaitGroup
		if adm != nil && cfg.ProfileFile != "" {
			d := min(10*time.Second, cfg.Duration-2*time.Second).Truncate(time.Second)
			if d >= time.Second {
				// Owned by the window: started a second in, waited for below.
				profiling.Go(func() {
					select {
					case <-time.After(cfg.Duration - d - time.Second):
					case <-ctx.Done():
						return
					}
					res.Server.ProfileErr = adm.download(ctx, cpuProfilePath(d), d+10*time.Second, cfg.ProfileFile)
				})
			}
		}
		show.startPlay(cfg.Duration, r.liveLine)
		windowEnd := make(chan struct{})
		var during sync.WaitGroup
		if cfg.During != nil {
			during.Go(func() { cfg.During(ctx, windowEnd, r) })
		}
		select {
		case <-time.After(cfg.Duration):
		case <-ctx.Done():
		}
		close(windowEnd)
		r.measuring.Store(false)
		wEnd = time.Now()
		cpu1, sys1 = processCPU()
		if err := stopSelfProfile(); err != nil {
			show.note("warning: load generator profile: %v", err)
		}
		stats1, res.OpenAtEnd = r.sumStats()
		during.Wait()
		show.endPlay()
		profiling.Wait()
		if adm != nil {
			sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 2*scrapeTimeout)
			if s, err := adm.sample(sctx); err == nil {
				res.Server.End = s
			}
			res.Server.Arenas, _ = adm.arenas(sctx)
			scancel()
			if cfg.HeapFile != "" {
				if err := adm.download(ctx, "/debug/pprof/heap", 10*time.Second, cfg.HeapFile); err != nil {
					res.Server.ProfileErr = errors.Join(res.Server.ProfileErr, err)
				}
			}
		}
		res.LoadgenRSS, res.LoadgenHeap = processMemory()
	}

	stopBots(errRunOver)
	pacing.Wait()
	r.mu.Lock()
	bots := r.bots
	res.Failures = r.failures
	r.mu.Unlock()
	res.Closes = map[string]int{}
	for _, b := range bots {
		b.player.Close()
		res.Closes[endReason(b.player.Client().Err())]++
	}

	res.Connected, res.Failed = int(r.connected.Load()), int(r.failed.Load())
	res.TickRate = int(r.tickRate.Load())
	res.Window = wEnd.Sub(wStart)
	res.Deaths, res.SendErrors, res.PacerMissed = r.deaths.Load(), r.sendErrors.Load(), r.pacer.Missed()
	res.Acks, res.AckP50, res.AckP95, res.AckP99 = r.ackQuantiles()
	var moveQ []time.Duration
	res.MoveSamples, moveQ = r.moveToSnap.quantiles(0.50, 0.99)
	res.MoveToSnapP50, res.MoveToSnapP99 = moveQ[0], moveQ[1]
	res.MoveToSnapByWhy = map[string]timing{}
	for i, why := range moveWhys {
		if t := r.moveByWhy[i].timing(); t.N > 0 {
			res.MoveToSnapByWhy[string(why)] = t
		}
	}
	if cfg.Fleet {
		res.Carry, res.Crash = r.tally.results()
	}
	for _, b := range bots {
		st := b.player.Client().Stats()
		if st.SnapsReceived == 0 {
			res.Silent++
		}
		res.Moves = res.Moves.Add(st.Moves)
		res.Drops += st.Drops
		res.ReconnectsFailed += st.ReconnectsFailed
		res.Gaps += b.gaps.Load()
		res.OnTime += b.onTime.Load()
		res.SkippedTicks += b.skipped.Load()
	}
	if secs := res.Window.Seconds(); secs > 0 && res.Connected > 0 {
		perClient := secs * float64(res.Connected)
		snaps := float64(stats1.SnapsReceived - stats0.SnapsReceived)
		bytes := float64(stats1.BytesReceived - stats0.BytesReceived)
		res.SnapsPerClient = snaps / perClient
		res.BytesPerClient = bytes / perClient
		res.InputsPerClient = float64(stats1.InputsSent-stats0.InputsSent) / perClient
		if snaps > 0 {
			res.BytesPerSnap = bytes / snaps
		}
		res.DeltaErrors = stats1.DeltaErrors
		res.LoadgenCPU = (cpu1 - cpu0).Seconds() / secs
		res.LoadgenKernelCPU = (sys1 - sys0).Seconds() / secs
	}
	if res.Server != nil {
		res.Server.ExpectedArenas = cfg.Spread
		if cfg.Spread == 0 && r.maxPlayers.Load() > 0 {
			res.Server.ExpectedArenas = int(math.Ceil(float64(cfg.Clients) / float64(r.maxPlayers.Load())))
		}
	}
	if err := context.Cause(ctx); errors.Is(err, errRunTimeout) {
		show.note("warning: the run reached -timeout %v; figures cover what was measured", cfg.Timeout)
	}
	return res, nil
}

// ramp dials cfg.Clients bots, one every 1/cfg.Ramp seconds, and returns
// when every dial has ended or ctx is done. Each dial runs on its own
// goroutine, owned by ramp, which exits when its handshake ends.
func (r *loadRun) ramp(ctx context.Context) {
	var dials sync.WaitGroup
	defer dials.Wait()
	inFlight := make(chan struct{}, maxDialsInFlight)
	ticker := time.NewTicker(time.Duration(float64(time.Second) / r.cfg.Ramp))
	defer ticker.Stop()
	for i := range r.cfg.Clients {
		if i > 0 {
			select {
			case <-ticker.C:
			case <-ctx.Done():
			}
		}
		select {
		case inFlight <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			r.fail("not dialled: run stopped", r.cfg.Clients-i)
			return
		}
		dials.Go(func() {
			defer func() { <-inFlight }()
			r.dial(ctx, i)
		})
	}
}

// dial opens bot i and hands it to the pacer.
func (r *loadRun) dial(ctx context.Context, i int) {
	b := &loadBot{}
	if r.cfg.Fleet {
		b.track = &massTrack{}
	}
	var reconnect []string
	if r.cfg.Reconnect {
		reconnect = r.cfg.URLs
	}
	p, err := bot.Dial(ctx, r.cfg.URLs[i%len(r.cfg.URLs)], bot.Options{
		Name: fmt.Sprintf("%s%d", r.cfg.Name, i),
		Seed: r.cfg.Seed + uint64(i),
		Client: client.Options{
			HandshakeTimeout: r.cfg.DialTimeout,
			SkimSnaps:        !r.fullBot(i),
			ArrivalTimes:     r.cfg.Arrivals,
			Poll:             r.poll,
			MoveTimeout:      r.cfg.MoveTimeout,
			Reconnect:        reconnect,
			OnMessage:        func(c *client.Client, m *wire.ServerMessage) { r.observe(b, c, m) },
			OnAck: func(_ *client.Client, _ uint32, latency time.Duration) {
				if r.measuring.Load() {
					r.acks.add(latency)
				}
			},
			OnMove: func(_ *client.Client, m client.Move) {
				r.moveToSnap.add(m.ToSnap)
				r.moveByWhy[whyIndex(m.Moved.Why)].add(m.ToSnap)
			},
			OnReconnect: func(_ *client.Client, rc client.Reconnect) {
				if b.track != nil {
					r.tally.reconnected(b.track, rc, time.Since(r.start))
				}
			},
		},
	})
	if err != nil {
		r.fail(dialFailure(err), 1)
		return
	}
	b.player = p
	r.mu.Lock()
	r.bots = append(r.bots, b)
	r.mu.Unlock()
	if !r.cfg.Idle {
		r.pacer.Add(p)
	}
	r.connected.Add(1)
}

// fullBot reports whether bot i decodes and applies every snap in full,
// checking each delta against its table and steering by its whole view;
// the others skim their snaps (client.Options.SkimSnaps). Bot 0 is
// always full, so a run has one at least.
func (r *loadRun) fullBot(i int) bool {
	return i%max(1, r.cfg.FullEvery) == 0
}

func (r *loadRun) fail(reason string, n int) {
	r.failed.Add(int64(n))
	r.mu.Lock()
	r.failures[reason] += n
	r.mu.Unlock()
}

// observe times snaps (by when they arrived: client.Client.Arrived) and
// counts deaths. It runs on b's read loop, c's.
func (r *loadRun) observe(b *loadBot, c *client.Client, m *wire.ServerMessage) {
	if b.track != nil {
		r.tally.observe(b.track, m, time.Since(r.start))
	}
	switch m.Type {
	case wire.TypeWelcome:
		// After a move, the other node's ticks are not the ones before:
		// the gap across the move is not a snap gap.
		b.lastSnap, b.lastTick = 0, 0
		rate := max(1, m.Welcome.Rate)
		b.onTimeLimit = time.Duration(onTimeFactor * float64(time.Second) / float64(rate))
		r.tickRate.CompareAndSwap(0, int64(rate))
		for _, rule := range m.Welcome.Rules {
			if rule.Name == "max_players" {
				r.maxPlayers.CompareAndSwap(0, int64(rule.Value))
			}
		}
	case wire.TypeSnap:
		now := c.Arrived().Sub(r.start)
		tick := m.Snap.Tick
		if r.measuring.Load() && b.lastSnap != 0 {
			b.gaps.Add(1)
			if now-b.lastSnap <= b.onTimeLimit {
				b.onTime.Add(1)
			}
			if tick > b.lastTick+1 {
				b.skipped.Add(tick - b.lastTick - 1)
			}
		}
		b.lastSnap, b.lastTick = now, tick
	case wire.TypeDied:
		r.deaths.Add(1)
	}
}

// tokens returns the resume token of every bot's latest welcome.
func (r *loadRun) tokens() []string {
	r.mu.Lock()
	bots := r.bots
	r.mu.Unlock()
	out := make([]string, 0, len(bots))
	for _, b := range bots {
		out = append(out, b.player.Client().Welcome().Token)
	}
	return out
}

// sumStats adds up the clients' counters and counts the open connections.
func (r *loadRun) sumStats() (sum client.Stats, open int) {
	r.mu.Lock()
	bots := r.bots
	r.mu.Unlock()
	for _, b := range bots {
		c := b.player.Client()
		s := c.Stats()
		sum.MessagesReceived += s.MessagesReceived
		sum.SnapsReceived += s.SnapsReceived
		sum.BytesReceived += s.BytesReceived
		sum.MessagesSent += s.MessagesSent
		sum.BytesSent += s.BytesSent
		sum.InputsSent += s.InputsSent
		sum.InputsAcked += s.InputsAcked
		sum.DeltaErrors += s.DeltaErrors
		select {
		case <-c.Done():
		default:
			open++
		}
	}
	return sum, open
}

func (r *loadRun) ackQuantiles() (n uint64, p50, p95, p99 time.Duration) {
	n, q := r.acks.quantiles(0.50, 0.95, 0.99)
	return n, q[0], q[1], q[2]
}

// liveLine describes the play so far, for the progress bar.
func (r *loadRun) liveLine() string {
	_, open := r.sumStats()
	n, _, _, p99 := r.ackQuantiles()
	if n == 0 {
		return fmt.Sprintf("%d open", open)
	}
	return fmt.Sprintf("%d open, input→ack p99 %v, %d deaths", open, p99.Round(100*time.Microsecond), r.deaths.Load())
}

// startSelfProfile starts profiling this process's CPU into path, if path
// is not empty, and returns the function that stops and writes it.
func startSelfProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return func() error { return nil }, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() error { return nil }, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// processCPU returns the CPU time this process has used, user and system
// together, and the system time alone.
func processCPU() (all, system time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), time.Duration(ru.Stime.Nano())
}

// processMemory returns this process's resident set and Go heap in use.
func processMemory() (rss, heap uint64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return residentBytes(), ms.HeapInuse
}

// residentBytes reads this process's resident set size from
// /proc/self/statm (Linux); 0 where it cannot.
func residentBytes() uint64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, resident uint64
	if _, err := fmt.Sscan(string(data), &size, &resident); err != nil {
		return 0
	}
	return resident * uint64(os.Getpagesize())
}
