// Package fleettest is the conformance suite of fleet.Directory: the same
// cases run against every implementation (compare go-cloud's drivertest),
// so that a fleet of one on the memory directory behaves as a fleet on
// Redis does.
//
// Time-based cases sleep for multiples of Config.TTL. Run the memory
// directory with Config.Synctest, so each case runs in a testing/synctest
// bubble and sleeps take no wall time; run Redis with real short TTLs
// (a few hundred milliseconds).
package fleettest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shatter/shatter/net/fleet"
)

// Config tells Run how to drive a directory.
type Config struct {
	// TTL is the unit of the cases' lifetimes: leases, seats, records and
	// rows that must lapse live TTL and are checked at TTL/2 and 3TTL/2;
	// the others live 30 TTL. It must exceed a call's latency several
	// times over.
	TTL time.Duration
	// Synctest runs each case in a testing/synctest bubble, so sleeps
	// advance the bubble's fake clock at once. Only for directories that
	// do no real I/O (the memory directory on time.Now).
	Synctest bool
	// Restart empties the store behind d, as a restart of its server with
	// nothing saved would, leaving d itself in use. Nil skips the case of
	// a directory restarted empty.
	Restart func(t *testing.T, d fleet.Directory)
}

// Run runs every case, each as a subtest with its own directory from
// newDir, which Run closes when the case ends.
func Run(t *testing.T, newDir func(t *testing.T) fleet.Directory, c Config) {
	if c.TTL <= 0 {
		t.Fatal("fleettest: Config.TTL must be positive")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := func(t *testing.T) {
				e := &env{t: t, d: newDir(t), ttl: c.TTL, long: 30 * c.TTL, cfg: c}
				defer e.close()
				tc.run(e)
			}
			if c.Synctest {
				synctest.Test(t, body)
			} else {
				body(t)
			}
		})
	}
}

var cases = []struct {
	name string
	run  func(e *env)
}{
	{"HeartbeatNodesRemove", testHeartbeatNodesRemove},
	{"LeaseLapse", testLeaseLapse},
	{"Reserve", testReserve},
	{"RoomAndPendingSeats", testRoomAndPendingSeats},
	{"Draining", testDraining},
	{"ReserveAny", testReserveAny},
	{"RoomIndex", testRoomIndex},
	{"Claim", testClaim},
	{"Admitted", testAdmitted},
	{"RaceForLastSeats", testRaceForLastSeats},
	{"Resume", testResume},
	{"Board", testBoard},
	{"Reap", testReap},
	{"Bans", testBans},
	{"Commands", testCommands},
	{"RestartedEmpty", testRestartedEmpty},
	{"Unavailable", testUnavailable},
	{"BadArguments", testBadArguments},
}

// env is one case's directory and helpers; the helpers fail the case on
// an unexpected error.
type env struct {
	t      *testing.T
	d      fleet.Directory
	ttl    time.Duration // short lifetimes
	long   time.Duration // lifetimes no case outlives
	cfg    Config
	closed bool
}

func (e *env) close() {
	if e.closed {
		return
	}
	if err := e.d.Close(); err != nil {
		e.t.Errorf("Close: %v", err)
	}
}

func (e *env) sleep(d time.Duration) { time.Sleep(d) }

func (e *env) heartbeat(l fleet.Lease, ttl time.Duration) {
	e.t.Helper()
	if err := e.d.Heartbeat(context.Background(), l, ttl); err != nil {
		e.t.Fatalf("Heartbeat(%s): %v", l.Node, err)
	}
}

func (e *env) nodes() []fleet.Lease {
	e.t.Helper()
	ls, err := e.d.Nodes(context.Background())
	if err != nil {
		e.t.Fatalf("Nodes: %v", err)
	}
	return ls
}

func (e *env) ids() []string {
	e.t.Helper()
	var ids []string
	for _, l := range e.nodes() {
		ids = append(ids, l.Node)
	}
	return ids
}

// node is node's lease as Nodes lists it; it fails the case when the node
// is not listed.
func (e *env) node(id string) fleet.Lease {
	e.t.Helper()
	for _, l := range e.nodes() {
		if l.Node == id {
			return l
		}
	}
	e.t.Fatalf("node %s not in Nodes", id)
	return fleet.Lease{}
}

func (e *env) wantPlayers(id string, want int, when string) {
	e.t.Helper()
	if got := e.node(id).Players; got != want {
		e.t.Errorf("%s: Players of %s = %d, want %d", when, id, got, want)
	}
}

func (e *env) reserve(node, why string, ttl time.Duration) fleet.Seat {
	e.t.Helper()
	s := seat(node, why)
	if err := e.d.Reserve(context.Background(), s, ttl); err != nil {
		e.t.Fatalf("Reserve(%s, %s): %v", node, why, err)
	}
	return s
}

func (e *env) claim(node, id string) fleet.Seat {
	e.t.Helper()
	s, err := e.d.Claim(context.Background(), node, id)
	if err != nil {
		e.t.Fatalf("Claim(%s): %v", node, err)
	}
	return s
}

func (e *env) admit(node string) {
	e.t.Helper()
	if err := e.d.Admit(context.Background(), node); err != nil {
		e.t.Fatalf("Admit(%s): %v", node, err)
	}
}

func (e *env) board(n int) []fleet.BoardRow {
	e.t.Helper()
	rows, err := e.d.GlobalBoard(context.Background(), n)
	if err != nil {
		e.t.Fatalf("GlobalBoard(%d): %v", n, err)
	}
	return rows
}

func (e *env) publish(node string, rows []fleet.BoardRow, ttl time.Duration) {
	e.t.Helper()
	if err := e.d.PublishBoard(context.Background(), node, rows, ttl); err != nil {
		e.t.Fatalf("PublishBoard(%s): %v", node, err)
	}
}

func (e *env) reap() []string {
	e.t.Helper()
	ids, err := e.d.Reap(context.Background())
	if err != nil {
		e.t.Fatalf("Reap: %v", err)
	}
	return ids
}

// wantErr checks that err is want (nil for none), naming the call.
func (e *env) wantErr(call string, err, want error) {
	e.t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		e.t.Errorf("%s: err = %v, want %v", call, err, want)
	}
}

// lease is a ready node's lease with the given room.
func lease(id string, capacity, players int) fleet.Lease {
	return fleet.Lease{
		Node: id, URL: "ws://" + id + ".test/ws", State: fleet.Ready,
		Capacity: capacity, Players: players, Online: players,
		Arenas: []fleet.ArenaLoad{{ID: 1, Players: players}},
	}
}

func draining(l fleet.Lease) fleet.Lease {
	l.State = fleet.Draining
	return l
}

// seat is a new seat for node.
func seat(node, why string) fleet.Seat {
	s := fleet.Seat{ID: fleet.NewSeatID(), Node: node, Why: why, Name: "ann"}
	switch why {
	case fleet.WhyResume:
		s.Session, s.Token = 7, "tok-"+s.ID
	case fleet.WhyDrain:
		s.Alive, s.Mass = true, 42.5
	}
	return s
}

func ids(ls []fleet.Lease) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Node)
	}
	return out
}

