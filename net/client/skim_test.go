package client

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// skimCases are snaps as the server encodes them.
var skimCases = []struct {
	name string
	snap wire.Snap
}{
	{"dead, empty", wire.Snap{Tick: 7}},
	{"alive with lists", wire.Snap{
		Tick: 1 << 40, Ack: 1<<32 - 1, HasYou: true,
		You: wire.UpdEntity{ID: 70000, X: 65535, Y: 1, Mass: 1 << 20},
		Add: []wire.AddEntity{
			{ID: 1, Kind: wire.KindPlayer, X: 300, Y: 40000, Mass: 5000, Name: "a name of forty bytes, to need a str 8..", Heading: 3, Flags: 1},
			{ID: 2, Kind: wire.KindFragment, X: 1, Y: 2, Mass: 3},
		},
		Upd: []wire.UpdEntity{{ID: 1, X: 2, Y: 3, Mass: 4, Marble: true, Heading: 200, Flags: 2}, {ID: 2, X: 5, Y: 6, Mass: 7}},
		Del: []uint32{9, 1 << 31},
	}},
	{"watching", wire.Snap{Tick: 99, Ack: 3, HasEye: true, Eye: 12}},
}

// TestSkimSnap checks that skimming an encoded snap yields what the full
// decoder does, names left out.
func TestSkimSnap(t *testing.T) {
	var enc wire.Encoder
	var dec wire.Decoder
	for _, tc := range skimCases {
		t.Run(tc.name, func(t *testing.T) {
			frame := enc.AppendSnap(nil, &tc.snap)
			var full wire.ServerMessage
			if err := dec.DecodeServer(frame, &full); err != nil {
				t.Fatal(err)
			}
			want := full.Snap
			for i := range want.Add {
				want.Add[i].Name = ""
			}
			got := wire.Snap{Add: make([]wire.AddEntity, 5), Del: []uint32{5}, HasEye: true, Eye: 3}
			if err := skimSnap(frame, &got); err != nil {
				t.Fatalf("skimSnap: %v", err)
			}
			if !reflect.DeepEqual(normal(got), normal(want)) {
				t.Errorf("skimmed\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// normal makes empty lists nil, so that DeepEqual does not tell them
// from the decoders' reused empty slices.
func normal(s wire.Snap) wire.Snap {
	if len(s.Add) == 0 {
		s.Add = nil
	}
	if len(s.Upd) == 0 {
		s.Upd = nil
	}
	if len(s.Del) == 0 {
		s.Del = nil
	}
	return s
}

// TestSkimSnapRefuses checks that what is not a snap laid out as ours, a
// snap cut short and one with an out-of-range field are left to the full
// decoder.
func TestSkimSnapRefuses(t *testing.T) {
	var enc wire.Encoder
	snap := enc.AppendSnap(nil, &skimCases[1].snap)
	frames := map[string][]byte{
		"died":     enc.AppendDied(nil, &sim.Died{}),
		"empty":    nil,
		"not map":  {0x93, 1, 2, 3},
		"cut":      snap[:len(snap)-1],
		"trailing": append(slices.Clone(snap), 0),
		// {"tick": 1, "t": "snap"}: `t` not first.
		"t later": {0x82, 0xa4, 't', 'i', 'c', 'k', 0x01, 0xa1, 't', 0xa4, 's', 'n', 'a', 'p'},
		// {"t": "snap", "tick": -1}
		"negative tick": {0x82, 0xa1, 't', 0xa4, 's', 'n', 'a', 'p', 0xa4, 't', 'i', 'c', 'k', 0xff},
		// {"t": "snap", "ack": 2^32}
		"ack too big": {0x82, 0xa1, 't', 0xa4, 's', 'n', 'a', 'p', 0xa3, 'a', 'c', 'k', 0xcf, 0, 0, 0, 1, 0, 0, 0, 0},
		// {"t": "snap", "upd": [[1, 2, 3]]}: a record too short.
		"short upd": {0x82, 0xa1, 't', 0xa4, 's', 'n', 'a', 'p', 0xa3, 'u', 'p', 'd', 0x91, 0x93, 1, 2, 3},
	}
	for name, frame := range frames {
		t.Run(name, func(t *testing.T) {
			var s wire.Snap
			if err := skimSnap(frame, &s); !errors.Is(err, errSkim) {
				t.Fatalf("skimSnap = %v, want errSkim", err)
			}
		})
	}
}

// TestSkimSnapsOption checks a client with SkimSnaps over a connection:
// OnMessage sees each snap's lists (names left out) and its acks are
// measured, while the client keeps no view and counts no delta errors;
// messages other than snaps are decoded in full.
func TestSkimSnapsOption(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		url, _ := serve(t, func(fc *fakeConn) {
			fc.expect(wire.TypeHello)
			fc.welcome(testWelcome)
			in := fc.expect(wire.TypeInput).Input
			fc.send(fc.enc.AppendSnap(nil, &wire.Snap{Tick: 1, Ack: in.Seq, HasYou: true, You: wire.UpdEntity{ID: 1, X: 2, Y: 3, Mass: 4},
				Add: []wire.AddEntity{{ID: 1, Kind: wire.KindPlayer, Mass: 4, Name: "me"}}}))
			// A delete of what was never added: a full client would count it.
			fc.send(fc.enc.AppendSnap(nil, &wire.Snap{Tick: 2, Del: []uint32{7}}))
			fc.send(fc.enc.AppendDied(nil, &sim.Died{ByName: "z"}))
			fc.close(ws.StatusNormalClosure, "")
		})
		var snaps []wire.Snap // Owned by the read loop until it is done.
		var died sim.Died
		acks := 0
		c, err := Dial(context.Background(), url, Options{Poll: poll,
			Name: "a", SkimSnaps: true,
			OnMessage: func(_ *Client, m *wire.ServerMessage) {
				switch m.Type {
				case wire.TypeSnap:
					s := m.Snap
					s.Add, s.Del = slices.Clone(s.Add), slices.Clone(s.Del)
					snaps = append(snaps, s)
				case wire.TypeDied:
					died = m.Died
				}
			},
			OnAck: func(*Client, uint32, time.Duration) { acks++ },
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.SendInput(0, false); err != nil {
			t.Fatal(err)
		}
		waitDone(t, c)
		if len(snaps) != 2 || snaps[0].Tick != 1 || len(snaps[0].Add) != 1 || snaps[0].Add[0].ID != 1 || snaps[0].Add[0].Name != "" ||
			!snaps[0].HasYou || snaps[0].You.Mass != 4 || len(snaps[1].Del) != 1 {
			t.Errorf("OnMessage saw snaps %+v; want tick 1 adding 1 without its name, with you, then tick 2 deleting 7", snaps)
		}
		if died.ByName != "z" {
			t.Errorf("died = %+v, want it decoded in full", died)
		}
		var view Snapshot
		c.Snapshot(&view)
		st := c.Stats()
		if len(view.Entities) != 0 || view.Tick != 2 || st.DeltaErrors != 0 || st.SnapsReceived != 2 || acks != 1 || st.InputsAcked != 1 {
			t.Errorf("view %d entities at tick %d, %d delta errors, %d snaps, %d acks (%d counted); want none at tick 2, 0, 2, 1 (1)",
				len(view.Entities), view.Tick, st.DeltaErrors, st.SnapsReceived, acks, st.InputsAcked)
		}
	})
}

// BenchmarkSkimSnap compares skimming a snap with decoding it in full.
func BenchmarkSkimSnap(b *testing.B) {
	var enc wire.Encoder
	s := skimCases[1].snap
	for i := range 40 {
		s.Upd = append(s.Upd, wire.UpdEntity{ID: uint32(100 + i), X: uint16(i * 1000), Y: 500, Mass: 300})
	}
	frame := enc.AppendSnap(nil, &s)
	b.Run("skim", func(b *testing.B) {
		b.ReportAllocs()
		var got wire.Snap
		for b.Loop() {
			if err := skimSnap(frame, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		var dec wire.Decoder
		var m wire.ServerMessage
		for b.Loop() {
			if err := dec.DecodeServer(frame, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
