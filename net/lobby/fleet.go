package lobby

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/net/metrics"
	"github.com/shatter/shatter/sim"
)

// FleetConfig is this node's place in the fleet (DESIGN.md "The fleet").
// The zero value is a fleet of one: an in-process directory that only this
// node uses.
type FleetConfig struct {
	// Directory is shared with the other nodes; fleet.NewMemory() if nil.
	Directory fleet.Directory
	// Shared says the directory is shared with other nodes (Redis), so the
	// fleet's leaderboard and player count go out with every board.
	Shared bool
	// Node is this node's id, unique in the fleet ("local" if empty).
	Node string
	// URL is this node's public WebSocket URL, sent verbatim in moved.
	URL string
	// Metrics receives the directory's figures; a fresh set if nil.
	Metrics *metrics.Metrics
	// Heartbeat is the period of the fleet round: lease, checkpoints,
	// leaderboard, peers (1 s). LeaseTTL is how long a lease lives without
	// a heartbeat (3 s: one missed heartbeat is not death). SeatTTL is how
	// long a reserved seat waits for its player (15 s). ResumeTTL is how
	// long a session's resume record outlives its last checkpoint (33 s:
	// a crashed node's players may come back for 30 s after its lease
	// lapsed). CallTimeout bounds one directory call (1 s), so a frozen
	// directory never holds a join or a round for long.
	Heartbeat, LeaseTTL, SeatTTL, ResumeTTL, CallTimeout time.Duration
	// Reachable reports whether a node answers at its public URL; an
	// HTTP GET of its /healthz with a 300 ms timeout if nil (see
	// awaitVerdict).
	Reachable func(ctx context.Context, url string) bool
}

func (c FleetConfig) withDefaults() FleetConfig {
	if c.Directory == nil {
		c.Directory = fleet.NewMemory()
	}
	if c.Node == "" {
		c.Node = "local"
	}
	if c.Metrics == nil {
		c.Metrics = metrics.New()
	}
	if c.Reachable == nil {
		c.Reachable = reachable
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Heartbeat, time.Second)
	def(&c.LeaseTTL, 3*time.Second)
	def(&c.SeatTTL, 15*time.Second)
	def(&c.ResumeTTL, c.LeaseTTL+30*time.Second)
	def(&c.CallTimeout, time.Second)
	return c
}

// fleetState is the lobby's fleet bookkeeping. Guarded by Lobby.mu.
type fleetState struct {
	// capacity is the seats this node can hold: MaxArenas times MaxPlayers.
	capacity int
	// admitted counts the directory's Admits and Claims that succeeded
	// here (see fleet.Lease.Admitted); it grows in the same critical
	// section that makes the seat, so a lease's Players and Admitted agree.
	admitted uint64
	draining bool
	// departing counts seats told to Depart whose Departed has not been
	// handled yet.
	departing int
	// forget lists the tokens of seats released for good, whose resume
	// records the next round deletes.
	forget []string
	// peers are the live nodes of the last round.
	peers []fleet.Lease
	// healthySince is when the directory last became reachable after
	// failing; zero while it fails. No peer is declared dead until it has
	// been reachable for a whole lease.
	healthySince time.Time
	failing      bool
	// beaten is set once a heartbeat has worked: after that, this node's
	// lease missing from the directory means the directory lost it.
	beaten bool
	// drainActive is set while Drain handles departures.
	drainActive bool
	// seatsExpired is the lease's SeatsExpired as last counted in the
	// metrics.
	seatsExpired uint64

	// Not guarded by mu.
	departures  chan departure // set once in New
	board       atomic.Pointer[FleetBoard]
	incarnation string // set once in New: this start of the node
	// roundMu serialises the fleet rounds with the drain's hand-offs, so
	// that an older round's checkpoint never lands after a newer write.
	roundMu sync.Mutex
}

// FleetBoard is the fleet's leaderboard and player count, for the board
// message's global and online (PROTOCOL.md).
type FleetBoard struct {
	Top    []fleet.BoardRow
	Online int
	At     time.Time // when it was read
}