func testHeartbeatNodesRemove(e *env) {
	ctx := context.Background()
	if got := e.nodes(); len(got) != 0 {
		e.t.Fatalf("Nodes of an empty directory = %v, want none", ids(got))
	}
	b := lease("b", 300, 12)
	b.Admitted, b.Online = 40, 10
	b.Arenas = []fleet.ArenaLoad{{ID: 1, Players: 7}, {ID: 2, Players: 5}}
	e.heartbeat(b, e.long)
	e.heartbeat(lease("a", 150, 0), e.long)
	got := e.nodes()
	if !slices.Equal(ids(got), []string{"a", "b"}) {
		e.t.Fatalf("Nodes = %v, want [a b] (sorted by id)", ids(got))
	}
	gotB := got[1]
	gotB.Age = 0
	if !reflect.DeepEqual(gotB, b) {
		e.t.Errorf("Nodes: lease of b = %+v, want %+v", gotB, b)
	}

	// Age is the time since the lease's heartbeat.
	e.sleep(e.ttl / 2)
	e.heartbeat(lease("a", 150, 1), e.long)
	got = e.nodes()
	if age := got[1].Age; age < e.ttl/2-time.Millisecond || age > e.ttl/2+e.ttl {
		e.t.Errorf("Age of b %v after %v, want about that", age, e.ttl/2)
	}
	if got[0].Age >= got[1].Age {
		e.t.Errorf("Age of a just heartbeated = %v, not under b's %v", got[0].Age, got[1].Age)
	}
	if got[0].Players != 1 {
		e.t.Errorf("Players of a after a new heartbeat = %d, want 1", got[0].Players)
	}

	// A heartbeat replaces the lease.
	b2 := lease("b", 200, 3)
	b2.URL = "ws://elsewhere/ws"
	e.heartbeat(b2, e.long)
	if l := e.node("b"); l.URL != b2.URL || l.Capacity != 200 || l.Players != 3 || len(l.Arenas) != 1 {
		e.t.Errorf("lease of b after a new heartbeat = %+v, want %+v", l, b2)
	}

	// Remove drops the node at once, and is idempotent.
	for range 2 {
		if err := e.d.Remove(ctx, "b"); err != nil {
			e.t.Fatalf("Remove(b): %v", err)
		}
		if got := e.ids(); !slices.Equal(got, []string{"a"}) {
			e.t.Errorf("Nodes after Remove(b) = %v, want [a]", got)
		}
	}
	e.wantErr("Reserve on a removed node", e.d.Reserve(ctx, seat("b", fleet.WhyFull), e.ttl), fleet.ErrNodeGone)
	e.wantErr("Admit on a removed node", e.d.Admit(ctx, "b"), fleet.ErrNodeGone)
	if err := e.d.Remove(ctx, "never-seen"); err != nil {
		e.t.Errorf("Remove of an unknown node: %v", err)
	}
	// A removed node is no one's to reap.
	if got := e.reap(); len(got) != 0 {
		e.t.Errorf("Reap after Remove = %v, want none", got)
	}
}

func testLeaseLapse(e *env) {
	ctx := context.Background()
	e.heartbeat(lease("a", 10, 0), e.ttl)
	e.heartbeat(lease("b", 10, 0), e.long)
	e.sleep(e.ttl / 2)
	if got := e.ids(); !slices.Equal(got, []string{"a", "b"}) {
		e.t.Fatalf("Nodes at TTL/2 = %v, want [a b]", got)
	}
	e.sleep(e.ttl)
	if got := e.ids(); !slices.Equal(got, []string{"b"}) {
		e.t.Fatalf("Nodes at 3TTL/2 = %v, want [b]: a's lease lapsed", got)
	}
	e.wantErr("Reserve on a lapsed node", e.d.Reserve(ctx, seat("a", fleet.WhyFull), e.ttl), fleet.ErrNodeGone)
	e.wantErr("Reserve (resume) on a lapsed node", e.d.Reserve(ctx, seat("a", fleet.WhyResume), e.ttl), fleet.ErrNodeGone)
	e.wantErr("Admit on a lapsed node", e.d.Admit(ctx, "a"), fleet.ErrNodeGone)
	// One heartbeat brings it back.
	e.heartbeat(lease("a", 10, 0), e.long)
	if got := e.ids(); !slices.Equal(got, []string{"a", "b"}) {
		e.t.Errorf("Nodes after a's heartbeat = %v, want [a b]", got)
	}
	e.wantErr("Reserve on a node back", e.d.Reserve(ctx, seat("a", fleet.WhyFull), e.ttl), nil)
}

func testReserve(e *env) {
	e.heartbeat(lease("ready", 10, 0), e.long)
	e.heartbeat(lease("full", 2, 2), e.long)
	e.heartbeat(draining(lease("draining", 100, 0)), e.long)
	tests := []struct {
		node, why string
		want      error
	}{
		{"ready", fleet.WhyFull, nil},
		{"ready", fleet.WhyDrain, nil},
		{"ready", fleet.WhyResume, nil},
		{"full", fleet.WhyFull, fleet.ErrNoRoom},
		{"full", fleet.WhyDrain, fleet.ErrNoRoom},
		{"full", fleet.WhyResume, nil}, // takes over a seat already held
		{"draining", fleet.WhyFull, fleet.ErrNoRoom},
		{"draining", fleet.WhyDrain, fleet.ErrNoRoom},
		{"draining", fleet.WhyResume, fleet.ErrNoRoom}, // the node moves its players itself
		{"gone", fleet.WhyFull, fleet.ErrNodeGone},
		{"gone", fleet.WhyResume, fleet.ErrNodeGone},
	}
	for _, tt := range tests {
		s := seat(tt.node, tt.why)
		err := e.d.Reserve(context.Background(), s, e.long)
		e.wantErr(fmt.Sprintf("Reserve(%s, %s)", tt.node, tt.why), err, tt.want)
		// A reserved seat is good at its node, with all it carries; a
		// refused one is not stored.
		got, err := e.d.Claim(context.Background(), tt.node, s.ID)
		switch {
		case tt.want == nil && (err != nil || !reflect.DeepEqual(got, s)):
			e.t.Errorf("Claim(%s) of a %s seat = %+v, %v; want %+v", tt.node, tt.why, got, err, s)
		case tt.want != nil && !errors.Is(err, fleet.ErrBadSeat):
			e.t.Errorf("Claim(%s) of a refused %s seat: err = %v, want %v", tt.node, tt.why, err, fleet.ErrBadSeat)
		}
	}
}

