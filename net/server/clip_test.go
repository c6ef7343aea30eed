package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shatter/shatter/net/bot"
	"github.com/shatter/shatter/net/server"
	"github.com/shatter/shatter/sim"
)

// TestClipOfALiveArena plays four bots over real sockets in an arena whose
// clip ring keeps 3 s in 1 s segments, cuts a clip of the last 2 s through
// the admin listener, and replays it: it starts at a keyframe, holds the
// bots' commands, and every tick's hash matches.
func TestClipOfALiveArena(t *testing.T) {
	s := newTestServer(t, func(c *server.Config) {
		c.Clips = sim.ClipOptions{Dir: t.TempDir(), Minutes: 3.0 / 60}
		c.KeyframeEvery = time.Second
	})
	url := "ws://" + s.Addr() + "/ws"
	var players []*bot.Player
	for i := range 4 {
		p, err := bot.Dial(context.Background(), url, bot.Options{Name: fmt.Sprintf("clip%d", i), Seed: uint64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		players = append(players, p)
	}
	resp, body := clipWhilePlaying(t, players, 3500*time.Millisecond, "http://"+s.AdminAddr()+"/arenas/0/clip?minutes=0.0334")
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), sim.ReplayExt) {
		t.Fatalf("clip: %d %q (%s)", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}
	rp, err := sim.LoadReplay(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if rp.Start == nil || rp.LastTick-rp.Start.Tick < 60 {
		t.Fatalf("clip from %v to tick %d, want a keyframe start and 2 s of play", rp.Start, rp.LastTick)
	}
	inputs := 0
	for _, rt := range rp.Ticks {
		for range rt.Commands {
			inputs++
		}
	}
	if inputs < 40 {
		t.Fatalf("the clip holds %d commands, want the bots' inputs", inputs)
	}
	res, err := rp.Play(nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Diverged != nil || len(res.Checkpoints) != int(rp.LastTick-rp.Start.Tick) {
		t.Fatalf("clip of ticks %d..%d: %d hashes checked, diverged at %+v", rp.Start.Tick, rp.LastTick, len(res.Checkpoints), res.Diverged)
	}
	t.Logf("clip of ticks %d..%d, %d bytes, %d commands: every hash matches", rp.Start.Tick, rp.LastTick, len(body), inputs)
}

// TestClipRefusals: the clip endpoint says what is wrong with a request.
func TestClipRefusals(t *testing.T) {
	s := newTestServer(t, func(c *server.Config) {
		c.Clips = sim.ClipOptions{Dir: t.TempDir(), Minutes: 1}
	})
	c, _ := join(t, s, "refusals")
	defer c.conn.Close()
	off := newTestServer(t, nil)
	o, _ := join(t, off, "off")
	defer o.conn.Close()
	for _, tc := range []struct {
		srv  *server.Server
		path string
		want int
	}{
		{s, "/arenas/x/clip", http.StatusBadRequest},
		{s, "/arenas/0/clip?minutes=0", http.StatusBadRequest},
		{s, "/arenas/0/clip?minutes=2", http.StatusBadRequest},
		{s, "/arenas/0/clip?minutes=NaN", http.StatusBadRequest},
		{s, "/arenas/7/clip", http.StatusNotFound},
		{off, "/arenas/0/clip", http.StatusConflict},
	} {
		resp, err := http.Post("http://"+tc.srv.AdminAddr()+tc.path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("POST %s = %d %q, want %d", tc.path, resp.StatusCode, body, tc.want)
		}
	}
	resp, err := http.Get("http://" + s.AdminAddr() + "/arenas/0/clip")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET clip = %d, want 405", resp.StatusCode)
	}
}

// TestClipOfAnotherNode: on a two-node fleet sharing a real redis-server,
// node a's admin listener cuts a clip of an arena that node b holds
// (?node=b): b cuts it and sends it through the directory, a answers with
// the file, and the clip replays with every hash matching. A request b
// refuses comes back as b's answer, acknowledged.
func TestClipOfAnotherNode(t *testing.T) {
	a, b, _ := redisNodes(t, func(c *server.Config) {
		c.Clips = sim.ClipOptions{Dir: t.TempDir(), Minutes: 3.0 / 60}
		c.KeyframeEvery = time.Second
	})
	p, err := bot.Dial(context.Background(), "ws://"+b.Addr()+"/ws", bot.Options{Name: "onb", Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	resp, body := clipWhilePlaying(t, []*bot.Player{p}, 2500*time.Millisecond, "http://"+a.AdminAddr()+"/arenas/0/clip?node=b&minutes=0.03")
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), sim.ReplayExt) {
		t.Fatalf("clip of b's arena through a: %d %q (%.200s)", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}
	rp, err := sim.LoadReplay(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if rp.Start == nil || rp.LastTick-rp.Start.Tick < 30 {
		t.Fatalf("clip from %v to tick %d, want a keyframe start and a second of play", rp.Start, rp.LastTick)
	}
	res, err := rp.Play(nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Diverged != nil {
		t.Fatalf("b's clip diverged at %+v", res.Diverged)
	}

	for _, tc := range []struct {
		path string
		want int
	}{
		{"/arenas/0/clip?node=b&minutes=2", http.StatusBadRequest}, // over b's ring
		{"/arenas/5/clip?node=b", http.StatusNotFound},
	} {
		code, body := adminCall(t, a, "POST", tc.path, "", nil)
		if got := answer(t, body); code != tc.want || got["acknowledged"] != true || got["node"] != "b" {
			t.Errorf("POST %s on a = %d %s, want b's %d", tc.path, code, body, tc.want)
		}
	}
	if code, body := adminCall(t, a, "POST", "/arenas/0/clip?node=zed", "", nil); code != http.StatusNotFound {
		t.Errorf("clip on a node the fleet does not have: %d %s", code, body)
	}
	t.Logf("b's clip of ticks %d..%d, %d bytes, through a", rp.Start.Tick, rp.LastTick, len(body))
}

// clipWhilePlaying paces players (20 steps a second) for playFor, then
// posts clipURL while they still play, and returns the answer and its
// body; the players stop being stepped before it returns.
func clipWhilePlaying(t *testing.T, players []*bot.Player, playFor time.Duration, clipURL string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pacer := bot.NewPacer(20, 1, nil)
	for _, p := range players {
		pacer.Add(p)
	}
	var run sync.WaitGroup
	defer run.Wait()
	defer cancel() // before the wait: deferred calls run last first
	run.Go(func() { pacer.Run(ctx) })
	time.Sleep(playFor)
	resp, err := http.Post(clipURL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body
}
