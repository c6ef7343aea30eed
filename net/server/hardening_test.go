package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/server"
	"github.com/shatter/shatter/net/wire"
)

// shortHTTP are HTTP limits short enough for tests to run into them.
var shortHTTP = server.HTTPLimits{
	HeaderTimeout:  300 * time.Millisecond,
	RequestTimeout: 600 * time.Millisecond,
	WriteTimeout:   500 * time.Millisecond,
	IdleTimeout:    400 * time.Millisecond,
	MaxHeaderBytes: 4 << 10,
}

// dialTCP opens a plain TCP connection, closed when the test ends.
func dialTCP(t *testing.T, addr string, rcvBuf int) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if rcvBuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvBuf)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reads c until the server closes it (EOF or a reset),
// failing if that takes longer than limit; it returns what was read and
// how long the close took.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) ([]byte, time.Duration) {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	got, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v (read %q)", limit, got)
	}
	return got, time.Since(start)
}

// TestHTTPTimeouts runs into each HTTP bound over real sockets: a slow
// header, a slow body, an idle keep-alive (on both listeners), a response
// nobody reads, and an oversized header.
func TestHTTPTimeouts(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<!doctype html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	const bigSize = 32 << 20
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), make([]byte, bigSize), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, func(c *server.Config) { c.HTTP, c.WebDir = shortHTTP, dir })

	t.Run("slow header", func(t *testing.T) {
		c := dialTCP(t, s.Addr(), 0)
		fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
		stop := make(chan struct{})
		defer close(stop)
		go func() { // a header line every 100 ms: never finished
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := fmt.Fprintf(c, "X-Slow-%d: 1\r\n", i); err != nil {
					return
				}
			}
		}()
		got, took := closedWithin(t, c, 3*time.Second)
		if strings.Contains(string(got), "200 OK") {
			t.Fatalf("a request whose headers never ended was answered: %q", got)
		}
		if took < 200*time.Millisecond {
			t.Fatalf("closed after %v, before the header timeout", took)
		}
	})

	t.Run("slow body", func(t *testing.T) {
		c := dialTCP(t, s.Addr(), 0)
		fmt.Fprint(c, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
		stop := make(chan struct{})
		defer close(stop)
		go func() { // a byte of body every 100 ms: 100 s for all of it
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := c.Write([]byte{'x'}); err != nil {
					return
				}
			}
		}()
		_, took := closedWithin(t, c, 3*time.Second)
		if took < 400*time.Millisecond {
			t.Fatalf("closed after %v, before the request timeout", took)
		}
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		for name, addr := range map[string]string{"public": s.Addr(), "admin": s.AdminAddr()} {
			c := dialTCP(t, addr, 0)
			br := bufio.NewReader(c)
			fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.Close {
				t.Fatalf("%s: the server did not keep the connection alive", name)
			}
			start := time.Now()
			_ = c.SetReadDeadline(start.Add(3 * time.Second))
			_, err = br.ReadByte()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("%s: idle keep-alive still open after 3 s", name)
			}
			if took := time.Since(start); took < 300*time.Millisecond {
				t.Fatalf("%s: idle keep-alive closed after %v, before the idle timeout", name, took)
			}
		}
	})

	t.Run("unread download", func(t *testing.T) {
		c := dialTCP(t, s.Addr(), 4<<10)
		fmt.Fprint(c, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
		// Read nothing for longer than the write timeout, then everything.
		time.Sleep(shortHTTP.WriteTimeout + time.Second)
		got, _ := closedWithin(t, c, 5*time.Second)
		if len(got) >= bigSize {
			t.Fatalf("a client that did not read for %v still got all %d bytes", shortHTTP.WriteTimeout+time.Second, len(got))
		}
	})

	t.Run("oversized header", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+s.Addr()+"/healthz", nil)
		req.Header.Set("X-Big", strings.Repeat("a", 32<<10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("a 32 KiB header: %s, want 431", resp.Status)
		}
	})
}

