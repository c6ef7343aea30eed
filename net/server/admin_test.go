package server_test

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"encoding/json"
	"github.com/gobwas/ws/wsutil"
	"github.com/shatter/shatter/net/wire"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/shatter/shatter/net/server"
	"github.com/shatter/shatter/sim"
)

// adminCall makes an admin request with the token (if not empty) as a
// bearer token and returns the status and the body.
func adminCall(t *testing.T, s *server.Server, method, path, token string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.AdminAddr()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("X-Admin-User", "tester")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminRefusesAPublicAddressWithoutAToken(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0"} {
		_, err := server.New(server.Config{Addr: "127.0.0.1:0", AdminAddr: addr, Arena: sim.DefaultConfig(), MaxArenas: 1,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err == nil || !strings.Contains(err.Error(), "admin token") {
			t.Errorf("admin on %s without a token: %v", addr, err)
		}
	}
}

// TestAdminToken: with a token, every admin route (metrics included)
// answers 401 without it or with a wrong one, and serves it as a bearer
// token or as ?token=.
func TestAdminToken(t *testing.T) {
	const token = "s3cret-token"
	s := newTestServer(t, func(c *server.Config) { c.AdminToken = token })
	for _, path := range []string{"/metrics", "/arenas", "/fleet", "/sessions", "/bans", "/debug/pprof/"} {
		for _, bad := range []string{"", "wrong", token + "x"} {
			code, body := adminCall(t, s, "GET", path, bad, nil)
			if code != http.StatusUnauthorized {
				t.Errorf("GET %s with token %q: %d, want 401", path, bad, code)
			}
			var e struct{ Error string }
			if json.Unmarshal([]byte(body), &e) != nil || e.Error != "unauthorized" {
				t.Errorf("GET %s with token %q: body %q", path, bad, body)
			}
		}
		if code, body := adminCall(t, s, "GET", path, token, nil); code != http.StatusOK {
			t.Errorf("GET %s with the token: %d %s", path, code, body)
		}
		if code := getStatus(t, "http://"+s.AdminAddr()+path+"?token="+token); code != http.StatusOK {
			t.Errorf("GET %s?token=: %d", path, code)
		}
	}
	if code, _ := adminCall(t, s, "POST", "/arenas/0/clip", "", nil); code != http.StatusUnauthorized {
		t.Errorf("clip without a token: %d", code)
	}
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// sessions reads GET /sessions.
func sessions(t *testing.T, s *server.Server, token string) []server.SessionStatus {
	t.Helper()
	code, body := adminCall(t, s, "GET", "/sessions", token, nil)
	var out struct{ Sessions []server.SessionStatus }
	if code != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil {
		t.Fatalf("GET /sessions: %d %s", code, body)
	}
	return out.Sessions
}

// TestKick plays a session over a real socket, finds it in /sessions,
// kicks it with a reason, and expects error kicked with that reason, close
// 4004 "kicked", and its token refused at once (resume_expired, a new
// session) even before the kicked client has closed its socket.
func TestKick(t *testing.T) {
	logs := &syncBuffer{}
	s := newTestServer(t, func(c *server.Config) {
		c.Grace = 5 * time.Second
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	c, w := join(t, s, "rascal")
	c.send(c.enc.AppendSpawn(nil))
	for !c.expect(wire.TypeSnap, 3*time.Second).Snap.HasYou {
	}
	var listed *server.SessionStatus
	for _, st := range sessions(t, s, "") {
		if st.ID == w.Session {
			listed = &st
		}
	}
	if listed == nil || listed.Name != "rascal" || !listed.Alive || listed.Mass == 0 || listed.Addr != "127.0.0.1" || listed.SinceMs < 0 {
		t.Fatalf("GET /sessions lists %+v for session %d", listed, w.Session)
	}

	if code, body := adminCall(t, s, "POST", fmt.Sprintf("/sessions/%d/kick?reason=%s", w.Session, url.QueryEscape("no teaming, please")), "", nil); code != http.StatusOK || !strings.Contains(body, `"ok":true`) {
		t.Fatalf("kick: %d %s", code, body)
	}
	var kickMsg string
	deadline := time.Now().Add(3 * time.Second)
	for {
		m, err := c.next(time.Until(deadline))
		var closed wsutil.ClosedError
		if errors.As(err, &closed) {
			if closed.Code != wire.CloseKicked || closed.Reason != wire.KickedReason {
				t.Fatalf("closed with %d %q, want 4004 kicked", closed.Code, closed.Reason)
			}
			break
		}
		if err != nil {
			t.Fatalf("waiting for the kick: %v", err)
		}
		if m.Type == wire.TypeError {
			if m.Error.Code != wire.CodeKicked {
				t.Fatalf("error %s before the kick's", m.Error.Code)
			}
			kickMsg = m.Error.Msg
		}
	}
	if kickMsg != "no teaming, please" {
		t.Fatalf("error kicked said %q", kickMsg)
	}

	c2 := dial(t, s.Addr())
	c2.send(c2.enc.AppendHello(nil, &wire.Hello{Version: 1, Name: "rascal", Token: w.Token}))
	m := c2.expect(wire.TypeError, 3*time.Second)
	if m.Error.Code != wire.CodeResumeExpired {
		t.Fatalf("resume after a kick: error %s, want resume_expired", m.Error.Code)
	}
	if w2 := c2.expect(wire.TypeWelcome, 3*time.Second).Welcome; w2.Session == w.Session {
		t.Fatalf("resume after a kick got the kicked session %d back", w.Session)
	}
	for _, st := range sessions(t, s, "") {
		if st.ID == w.Session {
			t.Fatalf("the kicked session is still listed: %+v", st)
		}
	}
	if !strings.Contains(logs.String(), "admin: session kicked") || !strings.Contains(logs.String(), `tester`) {
		t.Errorf("the kick is not logged with who made it:\n%s", logs.String())
	}
	c.conn.Close()
	for counterValue(t, s, "shatter_session_closes_total", `reason="kicked"`) != 1 {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal("no close counted with reason kicked")
		}
		time.Sleep(10 * time.Millisecond)
	}

	for path, want := range map[string]int{
		fmt.Sprintf("/sessions/%d/kick", w.Session):           http.StatusNotFound, // already gone
		"/sessions/x/kick":                                    http.StatusBadRequest,
		"/sessions/1/kick?reason=" + strings.Repeat("x", 201): http.StatusBadRequest,
	} {
		if code, body := adminCall(t, s, "POST", path, "", nil); code != want || !strings.Contains(body, `"error"`) {
			t.Errorf("POST %s: %d %s, want %d", path, code, body, want)
		}
	}
	if code, _ := adminCall(t, s, "GET", "/sessions/1/kick", "", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET of a kick: %d, want 405", code)
	}
}