// FleetBoard returns the fleet's leaderboard if this node shares a
// directory with others and read it less than 2 s ago, else nil.
func (l *Lobby) FleetBoard() *FleetBoard {
	b := l.board.Load()
	if b == nil || l.cfg.Clock.Now().Sub(b.At) > 2*time.Second {
		return nil
	}
	return b
}

// Node returns this node's id and URL.
func (l *Lobby) Node() (id, url string) { return l.cfg.Fleet.Node, l.cfg.Fleet.URL }

func (l *Lobby) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

func (l *Lobby) isDraining() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.draining
}

// seatEvent counts a seat reserved, used, refused or expired.
func (l *Lobby) seatEvent(event string) { l.cfg.Fleet.Metrics.FleetSeats.WithLabelValues(event).Inc() }

// countMove counts a player sent to another node.
func (l *Lobby) countMove(why string) { l.cfg.Fleet.Metrics.FleetMoves.WithLabelValues(why).Inc() }

// call bounds one directory call by CallTimeout.
func (l *Lobby) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, l.cfg.Fleet.CallTimeout)
}

// directoryFailed notes a failed directory call: counted, logged when the
// directory starts failing, and no peer is declared dead until it has
// been reachable again for a whole lease.
func (l *Lobby) directoryFailed(op string, err error) {
	if errors.Is(err, fleet.ErrNoRoom) || errors.Is(err, fleet.ErrNotFound) ||
		errors.Is(err, fleet.ErrBadSeat) || errors.Is(err, fleet.ErrNodeGone) {
		return // answers, not failures
	}
	l.cfg.Fleet.Metrics.FleetErrors.WithLabelValues(op).Inc()
	l.mu.Lock()
	first := !l.failing
	l.failing, l.healthySince = true, time.Time{}
	l.mu.Unlock()
	if first {
		l.log.Warn("fleet directory unreachable; playing and seating locally", "op", op, "err", err)
	}
}

// directoryOK notes a directory call that worked.
func (l *Lobby) directoryOK() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failing {
		l.log.Info("fleet directory reachable again")
	}
	if l.failing || l.healthySince.IsZero() {
		l.failing, l.healthySince = false, l.cfg.Clock.Now()
	}
}

// trustsAbsence reports whether a node missing from the directory may be
// taken for dead: only once the directory has been reachable for a whole
// lease, so that every live node has written its lease again after the
// directory froze or lost everything.
func (l *Lobby) trustsAbsence() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.failing && !l.healthySince.IsZero() && l.cfg.Clock.Now().Sub(l.healthySince) >= l.cfg.Fleet.LeaseTTL
}

func (l *Lobby) forgetLocked(token string) { l.forget = append(l.forget, token) }

// resumeElsewhere looks a token up in the directory. A session on another
// live node gets a seat there (a *Moved). A session that no live node
// holds — its node is dead, is an earlier start of this node, or gave the
// session up while draining — comes back as its record, taken from the
// directory so that no other node can honour it too: its marble continues
// here (the caller restores the record if it cannot seat the player).
// Anything else refuses the token.
func (l *Lobby) resumeElsewhere(ctx context.Context, token string) (*Moved, *fleet.Resume, error) {
	cctx, cancel := l.call(ctx)
	defer cancel()
	rec, err := l.dir.LookupResume(cctx, token)
	if err != nil {
		l.directoryFailed("lookup_resume", err)
		return nil, nil, err
	}
	switch {
	case rec.Node == "" || (rec.Node == l.cfg.Fleet.Node && rec.Incarnation != l.incarnation):
		return l.takeOrphan(ctx, token)
	case rec.Node == l.cfg.Fleet.Node:
		return nil, nil, nil // ours, and released: expired
	}
	if !l.awaitVerdict(ctx, rec.Node) {
		// Its node stopped beating and its lease lapsed while we waited.
		if l.trustsAbsence() {
			return l.takeOrphan(ctx, token)
		}
		return nil, nil, fleet.ErrNodeGone
	}
	// A new deadline: the wait may have used up the lookup's.
	rctx, rcancel := l.call(ctx)
	defer rcancel()
	seat := fleet.Seat{ID: newToken(), Node: rec.Node, Why: fleet.WhyResume, Name: rec.Name, Session: rec.Session, Token: rec.Token}
	err = l.dir.Reserve(rctx, seat, l.cfg.Fleet.SeatTTL)
	switch {
	case err == nil:
		if url := l.peerURL(rctx, rec.Node); url != "" {
			l.seatEvent("reserved")
			l.countMove(fleet.WhyResume)
			return &Moved{URL: url, Seat: seat.ID, Why: fleet.WhyResume}, nil, nil
		}
		return nil, nil, fleet.ErrNodeGone
	case errors.Is(err, fleet.ErrNodeGone) && l.trustsAbsence():
		return l.takeOrphan(ctx, token)
	case errors.Is(err, fleet.ErrNoRoom):
		// Its node is draining: it moves its connected players itself,
		// and gives its dropped ones up as records with no node.
		return nil, nil, err
	}
	l.directoryFailed("reserve", err)
	return nil, nil, err
}