// TestWebSocketOutlivesHTTPTimeouts plays for several times every HTTP
// bound: the upgrade hands the connection to the session with its
// deadlines cleared, so none of them cuts a game.
func TestWebSocketOutlivesHTTPTimeouts(t *testing.T) {
	short := server.HTTPLimits{HeaderTimeout: 150 * time.Millisecond, RequestTimeout: 150 * time.Millisecond,
		WriteTimeout: 150 * time.Millisecond, IdleTimeout: 150 * time.Millisecond}
	s := newTestServer(t, func(c *server.Config) { c.HTTP = short })
	c, _ := join(t, s, "steady")
	c.send(c.enc.AppendSpawn(nil))
	start, snaps := time.Now(), 0
	for time.Since(start) < 1500*time.Millisecond {
		if snaps%5 == 0 {
			c.input(1, false)
		}
		m, err := c.next(time.Second)
		if err != nil {
			t.Fatalf("after %v of play (HTTP bounds of 150 ms): %v", time.Since(start), err)
		}
		if m.Type == wire.TypeSnap {
			snaps++
		}
	}
	if snaps < 15 {
		t.Fatalf("%d snaps in 1.5 s, want about 45", snaps)
	}
}

// TestLongAdminResponsesOutliveWriteTimeout asks for a CPU profile and an
// execution trace longer than the write timeout: each extends its own
// write deadline to the write timeout plus its seconds (net/http/pprof
// does so itself in the Go this module requires; a read deadline does not
// cut it either, since net/http clears it while a handler runs) and
// arrives whole.
func TestLongAdminResponsesOutliveWriteTimeout(t *testing.T) {
	short := shortHTTP
	short.WriteTimeout, short.RequestTimeout = 200*time.Millisecond, 200*time.Millisecond
	s := newTestServer(t, func(c *server.Config) { c.HTTP = short })
	for _, path := range []string{"/debug/pprof/profile?seconds=1", "/debug/pprof/trace?seconds=1"} {
		resp, err := http.Get("http://" + s.AdminAddr() + path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Fatalf("%s: %s, %d bytes, err %v", path, resp.Status, len(body), err)
		}
	}
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(fds)
}

