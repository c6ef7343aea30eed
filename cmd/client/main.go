// Command client is a headless Shatter bot: it connects, says hello,
// spawns, steers with net/bot at a fixed input rate, respawns after each
// death, and prints a line for each state change it sees, so that a person
// can watch a server from a terminal or a test can check one.
//
// How much it prints is set by -v: 0 prints the summary lines (welcome,
// deaths, the first leaderboard, errors, moves to other nodes, the close
// and a final summary); 1 adds entities entering and leaving the view,
// spawns, every leaderboard, every kill feed event (busts and spike hits
// of anyone in the arena), the bot's changes of goal and the arrival after
// each move; 2 adds every entity update. A move (PROTOCOL.md, Fleet)
// is followed as net/client does: the bot plays on at the other node,
// which sends a new welcome. It stops after
// -duration, or on SIGINT or SIGTERM, closing the connection with a normal
// close frame.
//
// Every flag has an environment twin: -addr is SHATTER_ADDR.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/shatter/shatter/cmd/internal/flagenv"
	"github.com/shatter/shatter/net/bot"
	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// errDurationElapsed ends a run that was given a -duration.
var errDurationElapsed = errors.New("duration elapsed")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

// summary is what a run saw, for the last line and for tests.
type summary struct {
	Session      uint32
	Snaps        uint64
	InputsSent   uint64
	InputsAcked  uint64
	Deaths       int
	Moves        uint64  // moved messages received (PROTOCOL.md, Fleet)
	Moved        float64 // arena units the bot's marble travelled
	AckMean      time.Duration
	AckMax       time.Duration
	EndedBy      error // why the connection ended
	PrintedLines int
}

// run plays one session until ctx is done, -duration elapses or the server
// ends the connection, and returns what it saw. The error is nil when the
// run ended as asked (signal or duration).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (summary, error) {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:4000", "server: HOST:PORT or a ws:// URL")
	name := fs.String("name", "bot", "player name")
	inputRate := fs.Float64("input-rate", 20, "inputs a second (the server allows 60)")
	duration := fs.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	verbosity := fs.Int("v", 0, "verbosity: 0 summary lines, 1 adds view entries and exits, 2 every update")
	seed := fs.Uint64("seed", 1, "seed of the bot's random choices")
	if err := flagenv.Parse(fs, args); err != nil {
		return summary{}, err
	}
	if *inputRate <= 0 || *inputRate > 60 {
		return summary{}, fmt.Errorf("-input-rate %v: want more than 0 and at most 60", *inputRate)
	}
	url, err := bot.ServerURL(*addr)
	if err != nil {
		return summary{}, err
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, *duration, errDurationElapsed)
		defer cancel()
	}

	out := &lineWriter{w: stdout}
	pr := &printer{out: out, verbosity: *verbosity}
	var acks ackStats // written by the read loop, read after it exits
	p, err := bot.Dial(ctx, url, bot.Options{
		Name: *name,
		Seed: *seed,
		Client: client.Options{
			OnMessage: func(_ *client.Client, m *wire.ServerMessage) { pr.message(m) },
			OnAck:     func(_ *client.Client, _ uint32, latency time.Duration) { acks.add(latency) },
			OnMove:    func(_ *client.Client, m client.Move) { pr.arrived(m) },
		},
	})
	if err != nil {
		return summary{}, err
	}

	// The pacer's one worker prints goal changes; the read loop prints
	// everything else.
	var lastGoal bot.Goal
	var lastErr string
	pacer := bot.NewPacer(*inputRate, 1, func(_ *bot.Player, a bot.Action, err error) {
		if err != nil && !errors.Is(err, bot.ErrDisconnected) && !errors.Is(err, client.ErrMoving) && err.Error() != lastErr {
			lastErr = err.Error()
			out.printf("send failed: %v", err)
		}
		if a.Goal != lastGoal && a.Goal != 0 {
			lastGoal = a.Goal
			if *verbosity >= 1 {
				out.printf("goal %s {target:%d boost:%v}", a.Goal, a.Target, a.Boost)
			}
		}
	})
	pacer.Add(p)
	pacerCtx, stopPacer := context.WithCancel(ctx)
	var pacing sync.WaitGroup
	pacing.Go(func() { pacer.Run(pacerCtx) }) // exits when stopPacer is called below

	select {
	case <-ctx.Done():
	case <-p.Client().Done():
	}
	stopPacer()
	pacing.Wait()
	p.Close() // Sends a normal close frame if ctx has not already.

	c := p.Client()
	st := c.Stats()
	sum := summary{
		Session: c.Welcome().Session, Snaps: st.SnapsReceived,
		InputsSent: st.InputsSent, InputsAcked: st.InputsAcked,
		Deaths: pr.deaths, Moves: st.Moves.Total(), Moved: pr.moved, EndedBy: c.Err(),
	}
	if errors.Is(sum.EndedBy, client.ErrClosed) && ctx.Err() != nil {
		// We closed because ctx ended, possibly before the client's own
		// watch on ctx could record why: the cause is the reason.
		sum.EndedBy = context.Cause(ctx)
	}
	sum.AckMean, sum.AckMax = acks.mean(), acks.max
	out.printf("closed: %s", endReason(sum.EndedBy))
	out.printf("summary: session %d, %d snaps, %d inputs sent, %d acknowledged (mean %v, max %v), %d deaths, moved %.0f units, %d moves to other nodes",
		sum.Session, sum.Snaps, sum.InputsSent, sum.InputsAcked, sum.AckMean.Round(time.Microsecond), sum.AckMax.Round(time.Microsecond), sum.Deaths, sum.Moved, sum.Moves)
	sum.PrintedLines = out.lines
	if errors.Is(sum.EndedBy, errDurationElapsed) || errors.Is(sum.EndedBy, context.Canceled) || errors.Is(sum.EndedBy, client.ErrClosed) {
		return sum, nil
	}
	return sum, fmt.Errorf("connection ended: %w", sum.EndedBy)
}

