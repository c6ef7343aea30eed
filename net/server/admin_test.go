package server_test

import (
	"encoding/json"
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
	for _, path := range []string{"/metrics", "/arenas", "/fleet", "/debug/pprof/"} {
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
