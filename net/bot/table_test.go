package bot

import (
	"maps"
	"testing"

	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/wire"
)

func TestTableApply(t *testing.T) {
	var tb Table
	snaps := []struct {
		snap wire.Snap
		want map[uint32]client.Entity
	}{
		{
			snap: wire.Snap{Tick: 1, HasYou: true, You: wire.UpdEntity{ID: 1, X: 10, Y: 10, Mass: 20}, Add: []wire.AddEntity{
				{ID: 1, Kind: wire.KindPlayer, X: 10, Y: 10, Mass: 20, Name: "me"},
				{ID: 2, Kind: wire.KindFragment, X: 20, Y: 20, Mass: 1},
				{ID: 3, Kind: wire.KindZombie, X: 30, Y: 30, Mass: 40, Name: "z"},
			}},
			want: map[uint32]client.Entity{
				1: {Kind: wire.KindPlayer, X: 10, Y: 10, Mass: 20},
				2: {Kind: wire.KindFragment, X: 20, Y: 20, Mass: 1},
				3: {Kind: wire.KindZombie, X: 30, Y: 30, Mass: 40},
			},
		},
		{
			// Deleting the first row moves the last into its place; the
			// update of the moved row must still find it.
			snap: wire.Snap{Tick: 2, HasYou: true, You: wire.UpdEntity{ID: 1, X: 11, Y: 10, Mass: 21},
				Upd: []wire.UpdEntity{{ID: 1, X: 11, Y: 10, Mass: 21}, {ID: 9, X: 1, Y: 1, Mass: 1}},
				Del: []uint32{2, 99}},
			want: map[uint32]client.Entity{
				1: {Kind: wire.KindPlayer, X: 11, Y: 10, Mass: 21},
				3: {Kind: wire.KindZombie, X: 30, Y: 30, Mass: 40},
			},
		},
		{
			snap: wire.Snap{Tick: 3, Upd: []wire.UpdEntity{{ID: 3, X: 31, Y: 29, Mass: 41}}, Del: []uint32{1},
				Add: []wire.AddEntity{{ID: 4, Kind: wire.KindObstacle, X: 5, Y: 6}}},
			want: map[uint32]client.Entity{
				3: {Kind: wire.KindZombie, X: 31, Y: 29, Mass: 41},
				4: {Kind: wire.KindObstacle, X: 5, Y: 6},
			},
		},
	}
	for _, s := range snaps {
		tb.Apply(&s.snap)
		if got := maps.Collect(tb.All()); !maps.Equal(got, s.want) || tb.Len() != len(s.want) {
			t.Fatalf("after snap of tick %d: table %v (len %d); want %v", s.snap.Tick, got, tb.Len(), s.want)
		}
		if tb.Tick != s.snap.Tick || tb.Alive != s.snap.HasYou || tb.You != s.snap.You {
			t.Fatalf("after snap of tick %d: tick %d alive %v you %+v", s.snap.Tick, tb.Tick, tb.Alive, tb.You)
		}
	}
}

func TestTableReset(t *testing.T) {
	var tb Table
	tb.Apply(&wire.Snap{Tick: 90, HasYou: true, You: wire.UpdEntity{ID: 1, Mass: 20},
		Add: []wire.AddEntity{{ID: 1, Mass: 20}, {ID: 2, Mass: 1}}})
	tb.Reset(7)
	if tb.Len() != 0 || tb.Tick != 7 || tb.Alive || tb.You != (wire.UpdEntity{}) {
		t.Fatalf("after Reset(7): len %d, tick %d, alive %v, you %+v; want an empty view at tick 7", tb.Len(), tb.Tick, tb.Alive, tb.You)
	}
	// The new connection's snaps add ids the old view had.
	tb.Apply(&wire.Snap{Tick: 8, Add: []wire.AddEntity{{ID: 2, Kind: wire.KindZombie, Mass: 30}}})
	if got, want := maps.Collect(tb.All()), map[uint32]client.Entity{2: {Kind: wire.KindZombie, Mass: 30}}; !maps.Equal(got, want) {
		t.Errorf("after Reset and a snap: %v; want %v", got, want)
	}
}

func TestServerURL(t *testing.T) {
	tests := []struct {
		addr, want string
		wantErr    bool
	}{
		{addr: "127.0.0.1:4000", want: "ws://127.0.0.1:4000/ws"},
		{addr: "ws://example.com:4000", want: "ws://example.com:4000/ws"},
		{addr: "ws://example.com:4000/", want: "ws://example.com:4000/ws"},
		{addr: "wss://example.com/game/ws", want: "wss://example.com/game/ws"},
		{addr: "http://example.com:4000", wantErr: true},
		{addr: "ws://", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ServerURL(tt.addr)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ServerURL(%q) = %q, %v; want %q, error %v", tt.addr, got, err, tt.want, tt.wantErr)
		}
	}
}