// TestFailedUpgradeClosesConnection sends requests to /ws that are not
// WebSocket handshakes: each is answered 400 and its connection closed
// at once, and 200 of them leave no descriptor behind.
func TestFailedUpgradeClosesConnection(t *testing.T) {
	s := newTestServer(t, nil)
	attempt := func() (status string, took time.Duration) {
		c, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprint(c, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
		got, took := closedWithin(t, c, 2*time.Second)
		status, _, _ = strings.Cut(string(got), "\r\n")
		return status, took
	}
	if status, took := attempt(); status != "HTTP/1.1 400 Bad Request" || took > time.Second {
		t.Fatalf("a plain GET /ws: %q, closed after %v; want 400, then EOF at once", status, took)
	}
	time.Sleep(100 * time.Millisecond)
	before := openFDs(t)
	for range 200 {
		if status, _ := attempt(); !strings.Contains(status, " 400 ") {
			t.Fatalf("a plain GET /ws: %q, want 400", status)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if after := openFDs(t); after > before+10 {
		t.Fatalf("open descriptors grew from %d to %d over 200 failed upgrades", before, after)
	}
	if n := counterValue(t, s, "shatter_session_closes_total", `reason="bad_upgrade"`); n != 201 {
		t.Fatalf("bad_upgrade counted %v times, want 201", n)
	}
}

// dialFrom opens a WebSocket with the given X-Forwarded-For and Origin
// headers ("" for none); it returns the HTTP status of a refused upgrade,
// 101 for an open connection (closed when the test ends).
func dialFrom(t *testing.T, s *server.Server, forwarded, origin string) int {
	t.Helper()
	h := http.Header{}
	if forwarded != "" {
		h.Set("X-Forwarded-For", forwarded)
	}
	if origin != "" {
		h.Set("Origin", origin)
	}
	d := ws.Dialer{Timeout: 5 * time.Second, Header: ws.HandshakeHeaderHTTP(h)}
	conn, _, _, err := d.Dial(context.Background(), "ws://"+s.Addr()+"/ws")
	var status ws.StatusError
	switch {
	case errors.As(err, &status):
		return int(status)
	case err != nil:
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return http.StatusSwitchingProtocols
}

// waitCloses waits until the server counts n session closes for reason.
func waitCloses(t *testing.T, s *server.Server, reason string, n float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for counterValue(t, s, "shatter_session_closes_total", `reason="`+reason+`"`) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not count %v %s closes", n, reason)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The session's end gives its connection's place back after counting
	// the close.
	time.Sleep(100 * time.Millisecond)
}

// playThenDrop joins, spawns, waits for the marble and drops the
// connection without a close frame; it returns the welcome.
func playThenDrop(t *testing.T, s *server.Server, name string) wire.Welcome {
	t.Helper()
	c, w := join(t, s, name)
	c.send(c.enc.AppendSpawn(nil))
	for !c.expect(wire.TypeSnap, 3*time.Second).Snap.HasYou {
	}
	c.conn.Close()
	return w
}

// TestPerAddressLimitCountsDetachedSeats: a player that drops keeps its
// seat for the resume grace, and the seat counts against its address
// until it is resumed or released.
func TestPerAddressLimitCountsDetachedSeats(t *testing.T) {
	t.Run("until released", func(t *testing.T) {
		s := newTestServer(t, func(c *server.Config) { c.MaxConnsPerIP, c.Grace = 2, 3*time.Second })
		playThenDrop(t, s, "dropper")
		waitCloses(t, s, "client_closed", 1)
		join(t, s, "second")
		if got := dialFrom(t, s, "", ""); got != http.StatusServiceUnavailable {
			t.Fatalf("third connection beside a detached seat: %d, want 503", got)
		}
		// The grace period releases the seat, and its place.
		deadline := time.Now().Add(8 * time.Second)
		for dialFrom(t, s, "", "") != http.StatusSwitchingProtocols {
			if time.Now().After(deadline) {
				t.Fatal("the released seat's place was not given back")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	t.Run("until resumed", func(t *testing.T) {
		s := newTestServer(t, func(c *server.Config) { c.MaxConnsPerIP = 2 })
		w := playThenDrop(t, s, "dropper")
		waitCloses(t, s, "client_closed", 1)
		// The resume needs a second place for a moment (the seat and the
		// new connection), then gives the seat's back.
		c := dial(t, s.Addr())
		c.send(c.enc.AppendHello(nil, &wire.Hello{Version: 1, Name: "dropper", Token: w.Token}))
		if got := c.expect(wire.TypeWelcome, 3*time.Second).Welcome; got.Session != w.Session {
			t.Fatalf("resumed session %d, want %d", got.Session, w.Session)
		}
		join(t, s, "second")
		if got := dialFrom(t, s, "", ""); got != http.StatusServiceUnavailable {
			t.Fatalf("third connection: %d, want 503", got)
		}
	})
}

// TestPerAddressLimitCountsJoinReservations: each /join reservation
// counts against its address until it expires.
func TestPerAddressLimitCountsJoinReservations(t *testing.T) {
	s := newTestServer(t, func(c *server.Config) {
		c.MaxConnsPerIP, c.Fleet.SeatTTL = 2, 2*time.Second
	})
	for i := range 2 {
		if status, body, _ := getJoin(t, s, ""); status != http.StatusOK {
			t.Fatalf("/join %d: %d %v", i+1, status, body)
		}
	}
	if status, body, _ := getJoin(t, s, ""); status != http.StatusTooManyRequests || body["error"] != "max_conns_per_ip" {
		t.Fatalf("third /join: %d %v, want 429 max_conns_per_ip", status, body)
	}
	if got := dialFrom(t, s, "", ""); got != http.StatusServiceUnavailable {
		t.Fatalf("a connection beside two reservations: %d, want 503", got)
	}
	// The reservations expire, and give their places back.
	deadline := time.Now().Add(8 * time.Second)
	for dialFrom(t, s, "", "") != http.StatusSwitchingProtocols {
		if time.Now().After(deadline) {
			t.Fatal("the expired reservations' places were not given back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPerAddressLimitBehindTrustedProxy: behind a trusted proxy the
// client is the header's rightmost untrusted address, IPv6 clients are
// counted by /64; from an untrusted peer the header is ignored.
func TestPerAddressLimitBehindTrustedProxy(t *testing.T) {
	s := newTestServer(t, func(c *server.Config) {
		c.MaxConnsPerIP = 1
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	for _, tt := range []struct {
		forwarded string
		want      int
	}{
		{"198.51.100.1", 101},
		{"198.51.100.2", 101},
		{"203.0.113.9, 198.51.100.1", 503}, // what the client wrote itself does not count
		{"198.51.100.3, 127.0.0.2", 101},   // our own proxies are skipped
		{"2001:db8:1:2::1", 101},
		{"2001:db8:1:2::ffff", 503}, // the same /64
		{"2001:db8:1:3::1", 101},    // another /64
		{"", 101},                   // the proxy itself
		{"127.0.0.1", 503},          // every entry trusted: the leftmost, here the proxy's own address
	} {
		if got := dialFrom(t, s, tt.forwarded, ""); got != tt.want {
			t.Errorf("X-Forwarded-For %q: %d, want %d", tt.forwarded, got, tt.want)
		}
	}

	untrusting := newTestServer(t, func(c *server.Config) { c.MaxConnsPerIP = 1 })
	if got := dialFrom(t, untrusting, "198.51.100.1", ""); got != 101 {
		t.Fatalf("first connection: %d", got)
	}
	if got := dialFrom(t, untrusting, "198.51.100.2", ""); got != 503 {
		t.Fatalf("a header from an untrusted peer was believed: %d, want 503", got)
	}
}

// getJoin calls GET /join with an X-Forwarded-For header ("" for none);
// it returns the status, the JSON body and Retry-After.
func getJoin(t *testing.T, s *server.Server, forwarded string) (int, map[string]string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.Addr()+"/join", nil)
	if forwarded != "" {
		req.Header.Set("X-Forwarded-For", forwarded)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("/join answered %s with a body that is not JSON: %v", resp.Status, err)
	}
	retry := resp.Header.Get("Retry-After")
	if resp.StatusCode == http.StatusTooManyRequests && retry == "" {
		t.Fatal("429 without Retry-After")
	}
	return resp.StatusCode, body, retry
}

// TestJoinRateLimit: /join takes a burst of 5 from one address, then
// answers 429 with Retry-After, while other addresses go on. (The refill
// is TestJoinLimiterIsBounded's, on a clock of its own; here it is slow,
// so that a slow machine cannot refill the bucket during the burst.)
func TestJoinRateLimit(t *testing.T) {
	s := newTestServer(t, func(c *server.Config) {
		c.MaxConnsPerIP = -1 // reservations are not what this test counts
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		c.JoinRate = server.JoinRate{PerSecond: 0.1, Burst: 5}
	})
	for i := range 5 {
		if status, body, _ := getJoin(t, s, ""); status != http.StatusOK || body["seat"] == "" {
			t.Fatalf("/join %d: %d %v", i+1, status, body)
		}
	}
	status, body, retry := getJoin(t, s, "")
	if wait, err := strconv.Atoi(retry); status != http.StatusTooManyRequests || body["error"] != "rate_limited" || err != nil || wait < 5 || wait > 10 {
		t.Fatalf("6th /join: %d %v, Retry-After %q; want 429 rate_limited, about 10 (s, at 0.1 a second)", status, body, retry)
	}
	if status, body, _ := getJoin(t, s, "198.51.100.1"); status != http.StatusOK {
		t.Fatalf("/join from another address: %d %v", status, body)
	}
	if n := counterValue(t, s, "shatter_session_closes_total", `reason="join_rate_limited"`); n != 1 {
		t.Fatalf("join_rate_limited counted %v times, want 1", n)
	}
}

// TestOriginAllowlist: with -allowed-origins, a browser page of another
// origin is refused before the upgrade; listed origins (in any case) and
// clients that send no Origin pass.
func TestOriginAllowlist(t *testing.T) {
	s := newTestServer(t, func(c *server.Config) { c.AllowedOrigins = []string{"https://play.example.com"} })
	for _, tt := range []struct {
		origin string
		want   int
	}{
		{"https://evil.example", 403},
		{"null", 403},
		{"https://play.example.com.evil.example", 403},
		{"http://play.example.com", 403},
		{"https://play.example.com", 101},
		{"https://Play.Example.com", 101},
		{"", 101},
	} {
		if got := dialFrom(t, s, "", tt.origin); got != tt.want {
			t.Errorf("Origin %q: %d, want %d", tt.origin, got, tt.want)
		}
	}
	if n := counterValue(t, s, "shatter_session_closes_total", `reason="origin"`); n != 4 {
		t.Fatalf("origin refusals counted %v times, want 4", n)
	}
	open := newTestServer(t, nil)
	if got := dialFrom(t, open, "", "https://evil.example"); got != 101 {
		t.Fatalf("without an allowlist, a foreign origin got %d, want 101", got)
	}
}