// awaitVerdict reports whether node is alive, waiting while it is in
// doubt: a node whose last heartbeat is older than two periods, or that
// does not answer at its address, has probably crashed, and sending its
// player there would cost the player a fruitless move (5 s before its
// client gives up); its lease settles the question within a lease TTL,
// either way. Returns true when the node
// beats again (or the wait runs out: then the usual resume goes ahead),
// false when its lease lapsed.
func (l *Lobby) awaitVerdict(ctx context.Context, node string) bool {
	beat := l.cfg.Fleet.Heartbeat
	deadline := l.cfg.Clock.Now().Add(l.cfg.Fleet.LeaseTTL)
	for {
		cctx, cancel := l.call(ctx)
		nodes, err := l.dir.Nodes(cctx)
		cancel()
		if err != nil {
			return true
		}
		i := slices.IndexFunc(nodes, func(n fleet.Lease) bool { return n.Node == node })
		if i < 0 {
			return false
		}
		if l.cfg.Clock.Now().After(deadline) {
			return true
		}
		// A fresh lease is not proof of life: a node killed a moment ago
		// still has one. Knock on its door; a node that answers is alive.
		if nodes[i].Age <= 2*beat && l.cfg.Fleet.Reachable(ctx, nodes[i].URL) {
			return true
		}
		wake := make(chan struct{})
		t := l.cfg.Clock.AfterFunc(beat/2, func() { close(wake) })
		select {
		case <-ctx.Done():
			t.Stop()
			return true
		case <-wake:
		}
	}
}

