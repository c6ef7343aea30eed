package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws/wsutil"

	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/server"
	"github.com/shatter/shatter/net/wire"
)

// answer decodes an admin action's JSON answer.
func answer(t *testing.T, body string) map[string]any {
	t.Helper()
	out := map[string]any{}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	return out
}

// TestActionsOnAnotherNode: on a two-node fleet sharing a real
// redis-server, node a's admin listener kicks a session of node b and
// drains node b; b does both and a's answers say b acknowledged them.
func TestActionsOnAnotherNode(t *testing.T) {
	a, b, _ := redisNodes(t, nil)
	_, aURL := a.Lobby().Node()

	// A kick of a session on b, asked of a.
	victim, w := join(t, b, "victim")
	code, body := adminCall(t, a, "POST", "/sessions/"+itoa(w.Session)+"/kick?node=b&reason=bye", "", nil)
	if got := answer(t, body); code != http.StatusOK || got["ok"] != true || got["acknowledged"] != true || got["node"] != "b" {
		t.Fatalf("kick on b through a: %d %s", code, body)
	}
	var closed wsutil.ClosedError
	for {
		_, err := victim.next(3 * time.Second)
		if errors.As(err, &closed) {
			break
		}
		if err != nil {
			t.Fatalf("the victim was not closed: %v", err)
		}
	}
	if closed.Code != wire.CloseKicked {
		t.Fatalf("victim closed with %d, want 4004", closed.Code)
	}
	// A session b does not have: b's own 404, acknowledged.
	code, body = adminCall(t, a, "POST", "/sessions/99999/kick?node=b", "", nil)
	if got := answer(t, body); code != http.StatusNotFound || got["acknowledged"] != true {
		t.Errorf("kick of an unknown session on b: %d %s", code, body)
	}
	// A node the fleet does not have.
	if code, body := adminCall(t, a, "POST", "/nodes/zed/drain", "", nil); code != http.StatusNotFound {
		t.Errorf("drain of an unknown node: %d %s", code, body)
	}

	// A drain of b, asked of a: b's player moves to a.
	var mu sync.Mutex
	var moves []client.Move
	c, err := client.Dial(context.Background(), "ws://"+b.Addr()+"/ws", client.Options{Name: "mover",
		OnMove: func(_ *client.Client, m client.Move) { mu.Lock(); moves = append(moves, m); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendSpawn(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "alive on b", func() bool { var s client.Snapshot; c.Snapshot(&s); return s.Alive })
	code, body = adminCall(t, a, "POST", "/nodes/b/drain", "", nil)
	if got := answer(t, body); code != http.StatusOK || got["acknowledged"] != true || got["node"] != "b" || got["draining"] != true {
		t.Fatalf("drain of b through a: %d %s", code, body)
	}
	waitUntil(t, "the move to a", func() bool { mu.Lock(); defer mu.Unlock(); return len(moves) == 1 })
	if m := moves[0]; m.Moved.Why != wire.MoveDrain || m.To != aURL {
		t.Fatalf("move %+v, want drain to %s", m, aURL)
	}
	waitUntil(t, "alive on a", func() bool { var s client.Snapshot; c.Snapshot(&s); return s.Alive })
	waitUntil(t, "b draining in the directory", func() bool {
		nodes, err := a.Lobby().Nodes(context.Background())
		for _, n := range nodes {
			if n.Node == "b" {
				return err == nil && n.State == "draining"
			}
		}
		return false
	})
	// b stays up, out of routing; asking again says so.
	if code, body := adminCall(t, b, "POST", "/nodes/b/drain", "", nil); code != http.StatusOK || !strings.Contains(body, `"already":true`) {
		t.Errorf("second drain of b: %d %s", code, body)
	}
	if got := getStatus(t, "http://"+b.Addr()+"/healthz"); got != http.StatusServiceUnavailable {
		t.Errorf("/healthz of the drained node: %d, want 503", got)
	}
	// a, now the only ready node, cannot drain.
	if code, body := adminCall(t, a, "POST", "/nodes/a/drain", "", nil); code != http.StatusConflict {
		t.Errorf("drain of the last ready node: %d %s, want 409", code, body)
	}
}

// TestDrainAloneIsRefused: a fleet of one cannot drain (no node to take
// its players); the node keeps serving.
func TestDrainAloneIsRefused(t *testing.T) {
	s := newTestServer(t, nil)
	self, _ := s.Lobby().Node()
	if code, body := adminCall(t, s, "POST", "/nodes/"+self+"/drain", "", nil); code != http.StatusConflict || !strings.Contains(body, "no other node") {
		t.Fatalf("drain alone: %d %s", code, body)
	}
	if got := getStatus(t, "http://"+s.Addr()+"/healthz"); got != http.StatusOK {
		t.Errorf("/healthz after a refused drain: %d", got)
	}
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// mover is a client that records its moves.
type mover struct {
	c     *client.Client
	mu    sync.Mutex
	moves []client.Move
}

func dialMover(t *testing.T, s *server.Server, name string) *mover {
	t.Helper()
	m := &mover{}
	c, err := client.Dial(context.Background(), "ws://"+s.Addr()+"/ws", client.Options{Name: name,
		OnMove: func(_ *client.Client, mv client.Move) { m.mu.Lock(); m.moves = append(m.moves, mv); m.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	m.c = c
	if err := c.SendSpawn(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, name+" alive", func() bool { var s client.Snapshot; c.Snapshot(&s); return s.Alive })
	return m
}

func (m *mover) moved() []client.Move {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]client.Move(nil), m.moves...)
}

// TestStopArenaMovesPlayersHere: on a node alone, stopping the arena its
// two players share moves both (moved, drain, to this node's own URL) to
// a new arena of the node, alive, and the stopped arena is gone.
func TestStopArenaMovesPlayersHere(t *testing.T) {
	s := newTestServer(t, func(c *server.Config) { c.Arena.MaxPlayers, c.Arena.MinPopulation = 2, 0 })
	_, url := s.Lobby().Node()
	p1, p2 := dialMover(t, s, "one"), dialMover(t, s, "two")
	code, body := adminCall(t, s, "POST", "/arenas/0/stop", "", nil)
	if got := answer(t, body); code != http.StatusOK || got["moved"] != 2.0 || got["arena"] != 0.0 {
		t.Fatalf("stop: %d %s", code, body)
	}
	for _, p := range []*mover{p1, p2} {
		waitUntil(t, "the move", func() bool { return len(p.moved()) == 1 })
		if m := p.moved()[0]; m.Moved.Why != wire.MoveDrain || m.To != url {
			t.Fatalf("move %+v, want drain to this node (%s)", m, url)
		}
		waitUntil(t, "alive again", func() bool { var st client.Snapshot; p.c.Snapshot(&st); return st.Alive })
	}
	if ids := arenaIDs(t, s); len(ids) != 1 || ids[0] != 1 {
		t.Fatalf("arenas after the stop: %v, want [1]", ids)
	}
	for _, st := range sessions(t, s, "") {
		if st.Arena != 1 || !st.Alive {
			t.Errorf("session after the stop: %+v, want alive in arena 1", st)
		}
	}
	if code, _ := adminCall(t, s, "POST", "/arenas/0/stop", "", nil); code != http.StatusNotFound {
		t.Errorf("stop of a stopped arena: %d, want 404", code)
	}
	if code, _ := adminCall(t, s, "POST", "/arenas/x/stop", "", nil); code != http.StatusBadRequest {
		t.Errorf("stop of a bad arena id: %d, want 400", code)
	}
}

// TestStopArenaOnAnotherNode: node a stops b's arena through the
// directory; b's player moves to a, the node with room.
func TestStopArenaOnAnotherNode(t *testing.T) {
	a, b, _ := redisNodes(t, nil)
	_, aURL := a.Lobby().Node()
	p := dialMover(t, b, "wanderer")
	code, body := adminCall(t, a, "POST", "/arenas/0/stop?node=b", "", nil)
	if got := answer(t, body); code != http.StatusOK || got["acknowledged"] != true || got["node"] != "b" || got["moved"] != 1.0 {
		t.Fatalf("stop on b through a: %d %s", code, body)
	}
	waitUntil(t, "the move", func() bool { return len(p.moved()) == 1 })
	if m := p.moved()[0]; m.Moved.Why != wire.MoveDrain || m.To != aURL {
		t.Fatalf("move %+v, want drain to a (%s)", m, aURL)
	}
	waitUntil(t, "alive on a", func() bool { var st client.Snapshot; p.c.Snapshot(&st); return st.Alive })
}
