// Package lobby routes sessions to arenas and keeps their seats: it starts
// arenas as players arrive (up to a maximum), stops empty extra arenas after
// a while, and holds each session's seat through a disconnect for a grace
// period so that a new connection carrying its resume token can take it
// over. It is also this node's part in the fleet (fleet.go, drain.go): it
// sends players to other nodes when it is full, honours seats and tokens
// from other nodes, keeps its lease, checkpoints and leaderboard in the
// fleet's directory, and moves its players away when it drains.
package lobby

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/sim"
)

// ErrFull means no arena has room and no new arena may start.
var ErrFull = errors.New("all arenas are full")

// ErrClosed means the lobby is shutting down.
var ErrClosed = errors.New("lobby closed")

// Conn is what the lobby needs of a connection: the arena's event sink,
// and the moments the lobby tells it of. Seated, Replaced and Failed are
// called with the lobby's lock held; none of them may block.
type Conn interface {
	sim.Sink
	// Seated gives the connection its seat, before the arena can send it
	// any event, so the connection can queue its welcome first, after the
	// errors for what was refused.
	Seated(s *Seat, refused Refusals)
	// Replaced ends the connection because a newer one resumed its seat.
	Replaced()
	// Shutdown ends the connection because the server stops.
	Shutdown()
	// Failed ends the connection because a fault stopped its arena: its
	// seat and marble are gone (error internal, close 1011).
	Failed()
	// Move ends the connection because its player continues on another
	// node (a drain): the connection sends everything queued, then m's
	// moved, then closes with 4003.
	Move(m *Moved)
}

// JoinRequest is what a hello asks of the lobby.
type JoinRequest struct {
	Name  string // the cleaned display name
	Token string // a resume token, "" for none
	Seat  string // a seat reserved for this connection, "" for none
}

// Refusals say what of a JoinRequest was refused before the session went
// on as a new one.
type Refusals uint8

// What a JoinRequest can have refused.
const (
	// TokenRefused: the token is unknown or expired (resume_expired).
	TokenRefused Refusals = 1 << iota
	// SeatRefused: the seat is unknown, expired, used, or for another
	// node (bad_seat).
	SeatRefused
)

// Moved is the error Join returns when the player continues on another
// node, and what Conn.Move carries: the connection sends Refused's errors,
// then a moved {URL, Seat, Why}, and closes with 4003.
type Moved struct {
	URL, Seat, Why string
	Refused        Refusals
}

func (m *Moved) Error() string { return "moved (" + m.Why + ") to " + m.URL }

// Seat is one session's place in an arena. ID, Name and Arena are static
// after the seat is made; the rest is guarded by the lobby's mutex.
type Seat struct {
	ID    uint32
	Name  string
	Arena *sim.Arena
	// Token is the seat's resume token. A takeover replaces it (the old
	// one is then refused), so it is read with the lobby's mutex held:
	// Conn.Seated, which is called with it held, is where a connection
	// learns the token its welcome carries.
	Token string

	conn   Conn      // the connection playing the seat; nil while detached
	expiry sim.Timer // runs while detached
	// detachGen counts detaches; a grace timer releases the seat only if
	// no resume (and no later detach) came since it was set.
	detachGen uint64
	expired   bool
	// departing is set once the seat's marble was told to Depart (drain).
	departing bool
	// departed is set by the arena's goroutine when the marble has left
	// it for a drain (Lobby.Departed), before the drain hears of it.
	departed atomic.Bool
	// unhold gives back what Config.Hold took for this seat's detach; nil
	// while nothing is held.
	unhold func()
}