// reachable reports whether a node answers HTTP at its public address
// (its /healthz, whatever the status: a draining node answers 503), within
// a short timeout. Only a node's own refusal or silence counts as
// unreachable.
func reachable(ctx context.Context, wsURL string) bool {
	u, err := url.Parse(wsURL)
	if err != nil {
		return true // cannot tell: take it for alive
	}
	switch u.Scheme {
	case "wss":
		u.Scheme = "https"
	default:
		u.Scheme = "http"
	}
	u.Path = strings.TrimSuffix(u.Path, "/ws") + "/healthz"
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return true
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

// takeOrphan takes the record of a session no live node holds.
func (l *Lobby) takeOrphan(ctx context.Context, token string) (*Moved, *fleet.Resume, error) {
	cctx, cancel := l.call(ctx)
	defer cancel()
	rec, err := l.dir.TakeResume(cctx, token)
	if err != nil {
		l.directoryFailed("take_resume", err)
		return nil, nil, err
	}
	return nil, &rec, nil
}

// restore puts back an orphan's record that Join took but could not seat,
// so the player can try again (here, elsewhere, later).
func (l *Lobby) restore(ctx context.Context, rec *fleet.Resume) {
	if rec == nil {
		return
	}
	cctx, cancel := l.call(context.WithoutCancel(ctx))
	defer cancel()
	if err := l.dir.Checkpoint(cctx, []fleet.Resume{*rec}, l.cfg.Fleet.ResumeTTL); err != nil {
		l.directoryFailed("checkpoint", err)
		l.log.Warn("could not restore a resume record; that player's marble is lost", "err", err)
	}
}

// peerURL returns the URL of a live node, from the last round's peers or,
// failing that, from the directory.
func (l *Lobby) peerURL(ctx context.Context, node string) string {
	l.mu.Lock()
	peers := l.peers
	l.mu.Unlock()
	for _, p := range peers {
		if p.Node == node {
			return p.URL
		}
	}
	nodes, err := l.dir.Nodes(ctx)
	if err != nil {
		l.directoryFailed("nodes", err)
		return ""
	}
	for _, p := range nodes {
		if p.Node == node {
			return p.URL
		}
	}
	return ""
}

// spill reserves a seat on another node with room for a player this node
// cannot take, carrying its marble if it has one.
func (l *Lobby) spill(ctx context.Context, name string, carried *fleet.Seat, refused Refusals) error {
	seat := fleet.Seat{Why: fleet.WhyFull, Name: name}
	if carried != nil {
		seat.Alive, seat.Mass = carried.Alive, carried.Mass
	}
	lease, seat, err := l.reserveElsewhere(ctx, seat)
	if err != nil {
		return ErrFull
	}
	l.countMove(fleet.WhyFull)
	return &Moved{URL: lease.URL, Seat: seat.ID, Why: fleet.WhyFull, Refused: refused}
}

// reserveElsewhere reserves seat (given a fresh id) on the other node with
// the most room, and counts it.
func (l *Lobby) reserveElsewhere(ctx context.Context, seat fleet.Seat) (fleet.Lease, fleet.Seat, error) {
	cctx, cancel := l.call(ctx)
	defer cancel()
	seat.ID = newToken()
	lease, seat, err := l.dir.ReserveAny(cctx, l.cfg.Fleet.Node, seat, l.cfg.Fleet.SeatTTL)
	if err != nil {
		l.directoryFailed("reserve_any", err)
		return fleet.Lease{}, fleet.Seat{}, err
	}
	l.seatEvent("reserved")
	return lease, seat, nil
}

// ReserveSeat reserves a seat for a player who has not connected yet (GET
// /join): on this node when it has room, else on another node with room.
// ErrFull when the fleet has none.
func (l *Lobby) ReserveSeat(ctx context.Context) (url, seat string, err error) {
	cctx, cancel := l.call(ctx)
	defer cancel()
	if !l.isDraining() {
		here := fleet.Seat{ID: newToken(), Node: l.cfg.Fleet.Node, Why: fleet.WhyFull}
		err := l.dir.Reserve(cctx, here, l.cfg.Fleet.SeatTTL)
		if err == nil {
			return l.cfg.Fleet.URL, here.ID, nil
		}
		if !errors.Is(err, fleet.ErrNoRoom) {
			l.directoryFailed("reserve", err)
			return "", "", ErrFull
		}
	}
	lease, there, err := l.reserveElsewhere(ctx, fleet.Seat{Why: fleet.WhyFull})
	if err != nil {
		return "", "", ErrFull
	}
	return lease.URL, there.ID, nil
}

// Nodes lists the fleet's live nodes (admin /fleet).
func (l *Lobby) Nodes(ctx context.Context) ([]fleet.Lease, error) {
	cctx, cancel := l.call(ctx)
	defer cancel()
	return l.dir.Nodes(cctx)
}

// RunFleet keeps this node's part of the directory current, every
// Heartbeat, until ctx is done: its lease (which is also how it comes
// back after the directory lost everything), its sessions' resume
// records, its leaderboard; it reads the fleet's leaderboard and peers,
// and reaps dead nodes. A directory that fails is noted and tried again
// next round; nothing here ever stops a tick or a player. firstDone,
// if not nil, is closed once the first round is over: the node's lease
// is in the directory from then on (unless the directory failed), so
// that a reservation of a seat here (ReserveSeat) can find it.
func (l *Lobby) RunFleet(ctx context.Context, firstDone chan<- struct{}) {
	t := l.cfg.Clock.NewTicker(l.cfg.Fleet.Heartbeat)
	defer t.Stop()
	l.FleetRound(ctx)
	if firstDone != nil {
		close(firstDone)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			l.FleetRound(ctx)
		}
	}
}

