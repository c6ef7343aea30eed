package fleet

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"
)

// NewMemory returns a Directory held in this process, for a node that runs
// alone: nothing to run beside it, nothing shared. Its TTLs run on
// time.Now, so inside a testing/synctest bubble they run on the bubble's
// fake clock.
func NewMemory() Directory { return NewMemoryClock(time.Now) }

// NewMemoryClock is NewMemory with TTLs measured by now (a test's fake
// clock, for instance). now must be safe for concurrent use.
//
// The memory directory mirrors the Redis one step by step, indexes and
// their staleness included (see redis.go), so that the conformance suite
// holds both to the same answers: what a test sees of one, it sees of the
// other.
func NewMemoryClock(now func() time.Time) Directory {
	m := &memory{now: now}
	m.reset()
	return m
}

// memory is the in-process Directory. It starts no goroutine: expired
// entries are dropped when met, and swept at most once a second.
type memory struct {
	now func() time.Time // static after construction

	mu     sync.Mutex
	closed bool      // guarded by mu
	swept  time.Time // guarded by mu: the last sweep of expired entries
	// leases by node; a lease is live while now is not after its exp.
	// Guarded by mu.
	leases map[string]*memLease
	// expiry is the lease expiry index: like Redis's, its entries outlive
	// the leases until Reap or Remove. Guarded by mu.
	expiry map[string]time.Time
	// room is the room index: each ready node's free seats as of the last
	// change it saw, which seats expiring since then do not update.
	// Guarded by mu.
	room map[string]int
	// pending is each node's reserved, unclaimed seats by id, with their
	// expiry. Guarded by mu.
	pending map[string]map[string]time.Time
	seats   map[string]memSeat      // by id; guarded by mu
	resumes map[string]memResume    // by token; guarded by mu
	rows    map[string]memRows      // each node's board rows; guarded by mu
	bans    map[string]memBan       // by prefix; guarded by mu
	cmds    map[string][]memCommand // each node's queued commands; guarded by mu
	answers map[string]memAnswer    // by command id; guarded by mu
}

type memBan struct {
	ban Ban
	exp time.Time
}

type memLease struct {
	lease   Lease // as written by Heartbeat, Players as stored
	at, exp time.Time
	adm     uint64    // Admits and Claims the directory counted
	admAt   time.Time // the last of them
	expired uint64    // seats reserved on the node that expired unclaimed
}

type memSeat struct {
	seat Seat
	exp  time.Time
}

type memResume struct {
	rec Resume
	exp time.Time
}

type memRow struct {
	member string // boardMember: the tie-break Redis's sorted set uses
	row    BoardRow
}

type memRows struct {
	rows []memRow
	exp  time.Time
}

// reset empties the directory, as a Redis restarted with nothing saved
// would be. Called with mu held or before m is shared.
func (m *memory) reset() {
	m.leases = make(map[string]*memLease)
	m.expiry = make(map[string]time.Time)
	m.room = make(map[string]int)
	m.pending = make(map[string]map[string]time.Time)
	m.seats = make(map[string]memSeat)
	m.resumes = make(map[string]memResume)
	m.rows = make(map[string]memRows)
	m.bans = make(map[string]memBan)
	m.cmds = make(map[string][]memCommand)
	m.answers = make(map[string]memAnswer)
}

// begin locks m for one call and returns the call's now, or the error the
// Redis directory would return: ErrUnavailable for a done ctx or a closed
// directory. On success the caller must unlock m.mu.
func (m *memory) begin(ctx context.Context, op string) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, unavailable(op, err)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return time.Time{}, unavailable(op, errors.New("directory closed"))
	}
	now := m.now()
	if now.Sub(m.swept) >= time.Second {
		m.sweep(now)
	}
	return now, nil
}

// sweep drops what has expired, so that seats never claimed and records
// never forgotten do not pile up. Indexes stay as they are: Redis's
// survive their leases too, until Reap. Called with mu held.
func (m *memory) sweep(now time.Time) {
	m.swept = now
	maps.DeleteFunc(m.leases, func(_ string, l *memLease) bool { return now.After(l.exp) })
	maps.DeleteFunc(m.seats, func(_ string, s memSeat) bool { return now.After(s.exp) })
	maps.DeleteFunc(m.resumes, func(_ string, r memResume) bool { return now.After(r.exp) })
	maps.DeleteFunc(m.bans, func(_ string, b memBan) bool { return now.After(b.exp) })
	maps.DeleteFunc(m.answers, func(_ string, a memAnswer) bool { return now.After(a.exp) })
	for node, q := range m.cmds {
		if q = slices.DeleteFunc(q, func(c memCommand) bool { return now.After(c.exp) }); len(q) == 0 {
			delete(m.cmds, node)
		} else {
			m.cmds[node] = q
		}
	}
	for node := range m.pending {
		m.prune(node, now)
	}
}