// endReason says in words why a connection ended.
func endReason(err error) string {
	var closed client.CloseError
	var moveErr *client.MoveError
	switch {
	case errors.As(err, &moveErr):
		return fmt.Sprintf("move failed: %v", moveErr.Err)
	case errors.Is(err, errDurationElapsed):
		return "duration elapsed, normal close sent"
	case errors.Is(err, context.Canceled):
		return "interrupted, normal close sent"
	case errors.Is(err, client.ErrClosed):
		return "normal close sent"
	case errors.As(err, &closed):
		return fmt.Sprintf("server closed the connection: %d %s", closed.Code, closed.Reason)
	}
	return fmt.Sprint(err)
}

// ackStats sums input-to-ack latencies. Owned by the read loop.
type ackStats struct {
	n        int
	sum, max time.Duration
}

func (a *ackStats) add(d time.Duration) {
	a.n++
	a.sum += d
	a.max = max(a.max, d)
}

func (a *ackStats) mean() time.Duration {
	if a.n == 0 {
		return 0
	}
	return a.sum / time.Duration(a.n)
}

// lineWriter prints timestamped lines from the read loop and the pacer
// without interleaving them.
type lineWriter struct {
	mu    sync.Mutex // guards w and lines
	w     io.Writer
	lines int
}

func (l *lineWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	l.lines++
}

// printer turns server messages into lines. It keeps its own copy of the
// view, names included, because a deleted entity is gone from the
// client's table by the time OnMessage sees the snap that deleted it.
// Owned by the client's read loop.
type printer struct {
	out       *lineWriter
	verbosity int

	arenaW, arenaH float64
	view           map[uint32]client.Entity
	you            wire.UpdEntity // the marble in the last snap, ID 0 when dead
	boards         int
	deaths         int
	moved          float64
}

func (p *printer) message(m *wire.ServerMessage) {
	switch m.Type {
	case wire.TypeWelcome:
		// A welcome after a move starts the view afresh, as the client's.
		w := &m.Welcome
		p.arenaW, p.arenaH = w.ArenaWidth, w.ArenaHeight
		p.view = make(map[uint32]client.Entity)
		p.you = wire.UpdEntity{}
		rules := bot.RulesFromWelcome(w)
		p.out.printf("welcome {session:%d tick:%d rate:%d arena:%.0fx%.0f terrain:%dx%d boost_floor:%g rules:%d}",
			w.Session, w.Tick, w.Rate, w.ArenaWidth, w.ArenaHeight, w.TerrainSize, w.TerrainSize, rules.BoostFloor, len(w.Rules))
	case wire.TypeSnap:
		p.snap(&m.Snap)
	case wire.TypeDied:
		d := &m.Died
		by := "an obstacle or another cause"
		if d.By != 0 {
			by = fmt.Sprintf("%d %q", d.By, d.ByName)
		}
		p.deaths++
		p.out.printf("died {tick:%d by:%s mass:%d}", d.Tick, by, d.Mass)
	case wire.TypeBoard:
		p.boards++
		if p.boards == 1 || p.verbosity >= 1 {
			b := &m.Board
			line := fmt.Sprintf("board {count:%d top:[", b.Count)
			for i, e := range b.Top {
				if i > 0 {
					line += " "
				}
				line += fmt.Sprintf("%q:%d", e.Name, e.Mass)
			}
			p.out.printf("%s]}", line)
		}
	case wire.TypeError:
		p.out.printf("error {code:%s msg:%q}", m.Error.Code, m.Error.Msg)
	case wire.TypeMoved:
		p.out.printf("moved {why:%s url:%s}", m.Moved.Why, m.Moved.URL)
	case wire.TypeFeed:
		if p.verbosity >= 1 {
			for i := range m.Feed.Events {
				p.feedEvent(&m.Feed.Events[i])
			}
		}
	}
}

