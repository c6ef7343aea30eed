package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/net/bot"
	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/server"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// TestRecordedLiveMatchReplays records a live match over real sockets (a
// server on loopback with -record's RecordDir, a few bots and a hunter
// playing in a small crowded arena until a player is busted and spawns
// again, and a player whose connection drops and resumes with its token), then checks
// the log with this command's own code path: every tick's state hash
// must match.
func TestRecordedLiveMatchReplays(t *testing.T) {
	dir := t.TempDir()
	cfg := sim.DefaultConfig()
	cfg.ArenaWidth, cfg.ArenaHeight = 500, 500
	cfg.MinPopulation = 8
	cfg.FragmentCount = 150
	cfg.ObstacleCount = 3
	cfg.BustRatio = 1 // marbles of equal mass bust each other: deaths come soon
	cfg.SpawnShield, cfg.ZombieSpare = 0, 0
	s, err := server.New(server.Config{
		Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", WebDir: t.TempDir(),
		Arena: cfg, Seed: 7, MaxArenas: 1, Grace: 10 * time.Second, RecordDir: dir,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Serve()
	shutdown := sync.OnceValue(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return s.Shutdown(ctx)
	})
	t.Cleanup(func() { shutdown() })
	url := "ws://" + s.Addr() + "/ws"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Three bots, stepped 20 times a second; a busted bot spawns again on
	// its next step.
	var deaths, respawns atomic.Int32
	var bots []*bot.Player
	for i := range 3 {
		var died atomic.Bool
		p, err := bot.Dial(ctx, url, bot.Options{Name: fmt.Sprintf("bot%d", i), Seed: uint64(i + 1), Client: client.Options{
			OnMessage: func(_ *client.Client, m *wire.ServerMessage) {
				switch {
				case m.Type == wire.TypeDied:
					deaths.Add(1)
					died.Store(true)
				case m.Type == wire.TypeSnap && m.Snap.HasYou && died.Swap(false):
					respawns.Add(1)
				}
			},
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		bots = append(bots, p)
	}
	// A hunter boosts straight at the nearest other player: boosting
	// burns its mass down to the boost floor, so it soon meets a heavier
	// marble head on and is busted (or busts a lighter one), and it spawns
	// again a second later.
	var hunterDied atomic.Bool
	hunter, err := client.Dial(ctx, url, client.Options{Name: "hunter", OnMessage: func(_ *client.Client, m *wire.ServerMessage) {
		switch {
		case m.Type == wire.TypeDied:
			deaths.Add(1)
			hunterDied.Store(true)
		case m.Type == wire.TypeSnap && m.Snap.HasYou && hunterDied.Swap(false):
			respawns.Add(1)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer hunter.Close()
	stepped := make(chan struct{})
	go func() { // exits when the test cancels ctx
		defer close(stepped)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		var view client.Snapshot
		lastSpawn := time.Time{}
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				for _, p := range bots {
					p.Step()
				}
				hunter.Snapshot(&view)
				if !view.Alive {
					if time.Since(lastSpawn) > time.Second {
						lastSpawn = time.Now()
						hunter.SendSpawn()
					}
					continue
				}
				if angle, ok := nearestPlayer(&view); ok {
					hunter.SendInput(angle, true)
				}
			}
		}
	}()

	// A player plays, drops its connection (a close is a drop) and
	// resumes with its token, and plays on. A marble busted before the
	// drop leaves nothing to resume (the lobby releases a seat without a
	// living marble at once: DESIGN.md), and the crowded arena busts
	// players often, so a refused resume is tried again with a new
	// player; a resume that never works fails the test.
	play := func(c *client.Client, n int) {
		t.Helper()
		if err := c.SendSpawn(); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			time.Sleep(50 * time.Millisecond)
			if _, err := c.SendInput(float64(i)*0.3, i%10 < 3); err != nil {
				t.Fatal(err)
			}
		}
	}
	var w wire.Welcome
	var again *client.Client
	for try := 1; again == nil; try++ {
		var busted atomic.Int32
		phoenix, err := client.Dial(ctx, url, client.Options{Name: "phoenix", OnMessage: func(_ *client.Client, m *wire.ServerMessage) {
			if m.Type == wire.TypeDied {
				busted.Add(1)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		w = phoenix.Welcome()
		play(phoenix, 20)
		phoenix.Close()
		time.Sleep(200 * time.Millisecond)
		c, err := client.Dial(ctx, url, client.Options{Name: "phoenix", Token: w.Token})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Welcome().Session; got != w.Session {
			c.Close()
			if try == 5 {
				t.Fatalf("resumed as session %d, want %d (5 tries)", got, w.Session)
			}
			t.Logf("try %d: resumed as session %d, want %d (busted %d times before its drop); again", try, got, w.Session, busted.Load())
			continue
		}
		again = c
	}
	defer again.Close()
	play(again, 20)

	deadline := time.Now().Add(60 * time.Second)
	for deaths.Load() == 0 || respawns.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d deaths and %d respawns of players in 60 s, want one of each", deaths.Load(), respawns.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a few ticks of play after the respawn
	cancel()
	<-stepped
	if err := shutdown(); err != nil {
		t.Fatal(err)
	}

	logs, _ := filepath.Glob(filepath.Join(dir, "*"+sim.ReplayExt))
	if len(logs) != 1 {
		t.Fatalf("replay logs %v, want one", logs)
	}
	f, err := os.Open(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	rp, err := sim.LoadReplay(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The log holds what happened: the resume (a detach, then a second
	// join of the same session) and a player's second spawn.
	kinds := map[ecs.CommandKind]int{}
	joins, spawns := map[uint32]int{}, map[uint32]int{}
	for _, rt := range rp.Ticks {
		for _, c := range rt.Commands {
			kinds[c.Kind]++
			switch c.Kind {
			case ecs.CmdJoin:
				joins[c.Session]++
			case ecs.CmdSpawn:
				spawns[c.Session]++
			}
		}
	}
	if kinds[ecs.CmdDetach] == 0 || joins[w.Session] != 2 || kinds[ecs.CmdInput] < 40 || rp.Cut != "" {
		t.Fatalf("log holds %v, joins by session %v, cut %q; want phoenix's detach and second join, its inputs, an end record", kinds, joins, rp.Cut)
	}
	respawned := false
	for s, n := range spawns {
		respawned = respawned || (s != w.Session && n >= 2)
	}
	if !respawned {
		t.Fatalf("spawns by session %v: no player but phoenix spawned twice", spawns)
	}

	var out, errOut bytes.Buffer
	if code := run([]string{"-q", logs[0]}, &out, &errOut); code != 0 {
		t.Fatalf("replay: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	want := fmt.Sprintf("OK: %d ticks, %d state hashes match", rp.LastTick, rp.LastTick)
	if !strings.Contains(out.String(), want) || rp.LastTick < 30 {
		t.Fatalf("replay said %q, want %q (%d ticks recorded)", out.String(), want, rp.LastTick)
	}
	t.Logf("%d ticks, commands %v, %d player deaths; log %d bytes", rp.LastTick, kinds, deaths.Load(), fileSize(t, logs[0]))
}

// nearestPlayer returns the heading from the client's marble to the
// nearest other player's marble in its view.
func nearestPlayer(v *client.Snapshot) (float64, bool) {
	best, angle := math.Inf(1), 0.0
	for id, e := range v.Entities {
		if id == v.You.ID || e.Kind != uint8(ecs.KindPlayer) {
			continue
		}
		dx, dy := float64(e.X)-float64(v.You.X), float64(e.Y)-float64(v.You.Y)
		if d := math.Hypot(dx, dy); d < best {
			best, angle = d, math.Atan2(dy, dx)
		}
	}
	return angle, !math.IsInf(best, 1)
}

func fileSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