// lease returns node's live lease, or nil. Called with mu held.
func (m *memory) lease(node string, now time.Time) *memLease {
	l := m.leases[node]
	if l != nil && now.After(l.exp) {
		delete(m.leases, node)
		return nil
	}
	return l
}

// prune drops node's expired pending seats, counting them on its lease.
// Called with mu held.
func (m *memory) prune(node string, now time.Time) {
	p := m.pending[node]
	before := len(p)
	maps.DeleteFunc(p, func(_ string, exp time.Time) bool { return exp.Before(now) })
	if l := m.leases[node]; l != nil && !now.After(l.exp) {
		l.expired += uint64(before - len(p))
	}
	if len(p) == 0 {
		delete(m.pending, node)
	}
}

// free is node's exact room: Capacity - Players - live pending seats.
// Called with mu held.
func (m *memory) free(l *memLease, now time.Time) int {
	m.prune(l.lease.Node, now)
	return l.lease.Capacity - l.lease.Players - len(m.pending[l.lease.Node])
}

// index puts a ready node in the room index with r free seats, or takes a
// draining one out. Called with mu held.
func (m *memory) index(l *memLease, r int) {
	if l.lease.State != Ready {
		delete(m.room, l.lease.Node)
		return
	}
	m.room[l.lease.Node] = max(r, 0)
}

// addPending records a reserved seat. Called with mu held.
func (m *memory) addPending(node, id string, exp time.Time) {
	p := m.pending[node]
	if p == nil {
		p = make(map[string]time.Time)
		m.pending[node] = p
	}
	p[id] = exp
}

// dropRows removes node's board rows. Called with mu held.
func (m *memory) dropRows(node string) { delete(m.rows, node) }

func (m *memory) Heartbeat(ctx context.Context, l Lease, ttl time.Duration) error {
	if err := checkLease(l, ttl); err != nil {
		return err
	}
	now, err := m.begin(ctx, "heartbeat")
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	adm := l.Admitted
	var admAt time.Time
	var expired uint64
	if old := m.lease(l.Node, now); old != nil {
		admAt, expired = old.admAt, old.expired
		if old.adm > adm && now.Sub(old.admAt) < ttl {
			l.Players += int(old.adm - adm)
			adm = old.adm
		}
	}
	l.Age = 0
	l.Arenas = slices.Clone(l.Arenas) // the caller keeps its slice
	l.SeatsExpired = 0
	nl := &memLease{lease: l, at: now, exp: now.Add(ttl), adm: adm, admAt: admAt, expired: expired}
	m.leases[l.Node] = nl
	m.expiry[l.Node] = nl.exp
	m.index(nl, m.free(nl, now))
	return nil
}

func (m *memory) Remove(ctx context.Context, node string) error {
	if err := checkNode(node); err != nil {
		return err
	}
	_, err := m.begin(ctx, "remove")
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	delete(m.leases, node)
	delete(m.expiry, node)
	delete(m.room, node)
	delete(m.pending, node)
	m.dropRows(node)
	return nil
}

func (m *memory) Nodes(ctx context.Context) ([]Lease, error) {
	now, err := m.begin(ctx, "nodes")
	if err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	var out []Lease
	for _, node := range slices.Sorted(maps.Keys(m.leases)) {
		if l := m.lease(node, now); l != nil {
			out = append(out, l.view(now))
		}
	}
	return out, nil
}

// view is the lease as Nodes and ReserveAny return it.
func (l *memLease) view(now time.Time) Lease {
	v := l.lease
	v.Arenas = slices.Clone(v.Arenas)
	v.Age = now.Sub(l.at)
	v.SeatsExpired = l.expired
	return v
}

