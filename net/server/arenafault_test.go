package server_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/server"
	"github.com/shatter/shatter/net/server/servertest"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// syncBuffer is a server log the test reads while the server writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// arenaIDs reads the running arenas' ids from /arenas.
func arenaIDs(t *testing.T, s *server.Server) []int {
	t.Helper()
	var body struct{ Arenas []server.ArenaStatus }
	if err := json.Unmarshal([]byte(get(t, "http://"+s.AdminAddr()+"/arenas")), &body); err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, a := range body.Arenas {
		ids = append(ids, a.ID)
	}
	return ids
}

// TestArenaFaultStaysInItsArena panics a system inside one of two arenas
// of a running server, over real sockets: the two sessions there get
// error internal and close 1011; the session in the other arena gets its
// snaps all along; new players are seated (in a fresh arena when the one
// left is full); the faulted arena's replay log ends with its end line
// and its path is logged; its metric series are gone; the server goes on.
func TestArenaFaultStaysInItsArena(t *testing.T) {
	dir := t.TempDir()
	var logs syncBuffer
	var boom atomic.Int32
	boom.Store(-1)
	s := servertest.Start(t, func(c *server.Config) {
		// Room for a third arena: the directory counts the faulted
		// arena's seats until the next heartbeat, as for any departure.
		c.MaxArenas = 3
		c.Arena.MaxPlayers, c.Arena.MinPopulation = 2, 2
		c.RecordDir = dir
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.Drill = func(arena int, _ uint64) {
			if boom.Load() == int32(arena) {
				panic("drill: a system fails")
			}
		}
	})
	a, welcomeA := join(t, s, "a")
	b, _ := join(t, s, "b")
	other, _ := join(t, s, "other")
	if ids := arenaIDs(t, s); len(ids) != 2 {
		t.Fatalf("arenas %v, want two", ids)
	}
	metrics := get(t, "http://"+s.AdminAddr()+"/metrics")
	if !strings.Contains(metrics, `shatter_tick_seconds_count{arena="0",system="total"}`) {
		t.Fatal("no tick series for arena 0 before the fault")
	}

	// The other arena's session reads its snaps on its own from now on.
	type gapReport struct {
		snaps  int
		maxGap time.Duration
		err    error
	}
	stop := make(chan struct{})
	report := make(chan gapReport, 1)
	go func() {
		var r gapReport
		last := time.Now()
		for {
			select {
			case <-stop:
				report <- r
				return
			default:
			}
			m, err := other.next(2 * time.Second)
			if err != nil {
				r.err = err
				report <- r
				return
			}
			if m.Type == wire.TypeSnap {
				r.snaps++
				r.maxGap = max(r.maxGap, time.Since(last))
				last = time.Now()
			}
		}
	}()

	boom.Store(0)
	for _, c := range []*testClient{a, b} {
		code, errs := c.expectClose(5 * time.Second)
		if code != ws.StatusInternalServerError || len(errs) == 0 || errs[len(errs)-1] != wire.CodeInternal {
			t.Fatalf("a session of the faulted arena: close %d after %v, want 1011 after internal", code, errs)
		}
	}
	// A's token is answered resume_expired (its marble is gone), and it
	// plays on as new where there is room; the next player gets a fresh
	// arena.
	back := dial(t, s.Addr())
	back.send(back.enc.AppendHello(nil, &wire.Hello{Version: wire.Version, Name: "a", Token: welcomeA.Token}))
	if m := back.expect(wire.TypeError, 5*time.Second); m.Error.Code != wire.CodeResumeExpired {
		t.Fatalf("a's token after the fault: error %q, want resume_expired", m.Error.Code)
	}
	back.expect(wire.TypeWelcome, 5*time.Second)
	join(t, s, "e")
	if ids := arenaIDs(t, s); len(ids) != 2 || ids[0] != 1 || ids[1] != 2 {
		t.Fatalf("arenas after the fault %v, want [1 2]", ids)
	}
	time.Sleep(300 * time.Millisecond) // a few more of the other session's snaps
	close(stop)
	r := <-report
	if r.err != nil || r.snaps < 10 || r.maxGap > 500*time.Millisecond {
		t.Fatalf("the other arena's session: %d snaps, longest gap %v, err %v; want snaps all along", r.snaps, r.maxGap, r.err)
	}

	// The faulted arena's replay log was flushed with its end line, and
	// its path logged.
	paths, _ := filepath.Glob(filepath.Join(dir, "arena-0-*"+sim.ReplayExt))
	if len(paths) != 1 {
		t.Fatalf("replay logs of arena 0: %v", paths)
	}
	log, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	rp, err := sim.LoadReplay(bytes.NewReader(log))
	if err != nil {
		t.Fatalf("arena 0's log: %v", err)
	}
	if rp.LastTick == 0 || rp.Cut != "" {
		t.Fatalf("arena 0's log ends at tick %d, cut %q; want its end record", rp.LastTick, rp.Cut)
	}
	out := logs.String()
	for _, want := range []string{"replay=" + paths[0], "stack=", "drill: a system fails"} {
		if !strings.Contains(out, want) {
			t.Errorf("the server's log lacks %q", want)
		}
	}

	// Its metric series are gone; the others' stay; the fault is counted.
	metrics = get(t, "http://"+s.AdminAddr()+"/metrics")
	if strings.Contains(metrics, `arena="0"`) || !strings.Contains(metrics, `arena="1"`) {
		t.Fatal(`after the fault /metrics still has arena="0" series, or lost arena="1"'s`)
	}
	if n := counterValue(t, s, "shatter_panics_total", `where="arena"`); n != 1 {
		t.Fatalf("shatter_panics_total{where=arena} = %v, want 1", n)
	}
	// Counted when each session has ended: once its client's close frame
	// came, or CloseTimeout passed without one.
	waitUntil(t, "two sessions closed for arena_failed", func() bool {
		return counterValue(t, s, "shatter_session_closes_total", `reason="arena_failed"`) == 2
	})
	if got := get(t, "http://"+s.Addr()+"/healthz"); got == "" {
		t.Fatal("no health answer after the fault")
	}
}

// TestRecordDirUnwritable: a recording directory that cannot be made
// keeps no arena from starting: the first and a second one play without
// a replay log, and the failures are counted.
func TestRecordDirUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, func(c *server.Config) {
		c.RecordDir = filepath.Join(file, "replays") // under a file: MkdirAll fails
		c.Arena.MaxPlayers, c.Arena.MinPopulation = 1, 1
	})
	join(t, s, "a")
	join(t, s, "b") // starts arena 1
	if ids := arenaIDs(t, s); len(ids) != 2 {
		t.Fatalf("arenas %v, want two", ids)
	}
	if n := counterValue(t, s, "shatter_replay_failures_total", `reason="create"`); n != 2 {
		t.Fatalf("replay failures (create) = %v, want 2", n)
	}
}