// Config configures a lobby.
type Config struct {
	// MaxArenas bounds the arenas of the process (at least 1).
	MaxArenas int
	// Grace is how long a detached seat waits for its token (10 s in
	// PROTOCOL.md).
	Grace time.Duration
	// EmptyArenaTTL is how long an extra arena (any but the first) may stay
	// empty before it stops.
	EmptyArenaTTL time.Duration
	// NewArena makes arena number id; the lobby runs it.
	NewArena func(id int) (*sim.Arena, error)
	Logger   *slog.Logger
	// Clock times the grace periods, the retries of control commands and
	// Run's checks of empty arenas; the wall clock if nil. Its AfterFunc
	// releases detached seats, so with a sim.ManualClock they wait for
	// Advance.
	Clock sim.Clock
	// Fleet is this node's place in the fleet: its directory, id and URL.
	Fleet FleetConfig
	// ArenaStopped, if set, is called once for every arena whose Run has
	// returned (reaped when empty, stopped by a fault, or closed), on
	// that arena's goroutine after its replay log is flushed: nothing
	// of the arena runs any more (the server deletes its metric series
	// and notes the event for the console). err is what Run returned: nil
	// or the context's error when it was reaped or closed, a *sim.Fault
	// when a fault stopped it.
	ArenaStopped func(id int, err error)
	// ArenaBytesOut, if set, tells the bytes sent to an arena's sessions
	// since it started, for its figures in the node's lease.
	ArenaBytesOut func(id int) float64
	// Hold, if set, is called when conn drops and leaves its seat detached
	// for the grace period; the lobby calls the func it returns once the
	// seat is resumed or released. The server counts a detached seat
	// against the address that dropped it (-max-conns-per-ip), so a
	// spawn-then-drop loop cannot hold seats beyond its limit. Both are
	// called with the lobby's lock held and must not block.
	Hold func(conn Conn) (unhold func())
}

// running is an arena and its Run goroutine.
type running struct {
	arena      *sim.Arena
	cancel     context.CancelFunc
	emptySince time.Time // zero while it has seats taken
}

// Lobby owns the process's arenas and seats.
type Lobby struct {
	cfg Config
	log *slog.Logger
	dir fleet.Directory

	mu       sync.Mutex // guards everything below
	arenas   []*running
	nextID   int
	seats    map[string]*Seat // by token
	nextSeat uint32
	closed   bool
	// stopping is the arena StopArena is emptying: no seat goes to it.
	stopping *running
	fleetState

	runs sync.WaitGroup // one per arena goroutine, for Close
}

// New returns a lobby and starts its first arena.
func New(cfg Config) (*Lobby, error) {
	if cfg.MaxArenas < 1 {
		cfg.MaxArenas = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = sim.RealClock{}
	}
	cfg.Fleet = cfg.Fleet.withDefaults()
	l := &Lobby{cfg: cfg, log: cfg.Logger, seats: map[string]*Seat{}, dir: cfg.Fleet.Directory}
	l.incarnation = newToken()[:16]
	l.mu.Lock()
	defer l.mu.Unlock()
	r, err := l.startArena()
	if err != nil {
		return nil, err
	}
	l.capacity = cfg.MaxArenas * r.arena.Config().MaxPlayers
	// Room for a departure of every seat the node can hold, so Departed
	// never blocks an arena.
	l.departures = make(chan departure, l.capacity+16)
	return l, nil
}

// startArena makes and runs a new arena. Called with mu held.
func (l *Lobby) startArena() (*running, error) {
	id := l.nextID
	a, err := l.cfg.NewArena(id)
	if err != nil {
		return nil, fmt.Errorf("arena %d: %w", id, err)
	}
	l.nextID++
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{arena: a, cancel: cancel}
	l.runs.Add(1)
	// Owned by the lobby; exits when Close or reapEmpty cancels it, or
	// when a fault stops the arena.
	go func() {
		defer l.runs.Done()
		l.arenaEnded(r, a.Run(ctx))
	}()
	l.arenas = append(l.arenas, r)
	l.log.Info("arena started", "arena", id, "arenas", len(l.arenas))
	return r, nil
}

// Arenas returns the running arenas, first started first.
func (l *Lobby) Arenas() []*sim.Arena {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*sim.Arena, len(l.arenas))
	for i, r := range l.arenas {
		out[i] = r.arena
	}
	return out
}