// feedEvent prints one kill feed event in the words of the seed client's
// player_killed and other_player_collided_with_obstacle handlers.
func (p *printer) feedEvent(ev *sim.FeedEvent) {
	switch ev.What {
	case sim.FeedBust:
		p.out.printf("need to announce that player {id:%d name:%q mass:%d} was killed by {id:%d name:%q}", ev.ID, ev.Name, ev.Mass, ev.By, ev.ByName)
	case sim.FeedSpike:
		p.out.printf("need to announce that player {id:%d name:%q lost:%d} collided with an obstacle", ev.ID, ev.Name, ev.Mass)
	default:
		p.out.printf("feed {what:%s id:%d name:%q by:%d by_name:%q mass:%d}", ev.What, ev.ID, ev.Name, ev.By, ev.ByName, ev.Mass)
	}
}

// arrived prints where a move ended and what it took, at -v 1.
func (p *printer) arrived(m client.Move) {
	if p.verbosity >= 1 {
		p.out.printf("arrived {url:%s hops:%d fell_back:%v moved_to_snap:%v}", m.To, m.Hops, m.FellBack, m.ToSnap.Round(time.Millisecond))
	}
}

// snap prints a snap's changes, then records them.
func (p *printer) snap(s *wire.Snap) {
	for _, a := range s.Add {
		e := client.Entity{Kind: a.Kind, X: a.X, Y: a.Y, Mass: a.Mass, Name: a.Name}
		p.view[a.ID] = e
		if p.verbosity >= 1 {
			p.out.printf("need to add the state of %s", p.describe(a.ID, e))
		}
	}
	for _, u := range s.Upd {
		e, ok := p.view[u.ID]
		if !ok {
			continue // net/client counts it as a delta error.
		}
		e.X, e.Y, e.Mass = u.X, u.Y, u.Mass
		p.view[u.ID] = e
		if p.verbosity >= 2 {
			p.out.printf("need to update the state of %s", p.describe(u.ID, e))
		}
	}
	for _, id := range s.Del {
		if p.verbosity >= 1 {
			p.out.printf("need to remove the state of %s", p.describe(id, p.view[id]))
		}
		delete(p.view, id)
	}
	switch {
	case s.HasYou && p.you.ID == 0:
		if p.verbosity >= 1 {
			x, y := p.position(s.You.X, s.You.Y)
			p.out.printf("spawned {id:%d x:%.1f y:%.1f mass:%d}", s.You.ID, x, y, s.You.Mass)
		}
	case s.HasYou:
		x0, y0 := p.position(p.you.X, p.you.Y)
		x1, y1 := p.position(s.You.X, s.You.Y)
		p.moved += math.Hypot(x1-x0, y1-y0)
	}
	p.you = wire.UpdEntity{}
	if s.HasYou {
		p.you = s.You
	}
}

// describe renders an entity as `kind {id:… name:… x:… y:… mass:…}`.
func (p *printer) describe(id uint32, e client.Entity) string {
	kind := [...]string{"player", "zombie", "fragment", "obstacle"}
	k := "entity"
	if int(e.Kind) < len(kind) {
		k = kind[e.Kind]
	}
	if id == p.you.ID && id != 0 {
		k = "you"
	}
	x, y := p.position(e.X, e.Y)
	if e.Name != "" {
		return fmt.Sprintf("%s {id:%d name:%q x:%.1f y:%.1f mass:%d}", k, id, e.Name, x, y, e.Mass)
	}
	return fmt.Sprintf("%s {id:%d x:%.1f y:%.1f mass:%d}", k, id, x, y, e.Mass)
}

// position converts quantized wire coordinates to arena units.
func (p *printer) position(qx, qy uint16) (x, y float64) {
	return float64(qx) / 65535 * p.arenaW, float64(qy) / 65535 * p.arenaH
}