// FleetRound runs one round of RunFleet now. A round that panics is
// logged; the next one runs on time.
func (l *Lobby) FleetRound(ctx context.Context) {
	defer l.survive("fleet_round")
	l.roundMu.Lock()
	defer l.roundMu.Unlock()
	cctx, cancel := l.call(ctx)
	defer cancel()
	// The peers first: a lease of this node missing from the directory
	// means the directory lost it (a restart or a failover), and then no
	// peer's absence means anything until every node has written its
	// lease again.
	before, err := l.dir.Nodes(cctx)
	if err != nil {
		l.directoryFailed("nodes", err)
		return
	}
	l.noteOwnLease(before)
	lease, recs, rows, forget := l.fleetSnapshot()
	start := time.Now()
	if err := l.dir.Heartbeat(cctx, lease, l.cfg.Fleet.LeaseTTL); err != nil {
		l.requeueForget(forget)
		l.directoryFailed("heartbeat", err)
		return
	}
	l.cfg.Fleet.Metrics.FleetHeartbeatSeconds.Observe(time.Since(start).Seconds())
	l.directoryOK()
	l.mu.Lock()
	l.beaten = true
	l.mu.Unlock()
	if len(recs) > 0 {
		if err := l.dir.Checkpoint(cctx, recs, l.cfg.Fleet.ResumeTTL); err != nil {
			l.directoryFailed("checkpoint", err)
		}
	}
	if len(forget) > 0 {
		if err := l.dir.Forget(cctx, forget...); err != nil {
			l.requeueForget(forget)
			l.directoryFailed("forget", err)
		}
	}
	if err := l.dir.PublishBoard(cctx, l.cfg.Fleet.Node, rows, l.cfg.Fleet.LeaseTTL); err != nil {
		l.directoryFailed("publish_board", err)
	}
	// The peers as of just before this heartbeat: a second old at most.
	nodes := before
	online, capacity := 0, 0
	for _, n := range nodes {
		online += n.Online
		capacity += n.Capacity
	}
	l.cfg.Fleet.Metrics.FleetNodes.Set(float64(len(nodes)))
	l.cfg.Fleet.Metrics.FleetPlayers.Set(float64(online))
	l.cfg.Fleet.Metrics.FleetCapacity.Set(float64(capacity))
	l.mu.Lock()
	l.peers = nodes
	l.mu.Unlock()
	if l.cfg.Fleet.Shared {
		top, err := l.dir.GlobalBoard(cctx, boardSize)
		if err != nil {
			l.directoryFailed("global_board", err)
		} else {
			l.board.Store(&FleetBoard{Top: top, Online: online, At: l.cfg.Clock.Now()})
		}
	}
	if l.trustsAbsence() {
		reaped, err := l.dir.Reap(cctx)
		if err != nil {
			l.directoryFailed("reap", err)
		}
		for _, n := range reaped {
			l.log.Info("fleet node lease lapsed: reaped", "node", n)
		}
	}
}

// noteOwnLease counts the seats reserved here that expired unclaimed, and
// restarts the wait before trusting absences when this node's own lease
// is missing from nodes although it had been written.
func (l *Lobby) noteOwnLease(nodes []fleet.Lease) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range nodes {
		if n.Node != l.cfg.Fleet.Node {
			continue
		}
		if n.SeatsExpired < l.seatsExpired {
			l.seatsExpired = 0 // a new lease: its count started again
		}
		l.cfg.Fleet.Metrics.FleetSeats.WithLabelValues("expired").Add(float64(n.SeatsExpired - l.seatsExpired))
		l.seatsExpired = n.SeatsExpired
		return
	}
	if l.beaten && !l.failing {
		l.log.Warn("fleet directory lost this node's lease (restarted or failed over?); trusting no absence for a lease")
		l.healthySince = l.cfg.Clock.Now()
	}
}