func (m *memory) Reserve(ctx context.Context, seat Seat, ttl time.Duration) error {
	if err := checkNode(seat.Node); err != nil {
		return err
	}
	if err := checkSeat(seat, ttl); err != nil {
		return err
	}
	now, err := m.begin(ctx, "reserve")
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	l := m.lease(seat.Node, now)
	if l == nil {
		return ErrNodeGone
	}
	if l.lease.State != Ready {
		return ErrNoRoom
	}
	if seat.Why != WhyResume {
		r := m.free(l, now)
		if r <= 0 {
			m.index(l, r)
			return ErrNoRoom
		}
		if err := m.newSeat(seat, now); err != nil {
			return err
		}
		m.addPending(seat.Node, seat.ID, now.Add(ttl))
		m.index(l, r-1)
	} else if err := m.newSeat(seat, now); err != nil {
		return err
	}
	m.seats[seat.ID] = memSeat{seat: seat, exp: now.Add(ttl)}
	return nil
}

// newSeat fails when seat's id is taken. Called with mu held.
func (m *memory) newSeat(seat Seat, now time.Time) error {
	if s, ok := m.seats[seat.ID]; ok && !now.After(s.exp) {
		return errDupSeat(seat.ID)
	}
	return nil
}

func errDupSeat(id string) error { return errors.New("fleet: seat id " + id + " already reserved") }

func (m *memory) ReserveAny(ctx context.Context, exclude string, seat Seat, ttl time.Duration) (Lease, Seat, error) {
	if err := checkSeat(seat, ttl); err != nil {
		return Lease{}, Seat{}, err
	}
	if seat.Why == WhyResume {
		return Lease{}, Seat{}, errors.New("fleet: ReserveAny of a resume seat")
	}
	now, err := m.begin(ctx, "reserve any")
	if err != nil {
		return Lease{}, Seat{}, err
	}
	defer m.mu.Unlock()
	if err := m.newSeat(seat, now); err != nil {
		return Lease{}, Seat{}, err
	}
	for {
		// The two nodes with the most room by the index, ties to the
		// greatest id, as ZREVRANGEBYSCORE room +inf 1 LIMIT 0 2 has them.
		var top []string
		for node, r := range m.room {
			if r >= 1 {
				top = append(top, node)
			}
		}
		slices.SortFunc(top, func(a, b string) int {
			return cmp.Or(cmp.Compare(m.room[b], m.room[a]), cmp.Compare(b, a))
		})
		top = top[:min(len(top), 2)]
		if len(top) > 0 && top[0] == exclude {
			top = top[1:]
		}
		if len(top) == 0 {
			return Lease{}, Seat{}, ErrNoRoom
		}
		node := top[0]
		l := m.lease(node, now)
		if l == nil || l.lease.State != Ready {
			delete(m.room, node) // dead: out of the index, for Reap to report
			continue
		}
		r := m.free(l, now)
		if r <= 0 {
			m.index(l, r)
			continue
		}
		seat.Node = node
		m.addPending(node, seat.ID, now.Add(ttl))
		m.index(l, r-1)
		m.seats[seat.ID] = memSeat{seat: seat, exp: now.Add(ttl)}
		return l.view(now), seat, nil
	}
}

func (m *memory) Claim(ctx context.Context, node, seatID string) (Seat, error) {
	if err := checkNode(node); err != nil {
		return Seat{}, err
	}
	now, err := m.begin(ctx, "claim")
	if err != nil {
		return Seat{}, err
	}
	defer m.mu.Unlock()
	s, ok := m.seats[seatID]
	if !ok || now.After(s.exp) || s.seat.Node != node {
		return Seat{}, ErrBadSeat
	}
	delete(m.seats, seatID)
	delete(m.pending[node], seatID)
	if l := m.lease(node, now); l != nil && s.seat.Why != WhyResume {
		l.lease.Players++
		l.adm++
		l.admAt = now
		m.index(l, m.free(l, now))
	}
	return s.seat, nil
}

func (m *memory) Admit(ctx context.Context, node string) error {
	if err := checkNode(node); err != nil {
		return err
	}
	now, err := m.begin(ctx, "admit")
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	l := m.lease(node, now)
	if l == nil {
		return ErrNodeGone
	}
	if l.lease.State != Ready {
		return ErrNoRoom
	}
	r := m.free(l, now)
	if r <= 0 {
		m.index(l, r)
		return ErrNoRoom
	}
	l.lease.Players++
	l.adm++
	l.admAt = now
	m.index(l, r-1)
	return nil
}

func (m *memory) Checkpoint(ctx context.Context, recs []Resume, ttl time.Duration) error {
	if err := checkResumes(recs, ttl); err != nil {
		return err
	}
	now, err := m.begin(ctx, "checkpoint")
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	for _, r := range recs {
		m.resumes[r.Token] = memResume{rec: r, exp: now.Add(ttl)}
	}
	return nil
}

