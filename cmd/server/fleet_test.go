package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/net/fleet/redistest"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// The multi-node tests run each node as a separate process: this test
// binary again, which TestMain turns into the server when it finds
// nodeEnv. So kill -9 kills a real process, and nodes share nothing but
// the redis-server the test starts.
const (
	nodeEnv     = "SHATTER_TEST_NODE_ARGS"
	fleetLease  = "1s"
	fleetBeat   = "200ms"
	leaseWindow = 5 * time.Second // PROTOCOL.md: a dead node drops out of /fleet within 5 s
)

func TestMain(m *testing.M) {
	if args := os.Getenv(nodeEnv); args != "" {
		var list []string
		if err := json.Unmarshal([]byte(args), &list); err != nil {
			fmt.Fprintln(os.Stderr, "bad", nodeEnv, err)
			os.Exit(2)
		}
		if err := run(list, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// node is one server process of a test's fleet.
type node struct {
	t                   *testing.T
	cmd                 *exec.Cmd
	id, addr, admin, ws string
	records             string // its replay log directory
	exited              chan struct{}
	mu                  sync.Mutex
	log                 strings.Builder // its stderr
}

var servingLine = regexp.MustCompile(`^node (\S+) serving (\S+) admin (\S+) \(public URL (\S+)\)`)

// startNode runs a node on free loopback ports, sharing the fleet in
// redis, with short leases; extra flags come last and win.
func startNode(t *testing.T, redis *redistest.Server, extra ...string) *node {
	t.Helper()
	n := &node{t: t, records: t.TempDir(), exited: make(chan struct{})}
	args := append([]string{"-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-redis", redis.URL(),
		"-fleet-heartbeat", fleetBeat, "-fleet-lease", fleetLease, "-record", n.records,
		"-min-population", "2", "-web-dir", t.TempDir()}, extra...)
	js, _ := json.Marshal(args)
	n.cmd = exec.Command(os.Args[0])
	n.cmd.Env = append(os.Environ(), nodeEnv+"="+string(js))
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.kill)
	// Drain stderr into the log; exits when the process's stderr closes.
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			n.mu.Lock()
			n.log.WriteString(sc.Text() + "\n")
			n.mu.Unlock()
		}
	}()
	ready := make(chan bool, 1)
	// Reads stdout for the serving line, then to its end; exits when the
	// process does, after which it marks the node exited.
	go func() {
		defer close(n.exited)
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil && !found {
				n.id, n.addr, n.admin, n.ws = m[1], m[2], m[3], m[4]
				found = true
				ready <- true
			}
		}
		if !found {
			ready <- false
		}
		_ = n.cmd.Wait()
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("node did not start:\n%s", n.stderr())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("node not serving after 15 s:\n%s", n.stderr())
	}
	return n
}

func (n *node) stderr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.String()
}

// kill ends the node with SIGKILL if it still runs, and waits for it.
func (n *node) kill() {
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
}

// signal sends the node a signal.
func (n *node) signal(sig syscall.Signal) {
	n.t.Helper()
	if err := n.cmd.Process.Signal(sig); err != nil {
		n.t.Fatal(err)
	}
}

// waitExit waits for the node to exit by itself and returns its exit code.
func (n *node) waitExit(within time.Duration) int {
	n.t.Helper()
	select {
	case <-n.exited:
		return n.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		n.t.Fatalf("node %s still running after %v:\n%s", n.id, within, n.stderr())
		return -1
	}
}

// fleetIDs returns the ids of the live nodes as the node's /fleet lists them.
func (n *node) fleetIDs() []string {
	n.t.Helper()
	var out struct {
		Nodes []struct {
			ID string `json:"id"`
		} `json:"nodes"`
	}
	resp, err := http.Get("http://" + n.admin + "/fleet")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return nil
	}
	var ids []string
	for _, x := range out.Nodes {
		ids = append(ids, x.ID)
	}
	return ids
}