func testRoomAndPendingSeats(e *env) {
	ctx := context.Background()
	e.heartbeat(lease("a", 3, 1), e.long)
	short := e.reserve("a", fleet.WhyFull, e.ttl)
	kept := e.reserve("a", fleet.WhyDrain, e.long)
	// Capacity 3, one player, two pending seats: full.
	e.wantErr("Reserve with every seat pending", e.d.Reserve(ctx, seat("a", fleet.WhyFull), e.ttl), fleet.ErrNoRoom)
	e.wantErr("Admit with every seat pending", e.d.Admit(ctx, "a"), fleet.ErrNoRoom)
	if _, _, err := e.d.ReserveAny(ctx, "", seat("", fleet.WhyFull), e.ttl); !errors.Is(err, fleet.ErrNoRoom) {
		e.t.Errorf("ReserveAny with every seat pending: err = %v, want %v", err, fleet.ErrNoRoom)
	}
	// Unclaimed, the short seat expires and stops counting.
	e.sleep(e.ttl * 3 / 2)
	e.wantErr("Admit after a pending seat expired", e.d.Admit(ctx, "a"), nil)
	e.wantErr("Admit when full again", e.d.Admit(ctx, "a"), fleet.ErrNoRoom)
	e.wantErr("Claim of the expired seat", claimErr(e, "a", short.ID), fleet.ErrBadSeat)
	// The node's lease counts the seat that expired unclaimed, across
	// heartbeats.
	e.heartbeat(fleet.Lease{Node: "a", State: fleet.Ready, Capacity: 3, Players: 2, Admitted: 1}, e.long)
	if nodes, err := e.d.Nodes(ctx); err != nil || len(nodes) != 1 || nodes[0].SeatsExpired != 1 {
		e.t.Errorf("Nodes after one seat expired unclaimed: %+v, %v; want a with SeatsExpired 1", nodes, err)
	}
	// Claiming the kept seat turns it from pending into a player: still full.
	e.claim("a", kept.ID)
	e.wantPlayers("a", 3, "after an Admit and a Claim")
	e.wantErr("Reserve when full of players", e.d.Reserve(ctx, seat("a", fleet.WhyFull), e.ttl), fleet.ErrNoRoom)
	// A heartbeat with fewer players makes room again.
	e.heartbeat(fleet.Lease{Node: "a", State: fleet.Ready, Capacity: 3, Players: 2, Admitted: 2}, e.long)
	e.wantErr("Reserve after players left", e.d.Reserve(ctx, seat("a", fleet.WhyFull), e.ttl), nil)
	e.wantErr("Reserve when full again", e.d.Reserve(ctx, seat("a", fleet.WhyFull), e.ttl), fleet.ErrNoRoom)
}

func claimErr(e *env, node, id string) error {
	_, err := e.d.Claim(context.Background(), node, id)
	return err
}

func testDraining(e *env) {
	ctx := context.Background()
	e.heartbeat(draining(lease("a", 100, 0)), e.long)
	e.heartbeat(lease("b", 5, 0), e.long)
	_, s, err := e.d.ReserveAny(ctx, "", seat("", fleet.WhyFull), e.ttl)
	if err != nil || s.Node != "b" {
		e.t.Errorf("ReserveAny with a draining and a ready node: node %q, err %v; want b", s.Node, err)
	}
	e.wantErr("Admit on a draining node", e.d.Admit(ctx, "a"), fleet.ErrNoRoom)
	// b drains too: no node takes seats.
	e.heartbeat(draining(lease("b", 5, 0)), e.long)
	if _, _, err := e.d.ReserveAny(ctx, "", seat("", fleet.WhyFull), e.ttl); !errors.Is(err, fleet.ErrNoRoom) {
		e.t.Errorf("ReserveAny with every node draining: err = %v, want %v", err, fleet.ErrNoRoom)
	}
	if got := e.ids(); !slices.Equal(got, []string{"a", "b"}) {
		e.t.Errorf("Nodes = %v, want [a b]: draining nodes are live", got)
	}
	// Ready again, b takes seats again.
	e.heartbeat(lease("b", 5, 0), e.long)
	if _, s, err := e.d.ReserveAny(ctx, "", seat("", fleet.WhyFull), e.ttl); err != nil || s.Node != "b" {
		e.t.Errorf("ReserveAny after b is ready again: node %q, err %v; want b", s.Node, err)
	}
}

func testReserveAny(e *env) {
	ctx := context.Background()
	e.heartbeat(lease("a", 10, 8), e.long) // room 2
	e.heartbeat(lease("b", 10, 5), e.long) // room 5
	e.heartbeat(lease("c", 10, 2), e.ttl)  // room 8, lapses soon
	pick := func(exclude string) (string, error) {
		e.t.Helper()
		want := seat("", fleet.WhyDrain)
		l, s, err := e.d.ReserveAny(ctx, exclude, want, e.long)
		if err != nil {
			return "", err
		}
		want.Node = l.Node
		if s != want {
			e.t.Errorf("ReserveAny(%q) seat = %+v, want %+v", exclude, s, want)
		}
		if l.URL != "ws://"+l.Node+".test/ws" || l.Capacity != 10 {
			e.t.Errorf("ReserveAny(%q) lease = %+v, want %s's", exclude, l, l.Node)
		}
		if got := e.claim(l.Node, s.ID); got != s {
			e.t.Errorf("Claim at %s of ReserveAny's seat = %+v, want %+v", l.Node, got, s)
		}
		return l.Node, nil
	}
	tests := []struct {
		exclude, want string
		wantErr       error
	}{
		{"", "c", nil},  // most room
		{"c", "b", nil}, // most room but c
		{"b", "c", nil},
	}
	for _, tt := range tests {
		got, err := pick(tt.exclude)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			e.t.Errorf("ReserveAny(exclude %q) = %q, %v; want %q, %v", tt.exclude, got, err, tt.want, tt.wantErr)
		}
	}
	// c lapses: it had the most room, but no seat goes to a dead node.
	e.sleep(e.ttl * 3 / 2)
	for _, tt := range []struct{ exclude, want string }{{"", "b"}, {"b", "a"}, {"b", "a"}, {"a", "b"}} {
		if got, err := pick(tt.exclude); got != tt.want || err != nil {
			e.t.Errorf("ReserveAny(exclude %q) after c lapsed = %q, %v; want %q", tt.exclude, got, err, tt.want)
		}
	}
	// The claims filled a (10 players): only b has room, and it is
	// excluded.
	if _, _, err := e.d.ReserveAny(ctx, "b", seat("", fleet.WhyFull), e.ttl); !errors.Is(err, fleet.ErrNoRoom) {
		e.t.Errorf("ReserveAny excluding the one node with room: err = %v, want %v", err, fleet.ErrNoRoom)
	}
	// b fills up, one ReserveAny at a time, and never beyond.
	for i := 0; ; i++ {
		got, err := pick("")
		if errors.Is(err, fleet.ErrNoRoom) {
			if i != 2 {
				e.t.Errorf("ReserveAny filled %d seats of b, want 2", i)
			}
			break
		}
		if err != nil || got != "b" || i > 2 {
			e.t.Fatalf("ReserveAny #%d while filling b = %q, %v", i, got, err)
		}
	}
	e.wantPlayers("b", 10, "after b filled up")
}

