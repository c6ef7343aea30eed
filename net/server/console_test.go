package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shatter/shatter/net/server"
	"github.com/shatter/shatter/net/server/servertest"
	"github.com/shatter/shatter/sim"
)

// streamMsg is the part of an /events message the tests read.
type streamMsg struct {
	Self  string `json:"self"`
	Nodes []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"nodes"`
	Arenas []struct {
		ID       int     `json:"id"`
		Tick     uint64  `json:"tick"`
		TickP99  float64 `json:"tick_p99_ms"`
		Sessions int     `json:"sessions"`
	} `json:"arenas"`
	BytesOut float64 `json:"bytes_out"`
	Events   []struct {
		At   string `json:"at"`
		Kind string `json:"kind"`
		Text string `json:"text"`
	} `json:"events"`
}

// eventStream is an open GET /events.
type eventStream struct {
	resp *http.Response
	r    *bufio.Reader
	stop context.CancelFunc
}

func openEvents(t *testing.T, admin string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		resp.Body.Close()
		t.Fatalf("GET /events: %s, %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	es := &eventStream{resp: resp, r: bufio.NewReader(resp.Body), stop: cancel}
	t.Cleanup(es.close)
	return es
}

func (es *eventStream) close() { es.stop(); es.resp.Body.Close() }

// next reads the next message (a "data:" line and a blank line), within
// a bound far above the one-second period.
func (es *eventStream) next(t *testing.T) streamMsg {
	t.Helper()
	type result struct {
		m   streamMsg
		err error
	}
	done := make(chan result, 1)
	go func() {
		var res result
		line, err := es.r.ReadString('\n')
		if err == nil && !strings.HasPrefix(line, "data: ") {
			err = io.ErrUnexpectedEOF
		}
		if err == nil {
			res.err = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &res.m)
			var blank string
			if blank, err = es.r.ReadString('\n'); err == nil && blank != "\n" {
				err = io.ErrUnexpectedEOF
			}
		}
		if err != nil {
			res.err = err
		}
		done <- res
	}()
	select {
	case res := <-done:
		if res.err != nil {
			t.Fatalf("reading /events: %v", res.err)
		}
		return res.m
	case <-time.After(10 * time.Second):
		es.close()
		t.Fatal("no /events message in 10 s")
	}
	return streamMsg{}
}

// waitEvent reads messages until one carries an event of kind whose text
// contains text.
func (es *eventStream) waitEvent(t *testing.T, kind, text string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, ev := range es.next(t).Events {
			if ev.Kind == kind && strings.Contains(ev.Text, text) {
				if _, err := time.Parse(time.RFC3339, ev.At); err != nil {
					t.Fatalf("event time %q: %v", ev.At, err)
				}
				return
			}
		}
	}
	t.Fatalf("no %s event about %q in 15 s", kind, text)
}

// TestEventsStream reads the console's stream on a node of a two-node
// fleet: the first message has the fleet, the node's arena and the whole
// event log (the arena's start among it), the arena's figures move
// between messages, and the other node leaving shows as an event.
func TestEventsStream(t *testing.T) {
	a, b := twoNodes(t)
	es := openEvents(t, a.AdminAddr())
	first := es.next(t)
	if first.Self != "a" || len(first.Arenas) != 1 || first.Arenas[0].ID != 0 {
		t.Fatalf("first message: %+v", first)
	}
	started := false
	for _, ev := range first.Events {
		started = started || (ev.Kind == "arena_started" && ev.Text == "arena 0 started")
	}
	if !started {
		t.Fatalf("the first message's events lack arena 0's start: %+v", first.Events)
	}
	second := es.next(t)
	if second.Arenas[0].Tick <= first.Arenas[0].Tick {
		t.Fatalf("arena tick %d then %d: the figures do not move", first.Arenas[0].Tick, second.Arenas[0].Tick)
	}
	for _, ev := range second.Events {
		if ev.Kind == "arena_started" {
			t.Fatalf("the second message repeats an event already sent: %+v", second.Events)
		}
	}
	ids := map[string]bool{}
	for _, n := range second.Nodes {
		ids[n.ID] = true
	}
	if !ids["a"] || !ids["b"] {
		t.Fatalf("nodes %+v; want a and b", second.Nodes)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	es.waitEvent(t, "node_left", "node b left")
}

// TestEventsStreamsBounded: at most 32 streams at once, more get 503;
// a client that goes away frees its slot, so its handler has returned.
func TestEventsStreamsBounded(t *testing.T) {
	s := servertest.Start(t, nil)
	var streams []*eventStream
	for range 32 {
		streams = append(streams, openEvents(t, s.AdminAddr()))
	}
	resp, err := http.Get("http://" + s.AdminAddr() + "/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("33rd stream: %s; want 503", resp.Status)
	}
	streams[0].close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + s.AdminAddr() + "/events")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a stream whose client went away still holds its slot after 5 s: %s", resp.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEventsStreamEndsAtShutdown: an open stream does not hold Shutdown
// up; it ends.
func TestEventsStreamEndsAtShutdown(t *testing.T) {
	s, err := server.New(server.Config{Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", WebDir: t.TempDir(),
		Arena: sim.DefaultConfig(), Seed: 1, MaxArenas: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s.Serve()
	es := openEvents(t, s.AdminAddr())
	es.next(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("shutdown took %v with a stream open", took)
	}
	ended := make(chan error, 1)
	go func() { _, err := io.ReadAll(es.r); ended <- err }()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream is still open after shutdown")
	}
}

// TestConsolePage: the admin listener serves the built console at "/",
// and says how to build it when it is missing.
func TestConsolePage(t *testing.T) {
	web := t.TempDir()
	s := servertest.Start(t, func(c *server.Config) { c.WebDir = web })
	if body := get(t, "http://"+s.AdminAddr()+"/"); !strings.Contains(body, "make web") {
		t.Fatalf("without a built console: %q", body)
	}
	if err := os.MkdirAll(filepath.Join(web, "console"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(web, "console", "index.html"), []byte("<title>Shatter console</title>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(web, "console", "console.js"), []byte("// console"), 0o644); err != nil {
		t.Fatal(err)
	}
	if body := get(t, "http://"+s.AdminAddr()+"/"); !strings.Contains(body, "Shatter console") {
		t.Fatalf("console page: %q", body)
	}
	if body := get(t, "http://"+s.AdminAddr()+"/console/console.js"); body != "// console" {
		t.Fatalf("console script: %q", body)
	}
	// Paths the console does not serve keep the mux's answers.
	for path, want := range map[string]int{"/nothing": http.StatusNotFound, "/console/missing.js": http.StatusNotFound} {
		resp, err := http.Get("http://" + s.AdminAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %s, want %d", path, resp.Status, want)
		}
	}
	resp, err := http.Post("http://"+s.AdminAddr()+"/", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("POST /: %s", resp.Status)
	}
}

// TestEventsArenaFailedAndStarted: an arena stopped by a fault, and the
// fresh arena that a new player then gets, show as events on an open
// stream as they happen.
func TestEventsArenaFailedAndStarted(t *testing.T) {
	var boom atomic.Bool
	s := servertest.Start(t, func(c *server.Config) {
		c.MaxArenas = 2
		c.Drill = func(arena int, _ uint64) {
			if arena == 0 && boom.Load() {
				panic("console test: drill")
			}
		}
	})
	es := openEvents(t, s.AdminAddr())
	es.next(t)
	boom.Store(true)
	es.waitEvent(t, "arena_failed", "arena 0 stopped by a fault")
	join(t, s, "Fresh") // closed when the test ends
	es.waitEvent(t, "arena_started", "arena 1 started")
}

// TestEventsStreamOutlivesHTTPTimeouts: a stream goes on past the admin
// listener's request and write timeouts, which bound ordinary requests.
func TestEventsStreamOutlivesHTTPTimeouts(t *testing.T) {
	s := servertest.Start(t, func(c *server.Config) {
		c.HTTP.RequestTimeout, c.HTTP.WriteTimeout = 500*time.Millisecond, 500*time.Millisecond
	})
	es := openEvents(t, s.AdminAddr())
	first := es.next(t)
	var last streamMsg
	for range 3 {
		last = es.next(t)
	}
	if last.Arenas[0].Tick <= first.Arenas[0].Tick {
		t.Fatalf("tick %d then %d", first.Arenas[0].Tick, last.Arenas[0].Tick)
	}
}

// TestActionsShowAsEvents: an operator's action reaches the console's
// stream as an event saying what and who.
func TestActionsShowAsEvents(t *testing.T) {
	s := newTestServer(t, nil)
	es := openEvents(t, s.AdminAddr())
	defer es.close()
	es.next(t)
	if code, out := adminCall(t, s, "POST", "/bans", "", strings.NewReader(`{"prefix":"203.0.113.0/24","minutes":5,"reason":"flood"}`)); code != http.StatusOK {
		t.Fatalf("POST /bans: %d %s", code, out)
	}
	es.waitEvent(t, "action", "banned by")
}