// Join seats a connection, on this node or, by returning a *Moved, on
// another (PROTOCOL.md "Fleet"):
//   - a Seat reserved for this node is used up: it takes over the session
//     it names (resume), or makes a new one, with the marble it carries
//     (drain, or a crashed node's player); a bad seat is refused
//     (SeatRefused) and the request goes on as if it had only its token;
//   - a Token of a seat held here takes that seat over (a connection still
//     playing it is Replaced); a token of a session on another live node
//     is answered with a seat there (moved, resume); a token of a dead
//     node's session brings its marble back here, alive, with the mass of
//     its last checkpoint; an unknown or expired token is refused
//     (TokenRefused);
//   - otherwise the player gets a new seat here when the node has room
//     (the directory counts seats reserved here by others as taken), or a
//     seat on another node with room (moved, full), or ErrFull.
//
// When the directory cannot be reached, seats and tokens from elsewhere
// are refused and new players are seated here while local arenas have
// room. conn is Seated first, then the arena is told through a Join
// command carrying conn as its event sink (and an Arrive, for a carried
// marble), both under the lobby's lock: a call that takes the lock (such
// as Arenas) made once Seated has run (a client holds its welcome)
// returns only after the Join command was posted (or refused), so that
// every step the arena begins after it has the player. Join blocks on the
// directory for at most the context's time; it never holds the lobby's
// lock while it does.
func (l *Lobby) Join(ctx context.Context, req JoinRequest, conn Conn) (*Seat, error) {
	if l.isClosed() {
		return nil, ErrClosed
	}
	var (
		refused  Refusals
		carried  *fleet.Seat // a marble that comes along, and its name
		admitted bool        // the directory counts this player here
		resuming bool        // a resume seat was used up: no lookup
		orphan   *fleet.Resume
	)
	if req.Seat != "" {
		cctx, cancel := l.call(ctx)
		seat, err := l.dir.Claim(cctx, l.cfg.Fleet.Node, req.Seat)
		cancel()
		switch {
		case err != nil:
			refused |= SeatRefused
			l.seatEvent("refused")
			l.directoryFailed("claim", err)
		case seat.Why == fleet.WhyResume:
			// It takes over a seat held here, already counted.
			l.seatEvent("used")
			req.Token, resuming = seat.Token, true
		default:
			l.seatEvent("used")
			admitted = true
			req.Token, carried = "", &seat
			if seat.Name != "" {
				req.Name = seat.Name
			}
		}
	}
	if req.Token != "" {
		if s, err, ok := l.takeOver(req.Token, conn, refused); ok {
			return s, err
		}
		switch {
		case resuming:
			// The session expired between the seat and its use.
			refused |= TokenRefused
		default:
			m, rec, err := l.resumeElsewhere(ctx, req.Token)
			switch {
			case m != nil:
				m.Refused = refused
				return nil, m
			case rec != nil:
				// Its node is dead (or gave it up): the marble comes back
				// here. The record is taken: put it back if no seat is made.
				carried, orphan = &fleet.Seat{Name: rec.Name, Alive: rec.Alive, Mass: rec.Mass}, rec
				req.Name = rec.Name
			default:
				refused |= TokenRefused
				if err != nil {
					l.log.Debug("resume lookup failed", "err", err)
				}
			}
		}
	}
	if !admitted {
		err := errNoRoomWhileDraining
		if !l.isDraining() {
			cctx, cancel := l.call(ctx)
			err = l.dir.Admit(cctx, l.cfg.Fleet.Node)
			cancel()
		}
		switch {
		case err == nil:
			admitted = true
		case errors.Is(err, fleet.ErrNoRoom):
			err := l.spill(ctx, req.Name, carried, refused)
			if errors.Is(err, ErrFull) {
				l.restore(ctx, orphan)
			}
			return nil, err
		default:
			// The directory is out of reach: seat locally while there is room.
			l.directoryFailed("admit", err)
		}
	}
	s, err := l.seatNew(req.Name, conn, refused, admitted, carried)
	if err != nil {
		l.restore(ctx, orphan)
	}
	return s, err
}

// errNoRoomWhileDraining makes a draining node treat a new player as a
// full node does.
var errNoRoomWhileDraining = fmt.Errorf("draining: %w", fleet.ErrNoRoom)

// takeOver gives the seat of token, if this node holds it, to conn. ok
// reports whether it did (or failed trying). The seat is counted already,
// so nothing is admitted. The seat gets a new token, which conn's welcome
// carries: a token that leaked (a log, a shared screen, a stolen device)
// is good for one takeover at most, and the old one is refused from then
// on. The directory's record moves to the new token at the next fleet
// round (the old one is forgotten, the new one checkpointed).
func (l *Lobby) takeOver(token string, conn Conn, refused Refusals) (_ *Seat, _ error, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.seats[token]
	if s == nil || s.expired || s.Arena.Stopped() {
		// A stopped arena's seats are about to be released (arenaFailed).
		return nil, nil, false
	}
	if l.closed {
		return nil, ErrClosed, true
	}
	if s.expiry != nil {
		s.expiry.Stop()
		s.expiry = nil
	}
	s.detachGen++
	s.endHold()
	if s.conn != nil {
		s.conn.Replaced()
	}
	delete(l.seats, s.Token)
	l.forgetLocked(s.Token)
	s.Token = newToken()
	l.seats[s.Token] = s
	s.conn = conn
	conn.Seated(s, refused)
	if err := s.Arena.PostControl(sim.Join(s.ID, s.Name, conn)); err != nil {
		// The arena is far behind: the seat waits again, under the new
		// token (the welcome queued above carries it, before the error
		// that ends conn), counted against conn's address.
		s.conn = nil
		l.detachLocked(s)
		l.holdLocked(s, conn)
		return nil, err, true
	}
	if l.draining && l.drainActive {
		l.departLocked(s)
	}
	return s, nil, true
}

