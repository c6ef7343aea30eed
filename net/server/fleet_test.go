package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/net/server"
	"github.com/shatter/shatter/net/server/servertest"
	"github.com/shatter/shatter/net/wire"
)

// twoNodes runs two servers in this process sharing one in-memory
// directory: a fleet without Redis, for the server's own fleet paths.
func twoNodes(t *testing.T) (a, b *server.Server) {
	t.Helper()
	dir := fleet.NewMemory()
	mk := func(id string) *server.Server {
		return servertest.Start(t, func(c *server.Config) {
			c.Fleet.Directory, c.Fleet.Node, c.Fleet.Shared = dir, id, true
			c.Fleet.Heartbeat = 100 * time.Millisecond
			c.Fleet.SeatTTL = 300 * time.Millisecond
			c.Arena.MinPopulation = 2
		})
	}
	a, b = mk("a"), mk("b")
	deadline := time.Now().Add(3 * time.Second)
	for {
		nodes, err := a.Lobby().Nodes(context.Background())
		if err == nil && len(nodes) == 2 {
			return a, b
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes %v err %v; want both", nodes, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDrainMovesPlayersAndLeavesRouting drains a node: its player is
// moved (drain) to the other node and plays on there, the drained node's
// /healthz answers 503, and a new player who comes to it is moved (full).
func TestDrainMovesPlayersAndLeavesRouting(t *testing.T) {
	a, b := twoNodes(t)
	_, bURL := b.Lobby().Node()
	var mu sync.Mutex
	var moves []client.Move
	c, err := client.Dial(context.Background(), "ws://"+a.Addr()+"/ws", client.Options{Name: "mover",
		OnMove: func(_ *client.Client, m client.Move) { mu.Lock(); moves = append(moves, m); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendSpawn(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "alive", func() bool { var s client.Snapshot; c.Snapshot(&s); return s.Alive })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the move", func() bool { mu.Lock(); defer mu.Unlock(); return len(moves) == 1 })
	if m := moves[0]; m.Moved.Why != wire.MoveDrain || m.To != bURL {
		t.Fatalf("move %+v, want drain to %s", m, bURL)
	}
	waitUntil(t, "alive on b", func() bool { var s client.Snapshot; c.Snapshot(&s); return s.Alive })

	resp, err := http.Get("http://" + a.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/healthz of a draining node: %d, want 503", resp.StatusCode)
	}
	resp, err = http.Get("http://" + a.Addr() + "/join")
	if err != nil {
		t.Fatal(err)
	}
	var join map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&join)
	resp.Body.Close()
	if join["url"] != bURL {
		t.Fatalf("/join on a draining node: %v, want a seat on %s", join, bURL)
	}
	var late []client.Move
	n, err := client.Dial(context.Background(), "ws://"+a.Addr()+"/ws", client.Options{Name: "late",
		OnMove: func(_ *client.Client, m client.Move) { mu.Lock(); late = append(late, m); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	waitUntil(t, "the newcomer's move", func() bool { mu.Lock(); defer mu.Unlock(); return len(late) == 1 })
	if late[0].Moved.Why != wire.MoveFull || late[0].To != bURL {
		t.Fatalf("newcomer's move %+v, want full to %s", late[0], bURL)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFleetEndpoints checks admin /fleet lists both nodes, and that a board
// carries the fleet's part.
func TestFleetEndpoints(t *testing.T) {
	a, _ := twoNodes(t)
	var out struct {
		Self  string              `json:"self"`
		Nodes []server.NodeStatus `json:"nodes"`
	}
	resp, err := http.Get("http://" + a.AdminAddr() + "/fleet")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Self != "a" || len(out.Nodes) != 2 || out.Nodes[0].ID != "a" || out.Nodes[1].ID != "b" ||
		out.Nodes[0].State != "ready" || out.Nodes[0].Capacity != 150 || out.Nodes[0].URL == "" {
		t.Fatalf("/fleet = %+v, want nodes a and b, ready, with capacity and url", out)
	}
	var mu sync.Mutex
	var fb wire.FleetBoard
	c, err := client.Dial(context.Background(), "ws://"+a.Addr()+"/ws", client.Options{Name: "reader",
		OnMessage: func(_ *client.Client, m *wire.ServerMessage) {
			if m.Type == wire.TypeBoard {
				mu.Lock()
				fb = wire.FleetBoard{HasGlobal: m.Fleet.HasGlobal, HasOnline: m.Fleet.HasOnline, Online: m.Fleet.Online, Global: append([]wire.GlobalRow(nil), m.Fleet.Global...)}
				mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitUntil(t, "a board with the fleet's part", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return fb.HasGlobal && fb.HasOnline && fb.Online == 1 && len(fb.Global) >= 4
	})
	// A seat from /join that nobody uses expires, and is counted.
	resp, err = http.Get("http://" + a.Addr() + "/join")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitUntil(t, "the unused seat counted as expired", func() bool {
		return counterValue(t, a, "shatter_fleet_seats_total", `event="expired"`) == 1
	})
}