// waitFleet waits until the node's /fleet lists exactly want.
func (n *node) waitFleet(within time.Duration, want ...string) time.Duration {
	n.t.Helper()
	start := time.Now()
	for {
		got := n.fleetIDs()
		if sameSet(got, want) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			n.t.Fatalf("node %s's /fleet lists %v after %v, want %v", n.id, got, within, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		if seen[x]--; seen[x] < 0 {
			return false
		}
	}
	return true
}

// sessions returns the seats taken in each of the node's arenas (/arenas).
func (n *node) sessions() []int {
	n.t.Helper()
	var out struct {
		Arenas []struct {
			Sessions int `json:"sessions"`
		} `json:"arenas"`
	}
	resp, err := http.Get("http://" + n.admin + "/arenas")
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		n.t.Fatal(err)
	}
	var s []int
	for _, a := range out.Arenas {
		s = append(s, a.Sessions)
	}
	return s
}

// player is a Go client with a record of what it saw.
type player struct {
	c     *client.Client
	mu    sync.Mutex
	moves []client.Move
	// masses is the mass of every snap that showed the marble, with when.
	masses []timedMass
	fleet  wire.FleetBoard // the last board's fleet part
	boards int
}

type timedMass struct {
	at   time.Time
	mass uint32
}

// dial connects a player to a node and waits for its welcome; moves are
// followed.
func dial(t *testing.T, n *node, name, token string) (*player, error) {
	t.Helper()
	p := &player{}
	// Dial's context bounds the client's whole life: the test's cleanup
	// closes it instead.
	c, err := client.Dial(context.Background(), "ws://"+n.addr+"/ws", client.Options{
		Name: name, Token: token,
		OnMove: func(_ *client.Client, m client.Move) {
			p.mu.Lock()
			p.moves = append(p.moves, m)
			p.mu.Unlock()
		},
		OnMessage: func(_ *client.Client, m *wire.ServerMessage) {
			p.mu.Lock()
			defer p.mu.Unlock()
			switch m.Type {
			case wire.TypeSnap:
				if m.Snap.HasYou {
					p.masses = append(p.masses, timedMass{time.Now(), m.Snap.You.Mass})
				}
			case wire.TypeBoard:
				p.boards++
				p.fleet = wire.FleetBoard{HasGlobal: m.Fleet.HasGlobal, HasOnline: m.Fleet.HasOnline, Online: m.Fleet.Online,
					Global: append([]wire.GlobalRow(nil), m.Fleet.Global...)}
			}
		},
	})
	if err != nil {
		return nil, err
	}
	p.c = c
	t.Cleanup(func() { _ = c.Close() })
	return p, nil
}

func mustDial(t *testing.T, n *node, name, token string) *player {
	t.Helper()
	p, err := dial(t, n, name, token)
	if err != nil {
		t.Fatalf("dial %s as %s: %v\nnode log:\n%s", n.id, name, err, n.stderr())
	}
	return p
}

// spawn asks for a marble and waits until a snap shows it.
func (p *player) spawn(t *testing.T) {
	t.Helper()
	if err := p.c.SendSpawn(); err != nil {
		t.Fatal(err)
	}
	p.waitAlive(t, 5*time.Second)
}