// seatNew gives conn a new seat in the first arena with room, starting an
// arena if all are full, with the carried marble if any. The seat's name
// is made distinct among the arena's players ("Name 2"); the welcome
// carries it.
func (l *Lobby) seatNew(name string, conn Conn, refused Refusals, admitted bool, carried *fleet.Seat) (*Seat, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if admitted {
		l.admitted++
	}
	if l.closed {
		return nil, ErrClosed
	}
	r, err := l.roomLocked()
	if err != nil {
		return nil, err
	}
	l.nextSeat++
	name = sim.DistinctName(name, func(n string) bool { return l.nameTakenLocked(r.arena, n) })
	s := &Seat{ID: l.nextSeat, Token: newToken(), Name: name, Arena: r.arena, conn: conn}
	conn.Seated(s, refused)
	if err := r.arena.PostControl(sim.Join(s.ID, name, conn)); err != nil {
		s.conn = nil // so a later Leave by conn does not release it twice
		r.arena.Unreserve()
		return nil, err
	}
	if carried != nil && carried.Alive {
		l.post(r.arena, sim.Arrive(s.ID, carried.Mass), func() bool { return !s.expired })
	}
	r.emptySince = time.Time{}
	l.seats[s.Token] = s
	if l.draining && l.drainActive {
		l.departLocked(s)
	}
	return s, nil
}

// nameTakenLocked reports whether a seat of arena, playing or waiting
// for its resume, goes by name: players of one arena never share a name
// (the arena makes zombies yield theirs). Called with mu held.
func (l *Lobby) nameTakenLocked(arena *sim.Arena, name string) bool {
	for _, s := range l.seats {
		if s.Arena == arena && !s.expired && s.Name == name {
			return true
		}
	}
	return false
}

// roomLocked reserves a seat in the first arena with room, starting a new
// arena if every one is full. Called with mu held.
func (l *Lobby) roomLocked() (*running, error) {
	for _, r := range l.arenas {
		if r != l.stopping && !r.arena.Stopped() && r.arena.Reserve() {
			return r, nil
		}
	}
	// A stopping arena counts no more: its players need another.
	if n := len(l.arenas); n >= l.cfg.MaxArenas && (l.stopping == nil || n-1 >= l.cfg.MaxArenas) {
		return nil, ErrFull
	}
	r, err := l.startArena()
	if err != nil {
		return nil, err
	}
	if !r.arena.Reserve() {
		return nil, ErrFull
	}
	return r, nil
}

// Leave is called when conn stops playing its seat. If another connection
// has taken the seat over, nothing happens. A seat with a living marble is
// detached: the arena stops its boost and it waits Grace for a resume, then
// is released. A seat without one (a spectator, or a player waiting to
// respawn) has nothing in the arena to keep, and is released at once, as
// is every seat with now set (shutdown): holding empty seats through the
// grace period would let a client that connects and drops in a loop fill
// every arena.
func (l *Lobby) Leave(s *Seat, conn Conn, now bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.conn != conn {
		return
	}
	s.conn = nil
	if s.departing {
		// Its marble has left for a drain: moveDeparted settles the seat.
		return
	}
	if now || l.closed || !hasMarble(s) {
		l.releaseLocked(s)
		return
	}
	l.detachLocked(s)
	l.holdLocked(s, conn)
}

// holdLocked counts a detached seat against the connection that left it
// (Config.Hold), until it is resumed or released. Called with mu held.
func (l *Lobby) holdLocked(s *Seat, conn Conn) {
	if l.cfg.Hold != nil {
		s.unhold = l.cfg.Hold(conn)
	}
}

// endHold gives back what Config.Hold took for the seat, if anything.
// Called with the lobby's lock held.
func (s *Seat) endHold() {
	if s.unhold != nil {
		s.unhold()
		s.unhold = nil
	}
}