// testRoomIndex: every change of a node's room moves it in ReserveAny's
// preference at once, not at its next heartbeat.
func testRoomIndex(e *env) {
	ctx := context.Background()
	pick := func(what, want string) fleet.Seat {
		e.t.Helper()
		_, s, err := e.d.ReserveAny(ctx, "", seat("", fleet.WhyFull), e.long)
		if err != nil || s.Node != want {
			e.t.Errorf("ReserveAny %s: node %q, err %v; want %s", what, s.Node, err, want)
		}
		return s
	}
	e.heartbeat(lease("a", 10, 5), e.long) // room 5
	e.heartbeat(lease("b", 10, 6), e.long) // room 4
	e.admit("a")
	e.admit("a")
	pick("after two Admits on a (a 3, b 4)", "b")
	e.reserve("b", fleet.WhyFull, e.long)
	e.reserve("b", fleet.WhyFull, e.long)
	s := pick("after two Reserves on b (a 3, b 1)", "a")
	e.claim("a", s.ID) // pending to player: a's room stays 2
	pick("after a Claim on a (a 2, b 1)", "a")
	e.heartbeat(lease("b", 10, 0), e.long) // room 10 - 3 pending
	pick("after a heartbeat of b with fewer players (a 1, b 7)", "b")
}

func testClaim(e *env) {
	ctx := context.Background()
	e.heartbeat(lease("a", 10, 0), e.long)
	e.heartbeat(lease("b", 10, 0), e.long)
	s := e.reserve("a", fleet.WhyDrain, e.long)
	expiring := e.reserve("a", fleet.WhyFull, e.ttl)
	tests := []struct {
		what, node, id string
		want           error
	}{
		{"at another node", "b", s.ID, fleet.ErrBadSeat},
		{"at its node", "a", s.ID, nil}, // still good after the wrong node tried it
		{"a second time", "a", s.ID, fleet.ErrBadSeat},
		{"a second time, elsewhere", "b", s.ID, fleet.ErrBadSeat},
		{"an unknown seat", "a", fleet.NewSeatID(), fleet.ErrBadSeat},
		{"an empty id", "a", "", fleet.ErrBadSeat},
	}
	for _, tt := range tests {
		got, err := e.d.Claim(ctx, tt.node, tt.id)
		e.wantErr("Claim "+tt.what, err, tt.want)
		if tt.want == nil && got != s {
			e.t.Errorf("Claim %s = %+v, want %+v", tt.what, got, s)
		}
	}
	e.wantPlayers("a", 1, "after one claim")
	e.wantPlayers("b", 0, "after a claim of a's seat at b")
	e.sleep(e.ttl * 3 / 2)
	e.wantErr("Claim of an expired seat", claimErr(e, "a", expiring.ID), fleet.ErrBadSeat)
	e.wantPlayers("a", 1, "after an expired seat")

	// A resume seat takes over a session a already counts.
	r := e.reserve("a", fleet.WhyResume, e.long)
	if got := e.claim("a", r.ID); got != r {
		e.t.Errorf("Claim of a resume seat = %+v, want %+v", got, r)
	}
	e.wantPlayers("a", 1, "after a resume claim")
}

func testAdmitted(e *env) {
	l := lease("a", 10, 0)
	hb := func(players int, admitted uint64, ttl time.Duration) {
		e.t.Helper()
		l.Players, l.Admitted = players, admitted
		e.heartbeat(l, ttl)
	}
	hb(0, 0, e.long)
	e.admit("a")
	e.wantPlayers("a", 1, "after Admit")
	s := e.reserve("a", fleet.WhyFull, e.long)
	e.claim("a", s.ID)
	e.wantPlayers("a", 2, "after Admit and Claim")
	// Heartbeats built before the node saw the admissions keep them.
	steps := []struct {
		players  int
		admitted uint64
		want     int
		what     string
	}{
		{0, 0, 2, "a heartbeat that crossed an Admit and a Claim"},
		{1, 1, 2, "a heartbeat that crossed the Claim"},
		{2, 2, 2, "a heartbeat that saw both"},
		{1, 2, 1, "a player left"},
		// A lease ahead of the directory (it restarted empty, or lost
		// count) is taken as it is, and its count becomes the directory's.
		{5, 7, 5, "a lease ahead of the directory"},
	}
	for _, st := range steps {
		hb(st.players, st.admitted, e.long)
		e.wantPlayers("a", st.want, st.what)
	}
	e.admit("a")
	hb(5, 7, e.long)
	e.wantPlayers("a", 6, "a heartbeat that crossed an Admit after the count was taken from a lease")

	// An admission that the node's leases never show (its answer was
	// lost) counts for one ttl, then no more.
	hb(5, 7, e.ttl)
	e.sleep(e.ttl * 3 / 5)
	hb(5, 7, e.ttl)
	e.wantPlayers("a", 6, "3TTL/5 after an admission the node did not see")
	e.sleep(e.ttl * 3 / 5)
	hb(5, 7, e.ttl)
	e.wantPlayers("a", 5, "6TTL/5 after an admission the node did not see")
	hb(5, 7, e.long)
	e.wantPlayers("a", 5, "the next heartbeat")
	e.admit("a")
	hb(6, 8, e.long)
	e.wantPlayers("a", 6, "a heartbeat that saw the next Admit")
}

