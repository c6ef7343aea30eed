package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shatter/shatter/net/bot"
	"github.com/shatter/shatter/net/hostile"
	"github.com/shatter/shatter/net/server"
	"github.com/shatter/shatter/net/server/servertest"
)

// hostileBounds are the server's limits in TestHostileTraffic, shortened
// so that every attack's expected end comes within a few seconds. Slack
// is generous: the race detector and other tests share two cores.
var hostileBounds = hostile.Bounds{
	HeaderTimeout: time.Second, RequestTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
	IdleTimeout: 2 * time.Second, MaxHeaderBytes: 8 << 10,
	SessionIdle: 2 * time.Second, StallTimeout: 2 * time.Second, CloseTimeout: time.Second, RateLimitClose: 2 * time.Second,
	WSPingsPerSec: 2, MaxConnsPerIP: 4, Grace: 10 * time.Second, Slack: 1500 * time.Millisecond,
}

// shortenBounds gives the server the limits in b. This is the one place
// the test sets them.
func shortenBounds(c *server.Config, b hostile.Bounds) {
	c.MaxConnsPerIP = b.MaxConnsPerIP
	c.Grace = b.Grace
	c.Session.RateLimitClose = b.RateLimitClose
	c.Session.CloseTimeout = b.CloseTimeout
	c.HTTP = server.HTTPLimits{HeaderTimeout: b.HeaderTimeout, RequestTimeout: b.RequestTimeout,
		WriteTimeout: b.WriteTimeout, IdleTimeout: b.IdleTimeout, MaxHeaderBytes: b.MaxHeaderBytes}
	c.Session.IdleTimeout = b.SessionIdle
	c.Session.StallTimeout = b.StallTimeout
	c.Session.WSPingsPerSec = b.WSPingsPerSec
}

// Tolerances of the return to the baseline once the attacks are over. A
// server that ends every connection it should ends up with exactly the
// goroutines and descriptors it had; the room left is for what comes and
// goes on its own in a quiet server: a timer's goroutine (a grace period
// or a seat reservation expiring, the lobby's janitor) running the moment
// the count is taken. Every leaked connection costs at least one
// descriptor and one goroutine per attack try, far above this.
const (
	goroutineTolerance = 2
	fdTolerance        = 1
)

// TestHostileTraffic runs every attack of net/hostile at once, over real
// sockets, against a server with shortened limits while an honest bot
// plays, and checks that the bot keeps its snap rate, that each attack
// was answered as the limits require, that the process's goroutines and
// descriptors come back to what they were, and that nothing panicked.
func TestHostileTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs attacks for several seconds")
	}
	b := hostileBounds
	logs := &syncBuffer{}
	web := t.TempDir()
	if err := os.WriteFile(filepath.Join(web, "index.html"), []byte("<!doctype html><title>Shatter</title>"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A sparse file far larger than both ends' socket buffers, for the
	// download nobody reads.
	sparseFile(t, filepath.Join(web, "big.bin"), 64<<20)
	s := servertest.Start(t, func(c *server.Config) {
		c.MaxArenas = 1
		c.WebDir = web
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		shortenBounds(c, b)
	})

	// The honest bot plays from 127.0.0.1, 20 inputs a second; the
	// attacks come from 127.0.0.10 on, each address its own.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	honest, err := bot.Dial(ctx, "ws://"+s.Addr()+"/ws", bot.Options{Name: "honest", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var playing sync.WaitGroup
	playing.Go(func() { // exits when ctx is cancelled or the bot is disconnected
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if _, err := honest.Step(); err != nil {
				return
			}
		}
	})
	defer func() {
		cancel()
		playing.Wait()
		honest.Close()
	}()
	snaps := func() uint64 { return honest.Client().Stats().SnapsReceived }
	time.Sleep(time.Second) // spawned, its first view sent
	rateBefore := snapRate(snaps, 3*time.Second)

	// Counted once the bot plays, so that its connection and goroutines
	// are in the baseline.
	baseGoroutines, baseFDs := runtime.NumGoroutine(), openFDs(t)

	// A connection the server leaks is closed when the garbage collector
	// finds it. This test's small heap is collected several times a
	// second, which would hide the leak that a production server's large
	// heap keeps for minutes; with collection held off (up to a 2 GiB
	// heap) until the counts are checked, a leaked connection stays open.
	gcPercent := debug.SetGCPercent(-1)
	memLimit := debug.SetMemoryLimit(2 << 30)
	defer func() {
		debug.SetGCPercent(gcPercent)
		debug.SetMemoryLimit(memLimit)
	}()
	attackCtx, stopAttacks := context.WithTimeout(ctx, 40*time.Second)
	defer stopAttacks()
	start, snaps0 := time.Now(), snaps()
	reports := hostile.Run(attackCtx, hostile.Target{
		Addr: s.Addr(), Admin: s.AdminAddr(), DownloadPath: "/big.bin", Scale: 2, Bounds: b,
	}, hostile.All(), 10)
	attackTime := time.Since(start)
	rateDuring := float64(snaps()-snaps0) / attackTime.Seconds()
	t.Logf("honest snaps a second: %.1f before, %.1f during %v of attacks", rateBefore, rateDuring, attackTime.Round(time.Millisecond))
	if rateDuring < 0.9*rateBefore {
		t.Errorf("the honest bot got %.1f snaps a second under attack, want at least 90%% of its %.1f before", rateDuring, rateBefore)
	}
	for _, r := range reports {
		switch {
		case r.Err != nil, r.Tries == 0, r.Failed > 0, r.Errors > 0:
			t.Errorf("the server did not hold: %v", r)
		default:
			t.Log(r)
		}
	}

	// Every attack has closed its connections: the server's ends must go
	// too, within the longest bound and its slack.
	settle := time.Now().Add(b.RequestTimeout + 2*b.Slack)
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)
	for (goroutines > baseGoroutines+goroutineTolerance || fds > baseFDs+fdTolerance) && time.Now().Before(settle) {
		time.Sleep(100 * time.Millisecond)
		goroutines, fds = runtime.NumGoroutine(), openFDs(t)
	}
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	t.Logf("after the attacks: %d goroutines (baseline %d), %d descriptors (baseline %d); heap %d MiB uncollected",
		goroutines, baseGoroutines, fds, baseFDs, mem.HeapAlloc>>20)
	if goroutines > baseGoroutines+goroutineTolerance {
		var dump bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&dump, 1)
		t.Errorf("%d goroutines after the attacks, want at most %d (baseline %d + %d); they are:\n%s",
			goroutines, baseGoroutines+goroutineTolerance, baseGoroutines, goroutineTolerance, firstBytes(dump.String(), 6000))
	}
	if fds > baseFDs+fdTolerance {
		t.Errorf("%d open descriptors after the attacks, want at most %d (baseline %d + %d)", fds, baseFDs+fdTolerance, baseFDs, fdTolerance)
	}
	if line := panicLine(logs.String()); line != "" {
		t.Errorf("the server logged a panic: %s", line)
	}
}

// snapRate counts the snaps the bot receives over d, a second.
func snapRate(snaps func() uint64, d time.Duration) float64 {
	n0, t0 := snaps(), time.Now()
	time.Sleep(d)
	return float64(snaps()-n0) / time.Since(t0).Seconds()
}

// sparseFile creates a file of size zero bytes that takes no disk.
func sparseFile(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// panicLine returns the first log line that mentions a panic, or "".
func panicLine(logs string) string {
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(strings.ToLower(line), "panic") {
			return line
		}
	}
	return ""
}

func firstBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n..."
}
