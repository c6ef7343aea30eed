package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/net/fleet/redistest"
	"github.com/shatter/shatter/net/server"
	"github.com/shatter/shatter/net/server/servertest"
)

// redisNodes runs two servers in this process sharing a directory in a
// real redis-server, with 100 ms heartbeats.
func redisNodes(t *testing.T, mutate func(*server.Config)) (a, b *server.Server, srv *redistest.Server) {
	t.Helper()
	srv = redistest.Start(t)
	mk := func(id string) *server.Server {
		dir, err := fleet.NewRedis(fleet.RedisOptions{URL: srv.URL(), Prefix: t.Name(), Timeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		s := servertest.Start(t, func(c *server.Config) {
			c.Fleet.Directory, c.Fleet.Node, c.Fleet.Shared = dir, id, true
			c.Fleet.Heartbeat = 100 * time.Millisecond
			c.Fleet.CallTimeout = 200 * time.Millisecond
			if mutate != nil {
				mutate(c)
			}
		})
		t.Cleanup(func() { dir.Close() }) // after the server's shutdown (cleanups run last first)
		return s
	}
	a, b = mk("a"), mk("b")
	waitUntil(t, "both nodes in the directory", func() bool {
		nodes, err := a.Lobby().Nodes(context.Background())
		return err == nil && len(nodes) == 2
	})
	return a, b, srv
}

// from returns an HTTP client and a WebSocket dialer whose connections
// come from the loopback address ip (127.0.0.2 and up are all loopback).
func from(ip string) (*http.Client, ws.Dialer) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 2 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 3 * time.Second},
		ws.Dialer{NetDial: d.DialContext, Timeout: 2 * time.Second}
}

// upgradeStatus dials a node's WebSocket with dialer and returns the
// HTTP status that refused it, or 101 if it was upgraded.
func upgradeStatus(t *testing.T, s *server.Server, dialer ws.Dialer) int {
	t.Helper()
	conn, _, _, err := dialer.Dial(context.Background(), "ws://"+s.Addr()+"/ws")
	var se ws.StatusError
	switch {
	case err == nil:
		conn.Close()
		return http.StatusSwitchingProtocols
	case errors.As(err, &se):
		return int(se)
	}
	t.Fatalf("dial: %v", err)
	return 0
}