func testRaceForLastSeats(e *env) {
	const (
		rounds  = 4
		callers = 16
	)
	for round := range rounds {
		// Two nodes with three free seats between them; callers race
		// ReserveAny and Admit for them.
		a, b := fmt.Sprintf("a%d", round), fmt.Sprintf("b%d", round)
		e.heartbeat(lease(a, 40, 38), e.long)
		e.heartbeat(lease(b, 40, 39), e.long)
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			won = map[string]int{}
		)
		for i := range callers {
			wg.Go(func() {
				var node string
				var err error
				switch i % 3 {
				case 0:
					var s fleet.Seat
					_, s, err = e.d.ReserveAny(context.Background(), "", seat("", fleet.WhyFull), e.long)
					node = s.Node
				case 1:
					node, err = a, e.d.Admit(context.Background(), a)
				default:
					node, err = b, e.d.Admit(context.Background(), b)
				}
				if err != nil {
					if !errors.Is(err, fleet.ErrNoRoom) {
						e.t.Errorf("round %d: racing caller %d: %v", round, i, err)
					}
					return
				}
				mu.Lock()
				won[node]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if won[a] > 2 || won[b] > 1 || won[a]+won[b] != 3 {
			e.t.Errorf("round %d: seats won %v, want 2 of %s and 1 of %s", round, won, a, b)
		}
		for _, n := range []string{a, b} {
			if err := e.d.Admit(context.Background(), n); !errors.Is(err, fleet.ErrNoRoom) {
				e.t.Errorf("round %d: Admit(%s) after the race: err = %v, want %v", round, n, err, fleet.ErrNoRoom)
			}
		}
	}
}

func testResume(e *env) {
	ctx := context.Background()
	r1 := fleet.Resume{Token: "t1", Node: "a", Session: 1, Name: "ann", Alive: true, Mass: 12.25}
	r2 := fleet.Resume{Token: "t2", Node: "b", Session: 2, Name: "bob"}
	if err := e.d.Checkpoint(ctx, []fleet.Resume{r1, r2}, e.ttl); err != nil {
		e.t.Fatalf("Checkpoint: %v", err)
	}
	lookup := func(token string) (fleet.Resume, error) { return e.d.LookupResume(ctx, token) }
	for _, want := range []fleet.Resume{r1, r2} {
		if got, err := lookup(want.Token); err != nil || got != want {
			e.t.Errorf("LookupResume(%s) = %+v, %v; want %+v", want.Token, got, err, want)
		}
	}
	if _, err := lookup("unknown"); !errors.Is(err, fleet.ErrNotFound) {
		e.t.Errorf("LookupResume(unknown): err = %v, want %v", err, fleet.ErrNotFound)
	}
	// A checkpoint rewrites the record and its ttl.
	r1.Mass, r1.Alive = 30, false
	if err := e.d.Checkpoint(ctx, []fleet.Resume{r1}, e.long); err != nil {
		e.t.Fatalf("Checkpoint: %v", err)
	}
	if got, err := lookup("t1"); err != nil || got != r1 {
		e.t.Errorf("LookupResume(t1) after a new checkpoint = %+v, %v; want %+v", got, err, r1)
	}
	if err := e.d.Checkpoint(ctx, nil, e.ttl); err != nil {
		e.t.Errorf("Checkpoint of no record: %v", err)
	}
	e.sleep(e.ttl * 3 / 2)
	if _, err := lookup("t2"); !errors.Is(err, fleet.ErrNotFound) {
		e.t.Errorf("LookupResume(t2) past its ttl: err = %v, want %v", err, fleet.ErrNotFound)
	}
	if _, err := lookup("t1"); err != nil {
		e.t.Errorf("LookupResume(t1), rewritten with a longer ttl: %v", err)
	}
	// Forget deletes; unknown tokens and none at all are fine.
	if err := e.d.Forget(ctx, "t1", "unknown"); err != nil {
		e.t.Fatalf("Forget: %v", err)
	}
	if _, err := lookup("t1"); !errors.Is(err, fleet.ErrNotFound) {
		e.t.Errorf("LookupResume(t1) after Forget: err = %v, want %v", err, fleet.ErrNotFound)
	}
	if err := e.d.Forget(ctx); err != nil {
		e.t.Errorf("Forget of no token: %v", err)
	}
	// TakeResume hands a record to exactly one of many callers.
	r3 := fleet.Resume{Token: "t3", Incarnation: "i1", Name: "cat", Alive: true, Mass: 50}
	if err := e.d.Checkpoint(ctx, []fleet.Resume{r3}, e.long); err != nil {
		e.t.Fatalf("Checkpoint: %v", err)
	}
	var mu sync.Mutex
	var got []fleet.Resume
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if r, err := e.d.TakeResume(ctx, "t3"); err == nil {
				mu.Lock()
				got = append(got, r)
				mu.Unlock()
			} else if !errors.Is(err, fleet.ErrNotFound) {
				e.t.Errorf("TakeResume(t3): %v", err)
			}
		})
	}
	wg.Wait()
	if len(got) != 1 || got[0] != r3 {
		e.t.Errorf("8 racing TakeResume(t3) got %+v, want exactly one %+v", got, r3)
	}
	if _, err := lookup("t3"); !errors.Is(err, fleet.ErrNotFound) {
		e.t.Errorf("LookupResume(t3) after TakeResume: err = %v, want %v", err, fleet.ErrNotFound)
	}
}