// boardSize is the length of the fleet's leaderboard (PROTOCOL.md).
const boardSize = 10

func (l *Lobby) requeueForget(tokens []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forget = append(tokens, l.forget...)
}

// fleetSnapshot gathers, under the lock, what a round writes: the lease,
// a resume record for every seat (with its marble from the latest frame),
// the node's best leaderboard rows, and the tokens to forget.
func (l *Lobby) fleetSnapshot() (fleet.Lease, []fleet.Resume, []fleet.BoardRow, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	state := fleet.Ready
	if l.draining {
		state = fleet.Draining
	}
	lease := fleet.Lease{
		Node: l.cfg.Fleet.Node, Incarnation: l.incarnation, URL: l.cfg.Fleet.URL, State: state,
		Capacity: l.capacity, Players: len(l.seats), Admitted: l.admitted,
	}
	frames := make(map[*sim.Arena]*sim.Frame, len(l.arenas))
	var rows []fleet.BoardRow
	for _, r := range l.arenas {
		f := r.arena.Acquire()
		frames[r.arena] = f
		p := r.arena.Percentiles()
		load := fleet.ArenaLoad{ID: r.arena.ID(), Players: r.arena.Seats(), Tick: f.Tick, Population: f.Movers,
			TickP50Ms: float64(p.P50.Microseconds()) / 1000, TickP99Ms: float64(p.P99.Microseconds()) / 1000}
		if l.cfg.ArenaBytesOut != nil {
			load.BytesOut = l.cfg.ArenaBytesOut(load.ID)
		}
		lease.Arenas = append(lease.Arenas, load)
		if b := r.arena.Board(); b != nil {
			for _, row := range b.Top {
				rows = append(rows, fleet.BoardRow{Name: row.Name, Mass: float64(row.Mass)})
			}
		}
	}
	defer func() {
		for _, f := range frames {
			f.Release()
		}
	}()
	recs := make([]fleet.Resume, 0, len(l.seats))
	for _, s := range l.seats {
		if s.conn != nil {
			lease.Online++
		}
		rec := fleet.Resume{Token: s.Token, Node: l.cfg.Fleet.Node, Incarnation: l.incarnation, Session: s.ID, Name: s.Name}
		if f := frames[s.Arena]; f != nil {
			if p := f.Player(s.ID); p != nil && p.Alive {
				rec.Alive, rec.Mass = true, float64(p.Entity.Mass)
			}
		}
		recs = append(recs, rec)
	}
	slices.SortFunc(rows, func(a, b fleet.BoardRow) int {
		switch {
		case a.Mass > b.Mass:
			return -1
		case a.Mass < b.Mass:
			return 1
		}
		return 0
	})
	if len(rows) > boardSize {
		rows = rows[:boardSize]
	}
	forget := l.forget
	l.forget = nil
	return lease, recs, rows, forget
}

// LeaveFleet removes this node's lease from the directory (a clean exit:
// the others stop routing to it at once), after deleting the resume
// records of the sessions released for good, so that no token of a player
// who continued elsewhere brings its marble back a second time.
func (l *Lobby) LeaveFleet(ctx context.Context) error {
	l.roundMu.Lock()
	defer l.roundMu.Unlock()
	cctx, cancel := l.call(ctx)
	defer cancel()
	l.mu.Lock()
	forget := l.forget
	l.forget = nil
	l.mu.Unlock()
	if len(forget) > 0 {
		if err := l.dir.Forget(cctx, forget...); err != nil {
			l.directoryFailed("forget", err)
		}
	}
	return l.dir.Remove(cctx, l.cfg.Fleet.Node)
}