func (p *player) waitAlive(t *testing.T, within time.Duration) uint32 {
	t.Helper()
	deadline := time.Now().Add(within)
	var s client.Snapshot
	for {
		p.c.Snapshot(&s)
		if s.Alive {
			return s.You.Mass
		}
		if time.Now().After(deadline) {
			t.Fatalf("player not alive after %v (session %d)", within, p.c.Welcome().Session)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lastMoves returns the moves followed so far.
func (p *player) lastMoves() []client.Move {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]client.Move(nil), p.moves...)
}

// massesSince returns the masses seen since t.
func (p *player) massesSince(since time.Time) (lo, hi uint32, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	lo = ^uint32(0)
	for _, m := range p.masses {
		if m.at.Before(since) {
			continue
		}
		lo, hi, n = min(lo, m.mass), max(hi, m.mass), n+1
	}
	return lo, hi, n
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFleetSpillOverJoinAndFull fills a node: the next player is moved
// (full) to the other node and plays there as a new session; /join
// answers with the other node while it has room and 503 full when the
// fleet is full, and a hello then gets full.
func TestFleetSpillOverJoinAndFull(t *testing.T) {
	redis := redistest.Start(t)
	small := []string{"-max-arenas", "1", "-max-players", "2"}
	a := startNode(t, redis, small...)
	b := startNode(t, redis, small...)
	a.waitFleet(leaseWindow, a.id, b.id)
	b.waitFleet(leaseWindow, a.id, b.id)

	mustDial(t, a, "a1", "")
	mustDial(t, a, "a2", "")
	third := mustDial(t, a, "a3", "")
	waitFor(t, 5*time.Second, "third player's move", func() bool { return len(third.lastMoves()) == 1 })
	mv := third.lastMoves()[0]
	if mv.Moved.Why != wire.MoveFull || mv.To != b.ws || third.c.Welcome().Session == 0 {
		t.Fatalf("third player's move %+v, want why full to %s with a session there", mv, b.ws)
	}
	if got := b.sessions(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("node b's arenas hold %v sessions, want [1]", got)
	}

	join := func(n *node) (int, map[string]string) {
		resp, err := http.Get("http://" + n.addr + "/join")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, out := join(a); code != http.StatusOK || out["url"] != b.ws || out["seat"] == "" {
		t.Fatalf("/join on the full node: %d %v, want 200 with a seat on %s", code, out, b.ws)
	}
	// That seat is b's last: the fleet is full now.
	if code, out := join(b); code != http.StatusServiceUnavailable || out["error"] != "full" {
		t.Fatalf("/join on a full fleet: %d %v, want 503 {error: full}", code, out)
	}
	_, err := dial(t, a, "a4", "")
	var ce client.CloseError
	if !errors.As(err, &ce) || ce.Code != 1013 {
		t.Fatalf("hello on a full fleet: %v, want close 1013 (full)", err)
	}
}

// TestFleetRaceForTheLastSeats has two nodes seat players as fast as they
// come: never more than max-players in an arena, and no seat lost.
func TestFleetRaceForTheLastSeats(t *testing.T) {
	redis := redistest.Start(t)
	small := []string{"-max-arenas", "1", "-max-players", "3"}
	a := startNode(t, redis, small...)
	b := startNode(t, redis, small...)
	a.waitFleet(leaseWindow, a.id, b.id)
	b.waitFleet(leaseWindow, a.id, b.id)
	var wg sync.WaitGroup
	var mu sync.Mutex
	seated := 0
	for i := range 12 {
		n := a
		if i%2 == 1 {
			n = b
		}
		wg.Go(func() {
			if _, err := dial(t, n, fmt.Sprintf("racer%d", i), ""); err == nil {
				mu.Lock()
				seated++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sa, sb := a.sessions(), b.sessions()
	if len(sa) != 1 || len(sb) != 1 || sa[0] > 3 || sb[0] > 3 || sa[0]+sb[0] != seated || seated != 6 {
		t.Fatalf("12 racers for 6 seats: %d seated, arenas hold %v and %v; want 6, at most 3 each", seated, sa, sb)
	}
}

// TestFleetResumeAcrossNodes drops a player and brings its token to the
// other node: it is moved (resume) back and continues its session with
// its marble.
func TestFleetResumeAcrossNodes(t *testing.T) {
	redis := redistest.Start(t)
	a := startNode(t, redis)
	b := startNode(t, redis)
	a.waitFleet(leaseWindow, a.id, b.id)
	p := mustDial(t, a, "wanderer", "")
	p.spawn(t)
	w := p.c.Welcome()
	time.Sleep(600 * time.Millisecond) // a checkpoint names its node
	_ = p.c.Close()                    // a drop: the seat waits for its token
	q := mustDial(t, b, "wanderer", w.Token)
	moves := q.lastMoves()
	waitFor(t, 5*time.Second, "resume move", func() bool { moves = q.lastMoves(); return len(moves) == 1 })
	if moves[0].Moved.Why != wire.MoveResume || moves[0].To != a.ws {
		t.Fatalf("move %+v, want why resume to %s", moves[0], a.ws)
	}
	if got := q.c.Welcome(); got.Session != w.Session {
		t.Fatalf("resumed on %s as session %d, want the same session %d", a.id, got.Session, w.Session)
	}
	q.waitAlive(t, 3*time.Second)
}

// TestFleetCrash kills a node with SIGKILL: the other drops it from /fleet
// within 5 s, and its player comes back there with its token, alive, with
// its name and the mass it had at most 2 s before the crash.
func TestFleetCrash(t *testing.T) {
	redis := redistest.Start(t)
	a := startNode(t, redis)
	b := startNode(t, redis)
	a.waitFleet(leaseWindow, a.id, b.id)
	p := mustDial(t, a, "survivor", "")
	p.spawn(t)
	// Boosting burns mass, so the mass changes while the checkpoints run.
	for range 30 {
		_, _ = p.c.SendInput(1, true)
		time.Sleep(40 * time.Millisecond)
	}
	token, old := p.c.Welcome().Token, p.c.Welcome().Session
	crash := time.Now()
	a.signal(syscall.SIGKILL)
	a.waitExit(2 * time.Second)
	// At once, before its lease has lapsed: the node asked waits for the
	// verdict instead of sending the player to a dead node.
	q := mustDial(t, b, "someone else", token)
	mass := q.waitAlive(t, 3*time.Second)
	if back := time.Since(crash); back > 4*time.Second || len(q.lastMoves()) != 0 {
		t.Fatalf("came back %v after the crash with moves %+v; want within a lease and no move", back, q.lastMoves())
	}
	if took := b.waitFleet(leaseWindow, b.id); took > leaseWindow {
		t.Fatalf("dead node dropped from /fleet after %v", took)
	}
	lo, hi, n := p.massesSince(crash.Add(-2 * time.Second))
	if n == 0 || mass+1 < lo || mass > hi+1 {
		t.Fatalf("came back with mass %d; in its last 2 s before the crash it had %d..%d (%d snaps)", mass, lo, hi, n)
	}
	var s client.Snapshot
	q.c.Snapshot(&s)
	name := ""
	for _, e := range s.Entities {
		if e.Kind == wire.KindPlayer && e.Mass == s.You.Mass {
			name = e.Name
		}
	}
	if name != "survivor" {
		t.Fatalf("came back named %q, want survivor", name)
	}
	if q.c.Welcome().Token == token {
		t.Fatalf("a dead node's player kept its token; want a new session %d", old)
	}
}

// TestFleetDrain sends SIGTERM to a node with another ready: its players
// are moved (drain) and continue there, alive, with their names and
// masses; the node exits cleanly with its replay log flushed, and the
// other node's replay log reproduces the arrivals.
func TestFleetDrain(t *testing.T) {
	redis := redistest.Start(t)
	a := startNode(t, redis)
	b := startNode(t, redis)
	a.waitFleet(leaseWindow, a.id, b.id)
	var players []*player
	for i := range 3 {
		p := mustDial(t, a, fmt.Sprintf("drained%d", i), "")
		p.spawn(t)
		players = append(players, p)
	}
	onB := mustDial(t, b, "resident", "")
	// The fleet's board reaches both nodes' players.
	waitFor(t, 5*time.Second, "a board with the fleet's part", func() bool {
		onB.mu.Lock()
		defer onB.mu.Unlock()
		return onB.fleet.HasGlobal && onB.fleet.HasOnline && onB.fleet.Online == 4 && len(onB.fleet.Global) > 0
	})
	time.Sleep(300 * time.Millisecond)
	sigterm := time.Now()
	a.signal(syscall.SIGTERM)
	for _, p := range players {
		waitFor(t, 5*time.Second, "drain move", func() bool { return len(p.lastMoves()) == 1 })
		m := p.lastMoves()[0]
		if m.Moved.Why != wire.MoveDrain || m.To != b.ws {
			t.Fatalf("move %+v, want why drain to %s", m, b.ws)
		}
		mass := p.waitAlive(t, 2*time.Second)
		lo, hi, _ := p.massesSince(sigterm.Add(-time.Second))
		if mass+1 < lo || mass > hi+1 {
			t.Fatalf("arrived with mass %d, had %d..%d before the drain", mass, lo, hi)
		}
		if m.ToSnap > 2*time.Second {
			t.Fatalf("moved to first snap took %v", m.ToSnap)
		}
	}
	if code := a.waitExit(10 * time.Second); code != 0 {
		t.Fatalf("drained node exited with %d:\n%s", code, a.stderr())
	}
	assertLogsFlushed(t, a)
	b.waitFleet(leaseWindow, b.id)
	// b is alone now: SIGTERM shuts it down as a single node, and its
	// log replays the arrivals.
	b.signal(syscall.SIGTERM)
	if code := b.waitExit(10 * time.Second); code != 0 {
		t.Fatalf("node b exited with %d:\n%s", code, b.stderr())
	}
	logs := assertLogsFlushed(t, b)
	arrivals := 0
	for _, path := range logs {
		rp, err := loadLog(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range rp.Ticks {
			for _, c := range rt.Commands {
				if c.Kind == ecs.CmdArrive {
					arrivals++
				}
			}
		}
		res, err := rp.Play(nil)
		if err != nil || res.Diverged != nil {
			t.Fatalf("replay of %s: diverged %+v, err %v", path, res.Diverged, err)
		}
	}
	if arrivals != len(players) {
		t.Fatalf("node b's replay logs hold %d arrivals, want %d", arrivals, len(players))
	}
}

func assertLogsFlushed(t *testing.T, n *node) []string {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(n.records, "*"+sim.ReplayExt))
	if len(logs) == 0 {
		t.Fatalf("node %s wrote no replay log", n.id)
	}
	for _, path := range logs {
		if rp, err := loadLog(path); err != nil || rp.Cut != "" {
			t.Fatalf("replay log %s not flushed (err %v)", path, err)
		}
	}
	return logs
}

// TestFleetRidesOutRedisFaults freezes Redis for longer than every TTL,
// then restarts it empty: no tick stops, no player is dropped, local joins
// work, no live node is declared dead, and within 5 s of Redis coming back
// the nodes are listed again and their players' resume records exist.
func TestFleetRidesOutRedisFaults(t *testing.T) {
	redis := redistest.Start(t)
	a := startNode(t, redis)
	b := startNode(t, redis)
	a.waitFleet(leaseWindow, a.id, b.id)
	pa := mustDial(t, a, "steady", "")
	pa.spawn(t)
	pb := mustDial(t, b, "calm", "")
	dir, err := fleet.NewRedis(fleet.RedisOptions{URL: redis.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	recordOf := func(p *player) bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := dir.LookupResume(ctx, p.c.Welcome().Token)
		return err == nil
	}
	faults := []struct {
		name   string
		inject func()
		fix    func()
	}{
		// Frozen for 10 s, past every lease and leaderboard TTL: they all
		// lapse at once when it thaws.
		{"frozen", redis.Freeze, redis.Thaw},
		{"restarted empty", redis.Stop, redis.Restart},
	}
	for i, f := range faults {
		out := []time.Duration{10 * time.Second, 3 * time.Second}[i]
		before := pa.c.Stats()
		f.inject()
		start := time.Now()
		mustDial(t, a, "latecomer", "") // a local join while Redis is out
		time.Sleep(out - time.Since(start))
		snaps := pa.c.Stats().SnapsReceived - before.SnapsReceived
		if want := uint64(out.Seconds() * 30 * 0.8); snaps < want {
			t.Fatalf("%s: %d snaps in %v while Redis was out, want at least %d: ticks must not stop", f.name, snaps, out, want)
		}
		f.fix()
		back := time.Now()
		a.waitFleet(leaseWindow, a.id, b.id)
		b.waitFleet(leaseWindow, a.id, b.id)
		waitFor(t, leaseWindow-time.Since(back), f.name+": resume records re-created", func() bool { return recordOf(pa) && recordOf(pb) })
		for _, p := range []*player{pa, pb} {
			select {
			case <-p.c.Done():
				t.Fatalf("%s: a player was dropped: %v", f.name, p.c.Err())
			default:
			}
		}
	}
	for _, n := range []*node{a, b} {
		if strings.Contains(n.stderr(), "reaped") {
			t.Fatalf("node %s declared a live peer dead:\n%s", n.id, n.stderr())
		}
	}
}

// TestFleetSecondSignal sends a node with a peer two SIGTERMs at once: the
// second cuts the drain short, and the node still stops gracefully, its
// replay log flushed (it used to be killed by the second signal).
func TestFleetSecondSignal(t *testing.T) {
	redis := redistest.Start(t)
	a := startNode(t, redis)
	b := startNode(t, redis)
	a.waitFleet(leaseWindow, a.id, b.id)
	p := mustDial(t, a, "twice", "")
	p.spawn(t)
	a.signal(syscall.SIGTERM)
	a.signal(syscall.SIGTERM)
	if code := a.waitExit(10 * time.Second); code != 0 {
		t.Fatalf("node exited with %d after two signals:\n%s", code, a.stderr())
	}
	assertLogsFlushed(t, a)
}

// loadLog loads a replay log file.
func loadLog(path string) (*sim.Replay, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return sim.LoadReplay(f)
}