func testBoard(e *env) {
	ctx := context.Background()
	if got := e.board(10); len(got) != 0 {
		e.t.Errorf("GlobalBoard of an empty directory = %v, want none", got)
	}
	e.publish("a", []fleet.BoardRow{row("x", 10), row("y", 30), row("z", 20.5)}, e.long)
	e.publish("b", []fleet.BoardRow{row("w", 25), row("x", 5)}, e.ttl)
	e.publish("c", []fleet.BoardRow{row("v", 100)}, e.long)
	if err := e.d.Remove(ctx, "c"); err != nil { // a clean shutdown takes its rows
		e.t.Fatalf("Remove(c): %v", err)
	}
	all := []fleet.BoardRow{row("y", 30), row("w", 25), row("z", 20.5), row("x", 10), row("x", 5)}
	tests := []struct {
		n    int
		want []fleet.BoardRow
	}{
		{10, all},
		{5, all},
		{2, all[:2]},
		{1, all[:1]},
		{0, nil},
		{-1, nil},
	}
	for _, tt := range tests {
		if got := e.board(tt.n); !rowsEqual(got, tt.want) {
			e.t.Errorf("GlobalBoard(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
	// A new publication replaces all of the node's rows.
	e.publish("a", []fleet.BoardRow{row("y", 40)}, e.long)
	if got, want := e.board(10), []fleet.BoardRow{row("y", 40), row("w", 25), row("x", 5)}; !rowsEqual(got, want) {
		e.t.Errorf("GlobalBoard after a republished = %v, want %v", got, want)
	}
	// b stops publishing: its rows vanish after their ttl.
	e.sleep(e.ttl / 2)
	if got := e.board(10); len(got) != 3 {
		e.t.Errorf("GlobalBoard at TTL/2 = %v, want b's rows still", got)
	}
	e.sleep(e.ttl)
	if got, want := e.board(10), []fleet.BoardRow{row("y", 40)}; !rowsEqual(got, want) {
		e.t.Errorf("GlobalBoard past b's ttl = %v, want %v", got, want)
	}
	// Publishing no row takes the node off the board.
	e.publish("a", nil, e.long)
	if got := e.board(10); len(got) != 0 {
		e.t.Errorf("GlobalBoard after a published nothing = %v, want none", got)
	}
}

func row(name string, mass float64) fleet.BoardRow { return fleet.BoardRow{Name: name, Mass: mass} }

// rowsEqual is slices.Equal, for which nil and empty are equal.
func rowsEqual(a, b []fleet.BoardRow) bool { return slices.Equal(a, b) }

func testReap(e *env) {
	ctx := context.Background()
	e.heartbeat(lease("a", 100, 0), e.ttl) // the most room, lapses soon
	e.heartbeat(lease("b", 10, 0), e.long)
	e.publish("a", []fleet.BoardRow{row("ann", 50)}, e.long)
	e.publish("b", []fleet.BoardRow{row("bob", 20)}, e.long)
	e.reserve("a", fleet.WhyFull, e.long)
	if got := e.reap(); len(got) != 0 {
		e.t.Fatalf("Reap with every node live = %v, want none", got)
	}
	e.sleep(e.ttl * 3 / 2)
	// Every node calls Reap: one gets a's id, the others nothing.
	const callers = 8
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got []string
	)
	for range callers {
		wg.Go(func() {
			ids, err := e.d.Reap(ctx)
			if err != nil {
				e.t.Errorf("Reap: %v", err)
			}
			mu.Lock()
			got = append(got, ids...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if !slices.Equal(got, []string{"a"}) {
		e.t.Errorf("%d concurrent Reaps returned %v in all, want [a] once", callers, got)
	}
	if got := e.reap(); len(got) != 0 {
		e.t.Errorf("Reap again = %v, want none", got)
	}
	// What a left in the indexes is gone: its rows, its place in ReserveAny.
	if got, want := e.board(10), []fleet.BoardRow{row("bob", 20)}; !rowsEqual(got, want) {
		e.t.Errorf("GlobalBoard after a was reaped = %v, want %v", got, want)
	}
	if _, s, err := e.d.ReserveAny(ctx, "", seat("", fleet.WhyFull), e.ttl); err != nil || s.Node != "b" {
		e.t.Errorf("ReserveAny after a was reaped: node %q, err %v; want b", s.Node, err)
	}
	// a comes back: it is a node like any other.
	e.heartbeat(lease("a", 100, 0), e.long)
	if got := e.ids(); !slices.Equal(got, []string{"a", "b"}) {
		e.t.Errorf("Nodes after a came back = %v, want [a b]", got)
	}
	if _, s, err := e.d.ReserveAny(ctx, "", seat("", fleet.WhyFull), e.ttl); err != nil || s.Node != "a" {
		e.t.Errorf("ReserveAny after a came back: node %q, err %v; want a", s.Node, err)
	}
	if got := e.reap(); len(got) != 0 {
		e.t.Errorf("Reap after a came back = %v, want none", got)
	}
}

func (e *env) bans() []fleet.Ban {
	e.t.Helper()
	bs, err := e.d.Bans(context.Background())
	if err != nil {
		e.t.Fatalf("Bans: %v", err)
	}
	return bs
}

// testBans: bans are listed by prefix with their reason, author and
// lapse time, replaced by a ban of the same prefix, lifted by Unban
// (ErrNotFound the second time) and gone by themselves after their ttl.
func testBans(e *env) {
	ctx := context.Background()
	if got := e.bans(); len(got) != 0 {
		e.t.Fatalf("Bans of a new directory = %v, want none", got)
	}
	start := time.Now()
	for _, b := range []fleet.Ban{
		{Prefix: "203.0.113.7/32", Reason: "spam", By: "ops"},
		{Prefix: "2001:db8::/48", Reason: "bots", By: "ann"},
		{Prefix: "198.51.100.0/24", Reason: "first", By: "ops"},
	} {
		ttl := e.long
		if b.Prefix == "203.0.113.7/32" {
			ttl = e.ttl
		}
		if err := e.d.Ban(ctx, b, ttl); err != nil {
			e.t.Fatalf("Ban(%s): %v", b.Prefix, err)
		}
	}
	// A second ban of a prefix replaces the first.
	if err := e.d.Ban(ctx, fleet.Ban{Prefix: "198.51.100.0/24", Reason: "again", By: "bob"}, e.long); err != nil {
		e.t.Fatalf("Ban again: %v", err)
	}
	got := e.bans()
	var prefixes []string
	for _, b := range got {
		prefixes = append(prefixes, b.Prefix)
	}
	if want := []string{"198.51.100.0/24", "2001:db8::/48", "203.0.113.7/32"}; !slices.Equal(prefixes, want) {
		e.t.Fatalf("Bans = %v, want %v", prefixes, want)
	}
	if got[0].Reason != "again" || got[0].By != "bob" || got[1].Reason != "bots" || got[1].By != "ann" {
		e.t.Errorf("Bans' reasons and authors = %+v", got)
	}
	// Until is the directory's now plus the ttl; its clock may differ
	// from ours by a call's latency, and a second of skew at most.
	slack := time.Second
	for _, b := range got {
		ttl := e.long
		if b.Prefix == "203.0.113.7/32" {
			ttl = e.ttl
		}
		if b.Until.Before(start.Add(ttl).Add(-slack)) || b.Until.After(time.Now().Add(ttl).Add(slack)) {
			e.t.Errorf("ban of %s until %v, want about %v", b.Prefix, b.Until, start.Add(ttl))
		}
	}

	e.sleep(e.ttl * 3 / 2)
	got = e.bans()
	if len(got) != 2 || got[0].Prefix != "198.51.100.0/24" || got[1].Prefix != "2001:db8::/48" {
		e.t.Errorf("Bans after the short one lapsed = %v", got)
	}
	e.wantErr("Unban of a lapsed ban", e.d.Unban(ctx, "203.0.113.7/32"), fleet.ErrNotFound)
	e.wantErr("Unban", e.d.Unban(ctx, "2001:db8::/48"), nil)
	e.wantErr("Unban again", e.d.Unban(ctx, "2001:db8::/48"), fleet.ErrNotFound)
	if got = e.bans(); len(got) != 1 || got[0].Prefix != "198.51.100.0/24" {
		e.t.Errorf("Bans after an Unban = %v", got)
	}
}

// testCommands: a command reaches only its node, once, in order, while
// it lives; none goes to a node without a live lease; an answer is read
// by its command's id until it lapses.
func testCommands(e *env) {
	ctx := context.Background()
	e.heartbeat(lease("a", 10, 0), e.long)
	e.heartbeat(lease("b", 10, 0), e.long)
	take := func(node string) []fleet.Command {
		e.t.Helper()
		cs, err := e.d.TakeCommands(ctx, node)
		if err != nil {
			e.t.Fatalf("TakeCommands(%s): %v", node, err)
		}
		return cs
	}
	if got := take("a"); len(got) != 0 {
		e.t.Fatalf("TakeCommands of a new directory = %v", got)
	}
	drain := fleet.Command{ID: fleet.NewSeatID(), Node: "a", Kind: "drain", By: "ops"}
	kick := fleet.Command{ID: fleet.NewSeatID(), Node: "a", Kind: "kick", Target: "7", Reason: "spam"}
	short := fleet.Command{ID: fleet.NewSeatID(), Node: "b", Kind: "drain"}
	for _, c := range []fleet.Command{drain, kick} {
		e.wantErr("SendCommand", e.d.SendCommand(ctx, c, e.long), nil)
	}
	e.wantErr("SendCommand with a short ttl", e.d.SendCommand(ctx, short, e.ttl), nil)
	e.wantErr("SendCommand to a node never seen", e.d.SendCommand(ctx, fleet.Command{ID: "x", Node: "zed", Kind: "drain"}, e.long), fleet.ErrNodeGone)
	if got := take("a"); !slices.Equal(got, []fleet.Command{drain, kick}) {
		e.t.Errorf("TakeCommands(a) = %+v, want drain then kick", got)
	}
	if got := take("a"); len(got) != 0 {
		e.t.Errorf("TakeCommands(a) again = %+v, want none (each is taken once)", got)
	}
	e.sleep(e.ttl * 3 / 2)
	if got := take("b"); len(got) != 0 {
		e.t.Errorf("TakeCommands(b) after its command lapsed = %+v, want none", got)
	}

	if _, err := e.d.TakeAnswer(ctx, drain.ID); !errors.Is(err, fleet.ErrNotFound) {
		e.t.Errorf("TakeAnswer before the answer: err = %v, want %v", err, fleet.ErrNotFound)
	}
	ans := fleet.Answer{Status: 200, Body: `{"ok":true}`, Node: "a"}
	e.wantErr("Answer", e.d.Answer(ctx, drain.ID, ans, e.ttl), nil)
	if got, err := e.d.TakeAnswer(ctx, drain.ID); err != nil || !reflect.DeepEqual(got, ans) {
		e.t.Errorf("TakeAnswer = %+v, %v; want %+v", got, err, ans)
	}
	if _, err := e.d.TakeAnswer(ctx, drain.ID); !errors.Is(err, fleet.ErrNotFound) {
		e.t.Errorf("TakeAnswer again: err = %v, want %v (each is taken once)", err, fleet.ErrNotFound)
	}
	// An answer with a file: the file comes back whole, with its answer.
	file := make([]byte, 3<<20)
	for i := range file {
		file[i] = byte(i * 7)
	}
	clip := fleet.Answer{Status: 200, Body: `{"ok":true,"filename":"c.replay"}`, Node: "a", Data: file}
	e.wantErr("Answer with a file", e.d.Answer(ctx, kick.ID, clip, e.ttl), nil)
	want := clip
	want.Data = slices.Clone(file)
	file[0]++ // the directory keeps its own copy
	if got, err := e.d.TakeAnswer(ctx, kick.ID); err != nil || !reflect.DeepEqual(got, want) {
		e.t.Errorf("TakeAnswer with a file = %d bytes, %v; want %d", len(got.Data), err, len(want.Data))
	}
	e.wantErr("Answer with a file over MaxAnswerData", e.d.Answer(ctx, "big", fleet.Answer{Status: 200, Data: make([]byte, fleet.MaxAnswerData+1)}, e.ttl), fleet.ErrTooBig)
	// The largest file travels, whatever the directory's timeout for
	// small records.
	biggest := fleet.Answer{Status: 200, Body: `{}`, Node: "a", Data: make([]byte, fleet.MaxAnswerData)}
	biggest.Data[len(biggest.Data)-1] = 7
	e.wantErr("Answer with a file of MaxAnswerData bytes", e.d.Answer(ctx, "biggest", biggest, e.long), nil)
	if got, err := e.d.TakeAnswer(ctx, "biggest"); err != nil || len(got.Data) != fleet.MaxAnswerData || got.Data[len(got.Data)-1] != 7 {
		e.t.Errorf("TakeAnswer of a file of MaxAnswerData bytes: %d bytes, %v", len(got.Data), err)
	}
	e.wantErr("Answer", e.d.Answer(ctx, drain.ID, clip, e.ttl), nil)
	e.sleep(e.ttl * 3 / 2)
	if _, err := e.d.TakeAnswer(ctx, drain.ID); !errors.Is(err, fleet.ErrNotFound) {
		e.t.Errorf("TakeAnswer after its ttl: err = %v, want %v", err, fleet.ErrNotFound)
	}

	// A node whose lease lapsed gets no commands.
	e.heartbeat(lease("c", 10, 0), e.ttl)
	e.sleep(e.ttl * 3 / 2)
	e.wantErr("SendCommand to a dead node", e.d.SendCommand(ctx, fleet.Command{ID: "y", Node: "c", Kind: "drain"}, e.long), fleet.ErrNodeGone)
}

func testRestartedEmpty(e *env) {
	if e.cfg.Restart == nil {
		e.t.Skip("no Config.Restart: this directory cannot be emptied behind its back")
	}
	ctx := context.Background()
	l := lease("a", 10, 2)
	l.Admitted = 2
	e.heartbeat(l, e.long)
	e.heartbeat(lease("b", 10, 0), e.long)
	s := e.reserve("a", fleet.WhyFull, e.long)
	rec := fleet.Resume{Token: "t", Node: "a", Session: 3, Name: "ann", Alive: true, Mass: 20}
	if err := e.d.Checkpoint(ctx, []fleet.Resume{rec}, e.long); err != nil {
		e.t.Fatalf("Checkpoint: %v", err)
	}
	e.publish("a", []fleet.BoardRow{row("ann", 20)}, e.long)

	e.cfg.Restart(e.t, e.d)

	if got := e.nodes(); len(got) != 0 {
		e.t.Errorf("Nodes after the restart = %v, want none", ids(got))
	}
	e.wantErr("Reserve after the restart", e.d.Reserve(ctx, seat("a", fleet.WhyFull), e.ttl), fleet.ErrNodeGone)
	e.wantErr("Admit after the restart", e.d.Admit(ctx, "a"), fleet.ErrNodeGone)
	e.wantErr("Claim after the restart", claimErr(e, "a", s.ID), fleet.ErrBadSeat)
	if _, err := e.d.LookupResume(ctx, "t"); !errors.Is(err, fleet.ErrNotFound) {
		e.t.Errorf("LookupResume after the restart: err = %v, want %v", err, fleet.ErrNotFound)
	}
	if got := e.board(10); len(got) != 0 {
		e.t.Errorf("GlobalBoard after the restart = %v, want none", got)
	}
	if _, _, err := e.d.ReserveAny(ctx, "", seat("", fleet.WhyFull), e.ttl); !errors.Is(err, fleet.ErrNoRoom) {
		e.t.Errorf("ReserveAny after the restart: err = %v, want %v", err, fleet.ErrNoRoom)
	}

	// The nodes' next heartbeats, checkpoints and boards rebuild it; the
	// lease's count of admissions becomes the directory's.
	e.heartbeat(l, e.long)
	if got := e.ids(); !slices.Equal(got, []string{"a"}) {
		e.t.Errorf("Nodes after a's heartbeat = %v, want [a]", got)
	}
	e.wantPlayers("a", 2, "after a's heartbeat")
	e.admit("a")
	e.heartbeat(l, e.long) // crossed the Admit
	e.wantPlayers("a", 3, "a heartbeat that crossed an Admit")
	if err := e.d.Checkpoint(ctx, []fleet.Resume{rec}, e.long); err != nil {
		e.t.Fatalf("Checkpoint: %v", err)
	}
	if got, err := e.d.LookupResume(ctx, "t"); err != nil || got != rec {
		e.t.Errorf("LookupResume after a new checkpoint = %+v, %v; want %+v", got, err, rec)
	}
	if _, s, err := e.d.ReserveAny(ctx, "", seat("", fleet.WhyFull), e.ttl); err != nil || s.Node != "a" {
		e.t.Errorf("ReserveAny after a's heartbeat: node %q, err %v; want a", s.Node, err)
	}
}

// testUnavailable: a directory that cannot do a call (its context is done,
// or it is closed) says ErrUnavailable, with the cause, on every method.
func testUnavailable(e *env) {
	e.heartbeat(lease("a", 10, 0), e.long)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	calls := func(ctx context.Context) map[string]error {
		_, _, anyErr := e.d.ReserveAny(ctx, "", seat("", fleet.WhyFull), e.ttl)
		_, claimErr := e.d.Claim(ctx, "a", fleet.NewSeatID())
		_, nodesErr := e.d.Nodes(ctx)
		_, lookupErr := e.d.LookupResume(ctx, "t")
		_, boardErr := e.d.GlobalBoard(ctx, 10)
		_, reapErr := e.d.Reap(ctx)
		_, takeErr := e.d.TakeResume(ctx, "t")
		_, bansErr := e.d.Bans(ctx)
		_, takeCmdErr := e.d.TakeCommands(ctx, "a")
		_, takeAnswerErr := e.d.TakeAnswer(ctx, "c1")
		return map[string]error{
			"Heartbeat":    e.d.Heartbeat(ctx, lease("a", 10, 0), e.ttl),
			"Remove":       e.d.Remove(ctx, "a"),
			"Nodes":        nodesErr,
			"Reserve":      e.d.Reserve(ctx, seat("a", fleet.WhyFull), e.ttl),
			"ReserveAny":   anyErr,
			"Claim":        claimErr,
			"Admit":        e.d.Admit(ctx, "a"),
			"Checkpoint":   e.d.Checkpoint(ctx, []fleet.Resume{{Token: "t"}}, e.ttl),
			"LookupResume": lookupErr,
			"TakeResume":   takeErr,
			"Forget":       e.d.Forget(ctx, "t"),
			"PublishBoard": e.d.PublishBoard(ctx, "a", []fleet.BoardRow{row("ann", 1)}, e.ttl),
			"GlobalBoard":  boardErr,
			"Reap":         reapErr,
			"Ban":          e.d.Ban(ctx, fleet.Ban{Prefix: "192.0.2.1/32"}, e.ttl),
			"Unban":        e.d.Unban(ctx, "192.0.2.1/32"),
			"Bans":         bansErr,
			"SendCommand":  e.d.SendCommand(ctx, fleet.Command{ID: "c1", Node: "a", Kind: "drain"}, e.ttl),
			"TakeCommands": takeCmdErr,
			"Answer":       e.d.Answer(ctx, "c1", fleet.Answer{Status: 200, Body: "{}", Node: "a"}, e.ttl),
			"TakeAnswer":   takeAnswerErr,
		}
	}
	for name, err := range calls(canceled) {
		if !errors.Is(err, fleet.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			e.t.Errorf("%s with a canceled context: err = %v, want %v wrapping %v", name, err, fleet.ErrUnavailable, context.Canceled)
		}
	}
	// Nothing was done.
	if got := e.ids(); !slices.Equal(got, []string{"a"}) {
		e.t.Errorf("Nodes after calls with a canceled context = %v, want [a]", got)
	}
	if err := e.d.Close(); err != nil {
		e.t.Errorf("Close: %v", err)
	}
	e.closed = true
	for name, err := range calls(context.Background()) {
		if !errors.Is(err, fleet.ErrUnavailable) {
			e.t.Errorf("%s after Close: err = %v, want %v", name, err, fleet.ErrUnavailable)
		}
	}
}

// testBadArguments: calls a caller got wrong fail at once, with an error
// that is none of the sentinels (nothing to retry, no node to blame).
func testBadArguments(e *env) {
	ctx := context.Background()
	e.heartbeat(lease("a", 10, 0), e.long)
	dup := e.reserve("a", fleet.WhyFull, e.long)
	noID := seat("a", fleet.WhyFull)
	noID.ID = ""
	badWhy := seat("a", fleet.WhyFull)
	badWhy.Why = "because"
	unknownState := lease("b", 10, 0)
	unknownState.State = "resting"
	_, _, anyResume := e.d.ReserveAny(ctx, "", seat("", fleet.WhyResume), e.ttl)
	_, _, anyDup := e.d.ReserveAny(ctx, "", dup, e.ttl)
	_, claimNoNode := e.d.Claim(ctx, "", dup.ID)
	tests := map[string]error{
		"Heartbeat of no node":           e.d.Heartbeat(ctx, lease("", 10, 0), e.ttl),
		"Heartbeat with no ttl":          e.d.Heartbeat(ctx, lease("b", 10, 0), 0),
		"Heartbeat in an unknown state":  e.d.Heartbeat(ctx, unknownState, e.ttl),
		"Heartbeat with negative room":   e.d.Heartbeat(ctx, lease("b", -1, 0), e.ttl),
		"Reserve of no seat id":          e.d.Reserve(ctx, noID, e.ttl),
		"Reserve of an unknown why":      e.d.Reserve(ctx, badWhy, e.ttl),
		"Reserve of a seat id in use":    e.d.Reserve(ctx, dup, e.ttl),
		"Reserve with no ttl":            e.d.Reserve(ctx, seat("a", fleet.WhyFull), 0),
		"ReserveAny of a resume seat":    anyResume,
		"ReserveAny of a seat id in use": anyDup,
		"Claim at no node":               claimNoNode,
		"Admit at no node":               e.d.Admit(ctx, ""),
		"Checkpoint of no token":         e.d.Checkpoint(ctx, []fleet.Resume{{Node: "a"}}, e.ttl),
		"PublishBoard of no node":        e.d.PublishBoard(ctx, "", nil, e.ttl),
		"PublishBoard with no ttl":       e.d.PublishBoard(ctx, "a", nil, 0),
		"Ban of no prefix":               e.d.Ban(ctx, fleet.Ban{}, e.ttl),
		"Ban of an address":              e.d.Ban(ctx, fleet.Ban{Prefix: "192.0.2.1"}, e.ttl),
		"Ban of an unmasked prefix":      e.d.Ban(ctx, fleet.Ban{Prefix: "192.0.2.1/24"}, e.ttl),
		"Ban with no ttl":                e.d.Ban(ctx, fleet.Ban{Prefix: "192.0.2.0/24"}, 0),
		"Ban with a long reason":         e.d.Ban(ctx, fleet.Ban{Prefix: "192.0.2.0/24", Reason: strings.Repeat("x", fleet.MaxBanText+1)}, e.ttl),
		"Unban of no prefix":             e.d.Unban(ctx, ""),
		"SendCommand to no node":         e.d.SendCommand(ctx, fleet.Command{ID: "c", Kind: "drain"}, e.ttl),
		"SendCommand of no kind":         e.d.SendCommand(ctx, fleet.Command{ID: "c", Node: "a"}, e.ttl),
		"SendCommand with no ttl":        e.d.SendCommand(ctx, fleet.Command{ID: "c", Node: "a", Kind: "drain"}, 0),
		"SendCommand too big":            e.d.SendCommand(ctx, fleet.Command{ID: "c", Node: "a", Kind: "kick", Reason: strings.Repeat("x", fleet.MaxCommandBytes)}, e.ttl),
		"Answer of no id":                e.d.Answer(ctx, "", fleet.Answer{Status: 200}, e.ttl),
		"Answer with no status":          e.d.Answer(ctx, "c", fleet.Answer{}, e.ttl),
	}
	sentinels := []error{fleet.ErrNoRoom, fleet.ErrNodeGone, fleet.ErrBadSeat, fleet.ErrNotFound, fleet.ErrUnavailable}
	for name, err := range tests {
		if err == nil {
			e.t.Errorf("%s: no error", name)
			continue
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				e.t.Errorf("%s: err = %v, wants none of the sentinels", name, err)
			}
		}
	}
	if got := e.ids(); !slices.Equal(got, []string{"a"}) {
		e.t.Errorf("Nodes after bad heartbeats = %v, want [a]", got)
	}
	if got := e.claim("a", dup.ID); got != dup {
		e.t.Errorf("Claim of the seat whose id was reused = %+v, want the first %+v", got, dup)
	}
}