func joinStatus(t *testing.T, s *server.Server, c *http.Client) int {
	t.Helper()
	resp, err := c.Get("http://" + s.Addr() + "/join")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

type banList struct {
	Bans  []fleet.Ban
	Stale bool
}

func listBans(t *testing.T, s *server.Server) banList {
	t.Helper()
	code, body := adminCall(t, s, "GET", "/bans", "", nil)
	var out banList
	if code != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil {
		t.Fatalf("GET /bans: %d %s", code, body)
	}
	return out
}

// TestBanFleetWide bans 127.0.0.2 on node a of a two-node fleet on a real
// redis-server: both nodes refuse its upgrades and /join with 403 (b
// within a heartbeat), while 127.0.0.1 plays on; GET /bans lists the ban
// on both; when Redis freezes, b keeps the ban it read; DELETE lifts it
// fleet-wide, and a short ban lapses by itself.
func TestBanFleetWide(t *testing.T) {
	a, b, srv := redisNodes(t, nil)
	banned, bannedWS := from("127.0.0.2")
	other, otherWS := from("127.0.0.3")
	for _, s := range []*server.Server{a, b} {
		if got := upgradeStatus(t, s, bannedWS); got != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade before the ban: %d", got)
		}
	}

	code, body := adminCall(t, a, "POST", "/bans", "", strings.NewReader(`{"prefix":"127.0.0.2","minutes":10,"reason":"flooding"}`))
	if code != http.StatusOK || !strings.Contains(body, `"prefix":"127.0.0.2/32"`) {
		t.Fatalf("POST /bans: %d %s", code, body)
	}
	// In force on a at once, on b within its next refresh.
	if got := upgradeStatus(t, a, bannedWS); got != http.StatusForbidden {
		t.Errorf("a's upgrade of a banned address: %d, want 403", got)
	}
	waitUntil(t, "b refusing the banned address", func() bool { return upgradeStatus(t, b, bannedWS) == http.StatusForbidden })
	for _, s := range []*server.Server{a, b} {
		if got := joinStatus(t, s, banned); got != http.StatusForbidden {
			t.Errorf("/join of a banned address: %d, want 403", got)
		}
		if got := upgradeStatus(t, s, otherWS); got != http.StatusSwitchingProtocols {
			t.Errorf("upgrade of another address: %d, want 101", got)
		}
		if got := joinStatus(t, s, other); got != http.StatusOK {
			t.Errorf("/join of another address: %d, want 200", got)
		}
		l := listBans(t, s)
		if len(l.Bans) != 1 || l.Bans[0].Prefix != "127.0.0.2/32" || l.Bans[0].Reason != "flooding" ||
			!strings.Contains(l.Bans[0].By, "tester") || time.Until(l.Bans[0].Until) < 9*time.Minute || l.Stale {
			t.Errorf("GET /bans: %+v", l)
		}
	}
	if got := counterValue(t, a, "shatter_session_closes_total", `reason="banned"`); got < 2 {
		t.Errorf("refusals of a banned address counted on a: %v, want 2 or more", got)
	}

	// A frozen Redis: b keeps the bans it read, and says they may be stale.
	srv.Freeze()
	time.Sleep(300 * time.Millisecond) // a few refreshes fail
	if got := upgradeStatus(t, b, bannedWS); got != http.StatusForbidden {
		t.Errorf("b's upgrade of a banned address with Redis frozen: %d, want 403", got)
	}
	if l := listBans(t, b); len(l.Bans) != 1 || !l.Stale {
		t.Errorf("GET /bans with Redis frozen: %+v, want the last ban read, stale", l)
	}
	srv.Thaw()

	code, body = adminCall(t, b, "DELETE", "/bans/"+url.PathEscape("127.0.0.2/32"), "", nil)
	if code != http.StatusOK {
		t.Fatalf("DELETE /bans: %d %s", code, body)
	}
	waitUntil(t, "a letting the address in again", func() bool { return upgradeStatus(t, a, bannedWS) == http.StatusSwitchingProtocols })
	if code, _ := adminCall(t, a, "DELETE", "/bans/127.0.0.2", "", nil); code != http.StatusNotFound {
		t.Errorf("DELETE of a lifted ban: %d, want 404", code)
	}

	// A ban of a prefix, for 0.3 s: 127.0.0.0/30 covers 127.0.0.2 and .3.
	if code, body := adminCall(t, a, "POST", "/bans", "", strings.NewReader(`{"prefix":"127.0.0.0/30","minutes":0.005}`)); code != http.StatusOK {
		t.Fatalf("POST /bans of a prefix: %d %s", code, body)
	}
	if upgradeStatus(t, a, otherWS) != http.StatusForbidden || joinStatus(t, a, banned) != http.StatusForbidden {
		t.Error("a prefix ban does not cover its addresses")
	}
	waitUntil(t, "the short ban lapsing", func() bool { return upgradeStatus(t, a, otherWS) == http.StatusSwitchingProtocols })
}

// TestBanRefusals: bad ban requests get 400 with a JSON error.
func TestBanRefusals(t *testing.T) {
	s := newTestServer(t, nil)
	for _, body := range []string{
		``, `{`, `{"prefix":"127.0.0.2"}`, `{"prefix":"127.0.0.2","minutes":-1}`,
		`{"prefix":"127.0.0.2","minutes":1e9}`, `{"prefix":"localhost","minutes":1}`,
		`{"prefix":"10.0.0.0/33","minutes":1}`, `{"prefix":"10.0.0.1","minutes":1,"extra":1}`,
		`{"prefix":"10.0.0.1","minutes":1,"reason":"` + strings.Repeat("x", 201) + `"}`,
	} {
		if code, out := adminCall(t, s, "POST", "/bans", "", strings.NewReader(body)); code != http.StatusBadRequest || !strings.Contains(out, `"error"`) {
			t.Errorf("POST /bans %.40q: %d %s, want 400", body, code, out)
		}
	}
	if code, _ := adminCall(t, s, "DELETE", "/bans/not-an-address", "", nil); code != http.StatusBadRequest {
		t.Errorf("DELETE of a bad prefix: %d, want 400", code)
	}
	// An IPv6 prefix is kept in canonical form.
	if code, out := adminCall(t, s, "POST", "/bans", "", strings.NewReader(`{"prefix":"2001:db8:0:0:1::/64","minutes":1}`)); code != http.StatusOK || !strings.Contains(out, `"2001:db8::/64"`) {
		t.Errorf("POST /bans of an IPv6 prefix: %d %s", code, out)
	}
}