func (m *memory) LookupResume(ctx context.Context, token string) (Resume, error) {
	return m.readResume(ctx, "lookup resume", token, false)
}

func (m *memory) TakeResume(ctx context.Context, token string) (Resume, error) {
	return m.readResume(ctx, "take resume", token, true)
}

// readResume returns a token's live record, deleting it if take is set.
func (m *memory) readResume(ctx context.Context, op, token string, take bool) (Resume, error) {
	now, err := m.begin(ctx, op)
	if err != nil {
		return Resume{}, err
	}
	defer m.mu.Unlock()
	r, ok := m.resumes[token]
	if take {
		delete(m.resumes, token)
	}
	if !ok || now.After(r.exp) {
		return Resume{}, ErrNotFound
	}
	return r.rec, nil
}

func (m *memory) Forget(ctx context.Context, tokens ...string) error {
	_, err := m.begin(ctx, "forget")
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	for _, t := range tokens {
		delete(m.resumes, t)
	}
	return nil
}

func (m *memory) PublishBoard(ctx context.Context, node string, rows []BoardRow, ttl time.Duration) error {
	if err := checkRows(node, rows, ttl); err != nil {
		return err
	}
	now, err := m.begin(ctx, "publish board")
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.dropRows(node)
	if len(rows) == 0 {
		return nil
	}
	rs := memRows{rows: make([]memRow, len(rows)), exp: now.Add(ttl)}
	for i, r := range rows {
		rs.rows[i] = memRow{member: boardMember(node, i, r.Name), row: r}
	}
	m.rows[node] = rs
	return nil
}

func (m *memory) GlobalBoard(ctx context.Context, n int) ([]BoardRow, error) {
	now, err := m.begin(ctx, "global board")
	if err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	m.sweepRows(now)
	if n <= 0 {
		return nil, nil
	}
	var all []memRow
	for _, rs := range m.rows {
		all = append(all, rs.rows...)
	}
	// Redis's ZREVRANGE: score descending, then member descending.
	slices.SortFunc(all, func(a, b memRow) int {
		return cmp.Or(cmp.Compare(b.row.Mass, a.row.Mass), cmp.Compare(b.member, a.member))
	})
	out := make([]BoardRow, 0, min(n, len(all)))
	for _, r := range all[:min(n, len(all))] {
		out = append(out, r.row)
	}
	return out, nil
}

// sweepRows drops the rows of nodes that stopped publishing. Called with
// mu held.
func (m *memory) sweepRows(now time.Time) {
	maps.DeleteFunc(m.rows, func(_ string, rs memRows) bool { return rs.exp.Before(now) })
}

func (m *memory) Ban(ctx context.Context, b Ban, ttl time.Duration) error {
	if err := checkBan(b, ttl); err != nil {
		return err
	}
	now, err := m.begin(ctx, "ban")
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	// Whole milliseconds, as Redis keeps them.
	exp := now.Add(ttl).Truncate(time.Millisecond)
	b.Until = exp
	m.bans[b.Prefix] = memBan{ban: b, exp: exp}
	return nil
}

func (m *memory) Unban(ctx context.Context, prefix string) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	now, err := m.begin(ctx, "unban")
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	b, ok := m.bans[prefix]
	delete(m.bans, prefix)
	if !ok || now.After(b.exp) {
		return ErrNotFound
	}
	return nil
}

func (m *memory) Bans(ctx context.Context) ([]Ban, error) {
	now, err := m.begin(ctx, "bans")
	if err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := []Ban{}
	for _, b := range m.bans {
		if !now.After(b.exp) {
			out = append(out, b.ban)
		}
	}
	slices.SortFunc(out, func(a, b Ban) int { return cmp.Compare(a.Prefix, b.Prefix) })
	return out, nil
}

func (m *memory) Reap(ctx context.Context) ([]string, error) {
	now, err := m.begin(ctx, "reap")
	if err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	var dead []string
	for node, exp := range m.expiry {
		if exp.Before(now) && m.lease(node, now) == nil {
			delete(m.expiry, node)
			delete(m.room, node)
			delete(m.pending, node)
			m.dropRows(node)
			dead = append(dead, node)
		}
	}
	m.sweepRows(now)
	slices.Sort(dead)
	return dead, nil
}

func (m *memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
