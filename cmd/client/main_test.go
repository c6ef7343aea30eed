package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/server/servertest"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

func TestClientPlays(t *testing.T) {
	s := servertest.Start(t, nil)
	var out, errOut bytes.Buffer
	sum, err := run(t.Context(), []string{"-addr", s.Addr(), "-name", "tester", "-duration", "2s", "-v", "1"}, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\nstderr: %s\nstdout: %s", err, errOut.String(), out.String())
	}
	text := out.String()
	for _, want := range []string{"welcome {session:", "spawned {id:", "add ", "board {count:", "closed: duration elapsed", "summary: session"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "update ") {
		t.Errorf("-v 1 printed updates:\n%s", text)
	}
	// 2 s at 30 Hz is 60 snaps; allow for the handshake and a slow machine.
	if sum.Session == 0 || sum.Snaps < 30 || sum.InputsAcked == 0 || sum.Moved < 10 {
		t.Fatalf("summary %+v: want a session, at least 30 snaps, acknowledged inputs and a marble that moved", sum)
	}
	if sum.PrintedLines < 5 {
		t.Fatalf("%d lines printed; want at least 5", sum.PrintedLines)
	}
}

func TestClientVerbosity(t *testing.T) {
	s := servertest.Start(t, nil)
	tests := []struct {
		v              string
		wantUpdates    bool
		wantAdds       bool
		maxBoardsLines int
	}{
		{v: "0", maxBoardsLines: 1},
		{v: "2", wantUpdates: true, wantAdds: true, maxBoardsLines: 10},
	}
	for _, tt := range tests {
		t.Run("v"+tt.v, func(t *testing.T) {
			var out bytes.Buffer
			if _, err := run(t.Context(), []string{"-addr", "ws://" + s.Addr(), "-duration", "1500ms", "-v", tt.v}, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			text := out.String()
			if got := strings.Contains(text, " update "); got != tt.wantUpdates {
				t.Errorf("-v %s: printed updates %v; want %v", tt.v, got, tt.wantUpdates)
			}
			if got := strings.Contains(text, " add "); got != tt.wantAdds {
				t.Errorf("-v %s: printed adds %v; want %v", tt.v, got, tt.wantAdds)
			}
			if n := strings.Count(text, " board {"); n > tt.maxBoardsLines {
				t.Errorf("-v %s: %d board lines; want at most %d", tt.v, n, tt.maxBoardsLines)
			}
		})
	}
}

func TestClientBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-input-rate", "0"}, {"-input-rate", "61"}, {"-addr", "http://x"}, {"-nope"}} {
		if _, err := run(t.Context(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
}

// A move prints its line, and the view starts afresh with the new welcome.
func TestPrinterMoves(t *testing.T) {
	var out bytes.Buffer
	p := &printer{out: &lineWriter{w: &out}, verbosity: 1}
	welcome := &wire.ServerMessage{Type: wire.TypeWelcome, Welcome: wire.Welcome{Session: 1, ArenaWidth: 3000, ArenaHeight: 3000}}
	p.message(welcome)
	p.message(&wire.ServerMessage{Type: wire.TypeSnap, Snap: wire.Snap{Tick: 1, HasYou: true, You: wire.UpdEntity{ID: 4, Mass: 20},
		Add: []wire.AddEntity{{ID: 4, Kind: wire.KindPlayer, Mass: 20, Name: "me"}}}})
	p.message(&wire.ServerMessage{Type: wire.TypeMoved, Moved: wire.Moved{URL: "ws://b:4000/ws", Seat: "s", Why: wire.MoveDrain}})
	welcome.Welcome.Session = 2
	p.message(welcome)
	p.arrived(client.Move{To: "ws://b:4000/ws", Hops: 1, ToSnap: 42 * time.Millisecond})
	text := out.String()
	for _, want := range []string{"moved {why:drain url:ws://b:4000/ws}", "welcome {session:2", "arrived {url:ws://b:4000/ws hops:1 fell_back:false moved_to_snap:42ms}"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if len(p.view) != 0 || p.you.ID != 0 {
		t.Errorf("after the second welcome: view %v, you %+v; want both empty", p.view, p.you)
	}
}

// TestFeedLines checks that -v 1 prints kill feed events in the seed
// client's words, and -v 0 does not.
func TestFeedLines(t *testing.T) {
	m := &wire.ServerMessage{Type: wire.TypeFeed, Feed: wire.Feed{Tick: 5, Events: []sim.FeedEvent{
		{What: sim.FeedBust, ID: 9, Name: "Flint", By: 300, ByName: "Crusher", Mass: 34},
		{What: sim.FeedSpike, ID: 300, Name: "Opal", Mass: 52},
	}}}
	for _, v := range []int{0, 1} {
		var out bytes.Buffer
		p := &printer{out: &lineWriter{w: &out}, verbosity: v}
		p.message(m)
		text := out.String()
		wants := []string{
			`need to announce that player {id:9 name:"Flint" mass:34} was killed by {id:300 name:"Crusher"}`,
			`need to announce that player {id:300 name:"Opal" lost:52} collided with an obstacle`,
		}
		for _, want := range wants {
			if got := strings.Contains(text, want); got != (v >= 1) {
				t.Errorf("-v %d: printed %q: %v, want %v; output:\n%s", v, want, got, v >= 1, text)
			}
		}
	}
}