// hasMarble reports whether the seat's marble is alive in the arena's
// latest frame.
func hasMarble(s *Seat) bool {
	f := s.Arena.Acquire()
	defer f.Release()
	p := f.Player(s.ID)
	return p != nil && p.Alive
}

// detachLocked holds a seat without a connection for the grace period.
func (l *Lobby) detachLocked(s *Seat) {
	s.detachGen++
	gen := s.detachGen
	stillDetached := func() bool { return s.conn == nil && !s.expired && s.detachGen == gen }
	l.post(s.Arena, sim.Detach(s.ID), stillDetached)
	s.expiry = l.cfg.Clock.AfterFunc(l.cfg.Grace, func() {
		defer l.survive("grace_timer")
		l.mu.Lock()
		defer l.mu.Unlock()
		if stillDetached() {
			l.releaseLocked(s)
		}
	})
}

// releaseLocked gives a seat up for good: the arena removes the marble,
// the seat is freed and its token forgotten.
func (l *Lobby) releaseLocked(s *Seat) {
	if !s.expired {
		l.forgetLocked(s.Token)
	}
	l.handOffLocked(s)
}

// handOffLocked releases a seat like releaseLocked but keeps its token's
// resume record, which then lets another node bring the marble back.
// Releasing a seat twice does nothing. Called with mu held.
func (l *Lobby) handOffLocked(s *Seat) {
	if s.expired {
		return
	}
	if s.expiry != nil {
		s.expiry.Stop()
		s.expiry = nil
	}
	s.expired = true
	s.endHold()
	delete(l.seats, s.Token)
	l.post(s.Arena, sim.Leave(s.ID), func() bool { return true })
	s.Arena.Unreserve()
	if s.Arena.Seats() == 0 {
		for _, r := range l.arenas {
			if r.arena == s.Arena {
				r.emptySince = l.cfg.Clock.Now()
			}
		}
	}
}

// post sends a control command the arena must not miss. A full control
// inbox means the arena is far behind; the command is retried shortly,
// with the lobby's lock held, as long as wanted still says it applies (a
// detach must not land after a resume), so that no marble outlives its
// session. Called with mu held.
func (l *Lobby) post(a *sim.Arena, c sim.Command, wanted func() bool) {
	if err := a.PostControl(c); errors.Is(err, sim.ErrInboxFull) {
		l.log.Warn("arena control inbox full, retrying", "arena", a.ID(), "command", c.String(), "session", c.Session())
		l.cfg.Clock.AfterFunc(50*time.Millisecond, func() {
			defer l.survive("control_retry")
			l.mu.Lock()
			defer l.mu.Unlock()
			if wanted() {
				l.post(a, c, wanted)
			}
		})
	}
}

// Run stops extra arenas that have been empty for EmptyArenaTTL, checking
// every interval, until ctx is done. A check that panics is logged and
// the next one runs on time.
func (l *Lobby) Run(ctx context.Context, interval time.Duration) {
	t := l.cfg.Clock.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			func() {
				defer l.survive("janitor")
				l.reapEmpty(l.cfg.Clock.Now())
			}()
		}
	}
}

// reapEmpty stops the extra arenas empty for EmptyArenaTTL. The first
// arena of the list (arena 0, or the oldest one left after faults) always
// stays.
func (l *Lobby) reapEmpty(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.arenas) == 0 {
		return // every arena faulted: the next player starts one
	}
	kept := l.arenas[:1]
	for _, r := range l.arenas[1:] {
		if r.arena.Seats() == 0 && !r.emptySince.IsZero() && now.Sub(r.emptySince) >= l.cfg.EmptyArenaTTL {
			r.cancel()
			l.log.Info("empty arena stopped", "arena", r.arena.ID())
			continue
		}
		if r.arena.Seats() == 0 && r.emptySince.IsZero() {
			r.emptySince = now
		}
		kept = append(kept, r)
	}
	l.arenas = kept
}

// Close refuses new seats, stops every arena and waits until each has
// flushed its replay log (those reaped or stopped by a fault before too),
// or ctx is done.
func (l *Lobby) Close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	for _, r := range l.arenas {
		r.cancel()
	}
	l.mu.Unlock()
	done := make(chan struct{})
	// Exits when every arena's goroutine has: all were cancelled, and no
	// arena starts once closed is set.
	go func() { l.runs.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newToken returns 128 random bits in hex: unguessable, so a token is the
// only proof a client needs to take a seat over.
func newToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("lobby: crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b[:])
}
