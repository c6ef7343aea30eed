package wire

import (
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/shatter/shatter/sim"
)

// serverExamples has one message of each server type, with every field set.
// The golden test encodes the same ones.
func serverExamples() []struct {
	name string
	msg  ServerMessage
} {
	return []struct {
		name string
		msg  ServerMessage
	}{
		{"welcome", ServerMessage{Type: TypeWelcome, Welcome: Welcome{
			Version: 1, Session: 42, Token: "dG9rZW4tNDI", Tick: 90061, Rate: 30,
			ArenaWidth: 3000, ArenaHeight: 2999.5,
			TerrainSize: 3, Terrain: []byte{0, 1, 2, 3, 4, 5, 6, 7, 255},
			Rules: []Rule{{"start_mass", 20}, {"radius_factor", 4}, {"boost_cost", 0.02}, {"speed_exponent", -0.22}},
		}}},
		{"welcome_name", ServerMessage{Type: TypeWelcome, Welcome: Welcome{
			Version: 1, Session: 43, Token: "dG9rZW4tNDM", Name: "Flint 2", Tick: 90061, Rate: 30,
			ArenaWidth: 3000, ArenaHeight: 3000, TerrainSize: 1, Terrain: []byte{7},
			Rules: []Rule{{"start_mass", 20}},
		}}},
		{"snap", ServerMessage{Type: TypeSnap, Snap: Snap{
			Tick: 90062, Ack: 17, HasYou: true, You: UpdEntity{ID: 9, X: 32768, Y: 100, Mass: 20},
			Add: []AddEntity{
				{ID: 9, Kind: KindPlayer, X: 32768, Y: 100, Mass: 20, Name: "Marble", Heading: 64, Flags: 1},
				{ID: 300, Kind: KindZombie, X: 65535, Y: 0, Mass: 150, Name: "zed", Heading: 255, Flags: 3},
				{ID: 70000, Kind: KindFragment, X: 1, Y: 2, Mass: 1},
				{ID: 4000000000, Kind: KindObstacle, X: 1000, Y: 2000, Mass: 0},
			},
			Upd: []UpdEntity{{ID: 11, X: 5, Y: 6, Mass: 70000}, {ID: 300, X: 65534, Y: 1, Mass: 150, Marble: true, Heading: 128, Flags: 2}},
			Del: []uint32{12, 13, 1 << 31},
		}}},
		{"snap_dead", ServerMessage{Type: TypeSnap, Snap: Snap{Tick: 1}}},
		{"snap_eye", ServerMessage{Type: TypeSnap, Snap: Snap{Tick: 2, Ack: 3, Upd: []UpdEntity{{ID: 300, X: 7, Y: 8, Mass: 150, Marble: true, Heading: 9, Flags: 1}}, HasEye: true, Eye: 300}}},
		{"died", ServerMessage{Type: TypeDied, Died: sim.Died{Tick: 90070, By: 300, ByName: "zed", Mass: 212}}},
		{"died_obstacle", ServerMessage{Type: TypeDied, Died: sim.Died{Tick: 5}}},
		{"board", ServerMessage{Type: TypeBoard, Board: sim.Board{Top: []sim.BoardRow{{ID: 300, Name: "zed", Mass: 150}, {ID: 9, Name: "Marble", Mass: 20}}, Count: 25}}},
		{"board_fleet", ServerMessage{Type: TypeBoard,
			Board: sim.Board{Top: []sim.BoardRow{{ID: 300, Name: "zed", Mass: 150}}, Count: 25},
			Fleet: FleetBoard{
				HasGlobal: true, Global: []GlobalRow{{Name: "Boulder", Mass: 70000}, {Name: "zed", Mass: 150}},
				HasOnline: true, Online: 1234,
			}}},
		{"pong", ServerMessage{Type: TypePong, Pong: Pong{C: -7, Tick: 90063}}},
		{"error", ServerMessage{Type: TypeError, Error: ErrorMessage{Code: CodeRateLimited, Msg: "too many inputs"}}},
		{"error_unknown_code", ServerMessage{Type: TypeError, Error: ErrorMessage{Code: "teapot", Msg: ""}}},
		{"error_bad_seat", ServerMessage{Type: TypeError, Error: ErrorMessage{Code: CodeBadSeat, Msg: "seat expired"}}},
		{"moved", ServerMessage{Type: TypeMoved, Moved: Moved{URL: "ws://10.0.0.2:4000/ws", Seat: "q7Vx0ZpL3cYb9u2mWnE4sA", Why: MoveDrain}}},
		{"feed", ServerMessage{Type: TypeFeed, Feed: Feed{Tick: 90071, Events: []sim.FeedEvent{
			{What: sim.FeedBust, ID: 9, Name: "Flint", By: 300, ByName: "Crusher", Mass: 34},
			{What: sim.FeedSpike, ID: 300, Name: "Crusher", Mass: 52},
		}}}},
		{"feed_unknown_what", ServerMessage{Type: TypeFeed, Feed: Feed{Tick: 1, Events: []sim.FeedEvent{{What: "fell", ID: 2}}}}},
		{"replay_status", ServerMessage{Type: TypeReplay, Replay: ReplayStatus{Tick: 901, Last: 2400, Speed: 0.25, Paused: true,
			Players: []sim.PlaybackPlayer{{ID: 41, Name: "Flint"}, {ID: 7, Name: "Opal"}}}}},
	}
}

// appendServer encodes whichever server message m holds.
func appendServer(e *Encoder, dst []byte, m *ServerMessage) []byte {
	switch m.Type {
	case TypeWelcome:
		return e.AppendWelcome(dst, &m.Welcome)
	case TypeSnap:
		return e.AppendSnap(dst, &m.Snap)
	case TypeDied:
		return e.AppendDied(dst, &m.Died)
	case TypeBoard:
		return e.AppendBoard(dst, &m.Board, &m.Fleet)
	case TypePong:
		return e.AppendPong(dst, &m.Pong)
	case TypeError:
		return e.AppendError(dst, &m.Error)
	case TypeMoved:
		return e.AppendMoved(dst, &m.Moved)
	case TypeFeed:
		return e.AppendFeed(dst, &m.Feed)
	case TypeReplay:
		return e.AppendReplayStatus(dst, &m.Replay)
	}
	panic("not a server message: " + m.Type.String())
}

// serverPart returns the part of m that m.Type names, for comparisons.
func serverPart(m *ServerMessage) any {
	switch m.Type {
	case TypeWelcome:
		return m.Welcome
	case TypeSnap:
		return m.Snap
	case TypeDied:
		return m.Died
	case TypeBoard:
		return struct {
			Board sim.Board
			Fleet FleetBoard
		}{m.Board, m.Fleet}
	case TypePong:
		return m.Pong
	case TypeError:
		return m.Error
	case TypeMoved:
		return m.Moved
	case TypeFeed:
		return m.Feed
	case TypeReplay:
		return m.Replay
	}
	return nil
}

func TestServerRoundTrip(t *testing.T) {
	var e Encoder
	var d Decoder
	var reused ServerMessage // Decoded into every time, to test reuse too.
	for _, tt := range serverExamples() {
		t.Run(tt.name, func(t *testing.T) {
			frame := appendServer(&e, nil, &tt.msg)
			for _, m := range []*ServerMessage{{}, &reused} {
				if err := d.DecodeServer(frame, m); err != nil {
					t.Fatalf("DecodeServer(% x): %v", frame, err)
				}
				if m.Type != tt.msg.Type {
					t.Fatalf("DecodeServer(% x).Type = %v, want %v", frame, m.Type, tt.msg.Type)
				}
				got, want := serverPart(m), serverPart(&tt.msg)
				if m == &reused {
					// A reused message keeps empty slices where a fresh one
					// has nil; compare them as encoded.
					got, want = appendServer(&e, nil, m), frame
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("DecodeServer(% x) = %+v, want %+v", frame, got, want)
				}
			}
		})
	}
}

func TestDecodeServerForeign(t *testing.T) {
	frame := foreign(t,
		"rules", ordered{"start_mass", int8(20), "boost_cost", float32(0.5), "x", uint64(3)},
		"terrain", ordered{"h", []byte{9}, "extra", []any{1, 2}, "n", uint32(1)},
		"arena", ordered{"h", float32(1500), "w", 3000},
		"future", ordered{"nested", []any{ordered{}}},
		"rate", uint8(30),
		"tick", uint64(77),
		"token", "tok",
		"session", int32(5),
		"v", int64(1),
		"t", "welcome",
	)
	want := Welcome{
		Version: 1, Session: 5, Token: "tok", Tick: 77, Rate: 30,
		ArenaWidth: 3000, ArenaHeight: 1500,
		TerrainSize: 1, Terrain: []byte{9},
		Rules: []Rule{{"start_mass", 20}, {"boost_cost", 0.5}, {"x", 3}},
	}
	var d Decoder
	var m ServerMessage
	if err := d.DecodeServer(frame, &m); err != nil {
		t.Fatalf("DecodeServer: %v", err)
	}
	if m.Type != TypeWelcome || !reflect.DeepEqual(m.Welcome, want) {
		t.Errorf("DecodeServer = %v %+v, want welcome %+v", m.Type, m.Welcome, want)
	}

	snap := foreign(t, "t", "snap", "you", nil, "add", []any{[]any{int64(1), uint8(2), uint16(3), int32(4), uint64(5), ""}}, "del", []any{int8(9)})
	if err := d.DecodeServer(snap, &m); err != nil {
		t.Fatalf("DecodeServer: %v", err)
	}
	wantSnap := Snap{Add: []AddEntity{{ID: 1, Kind: 2, X: 3, Y: 4, Mass: 5}}, Del: []uint32{9}}
	if m.Type != TypeSnap || !reflect.DeepEqual(m.Snap, wantSnap) {
		t.Errorf("DecodeServer = %v %+v, want snap %+v", m.Type, m.Snap, wantSnap)
	}

	// The fleet's rows may grow at the end; keys come in any order.
	board := foreign(t, "online", uint16(3), "global", []any{[]any{"a", int64(9), "future", []any{1}}, []any{"b", uint8(1)}}, "count", 2, "t", "board")
	if err := d.DecodeServer(board, &m); err != nil {
		t.Fatalf("DecodeServer: %v", err)
	}
	wantFleet := FleetBoard{HasGlobal: true, Global: []GlobalRow{{"a", 9}, {"b", 1}}, HasOnline: true, Online: 3}
	if m.Type != TypeBoard || m.Board.Count != 2 || !reflect.DeepEqual(m.Fleet, wantFleet) {
		t.Errorf("DecodeServer = %v %+v %+v, want board of count 2 and %+v", m.Type, m.Board, m.Fleet, wantFleet)
	}
	// A board without the fleet's keys leaves none set from the last one.
	if err := d.DecodeServer(foreign(t, "t", "board", "count", 1), &m); err != nil {
		t.Fatalf("DecodeServer: %v", err)
	}
	if m.Fleet.HasGlobal || m.Fleet.HasOnline || len(m.Fleet.Global) != 0 || m.Fleet.Online != 0 {
		t.Errorf("board without global and online: Fleet = %+v, want none", m.Fleet)
	}

	moved := foreign(t, "why", "rebalance", "extra", 1, "seat", "s", "url", "wss://b/ws", "t", "moved")
	if err := d.DecodeServer(moved, &m); err != nil {
		t.Fatalf("DecodeServer: %v", err)
	}
	if want := (Moved{URL: "wss://b/ws", Seat: "s", Why: "rebalance"}); m.Type != TypeMoved || m.Moved != want {
		t.Errorf("DecodeServer = %v %+v, want moved %+v", m.Type, m.Moved, want)
	}
}

func TestDecodeServerBadMessage(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		field string
		want  error
	}{
		{"client t", foreign(t, "t", "input", "seq", 1, "angle", 0), "t", ErrUnknownType},
		{"terrain size mismatch", foreign(t, "t", "welcome", "terrain", ordered{"n", 2, "h", []byte{1, 2, 3}}), "terrain", ErrTerrainSize},
		{"terrain n negative", foreign(t, "t", "welcome", "terrain", ordered{"n", -1, "h", []byte{}}), "terrain", ErrOutOfRange},
		{"terrain h string", foreign(t, "t", "welcome", "terrain", ordered{"n", 1, "h", "x"}), "terrain", ErrWrongType},
		{"arena not a map", foreign(t, "t", "welcome", "arena", []any{1, 2}), "arena", ErrWrongType},
		{"rule value string", foreign(t, "t", "welcome", "rules", ordered{"a", "b"}), "rules", ErrWrongType},
		{"rule name int", foreign(t, "t", "welcome", "rules", ordered{1, 2}), "rules", ErrWrongType},
		{"you short", foreign(t, "t", "snap", "you", []any{1, 2, 3}), "you", ErrWrongType},
		{"add entity of five", foreign(t, "t", "snap", "add", []any{[]any{1, 0, 2, 3, 4}}), "add", ErrWrongType},
		{"kind over uint8", foreign(t, "t", "snap", "add", []any{[]any{1, 256, 2, 3, 4, ""}}), "add", ErrOutOfRange},
		{"x over uint16", foreign(t, "t", "snap", "upd", []any{[]any{1, 65536, 2, 3}}), "upd", ErrOutOfRange},
		{"del nil", foreign(t, "t", "snap", "del", nil), "del", ErrWrongType},
		{"del string", foreign(t, "t", "snap", "del", []any{"1"}), "del", ErrWrongType},
		{"board entry reversed", foreign(t, "t", "board", "top", []any{[]any{10, "a"}}), "top", ErrWrongType},
		{"global row short", foreign(t, "t", "board", "global", []any{[]any{"a"}}), "global", ErrWrongType},
		{"global nil", foreign(t, "t", "board", "global", nil), "global", ErrWrongType},
		{"global mass negative", foreign(t, "t", "board", "global", []any{[]any{"a", -1}}), "global", ErrOutOfRange},
		{"global extra truncated", foreign(t, "t", "board", "global", rawBytes{0x91, 0x93, 0xa1, 'a', 0x01}), "global", ErrTruncated},
		{"online string", foreign(t, "t", "board", "online", "5"), "online", ErrWrongType},
		{"moved url int", foreign(t, "t", "moved", "url", 1), "url", ErrWrongType},
		{"moved why nil", foreign(t, "t", "moved", "why", nil), "why", ErrWrongType},
		{"error code int", foreign(t, "t", "error", "code", 1), "code", ErrWrongType},
		{"pong tick negative", foreign(t, "t", "pong", "tick", -1), "tick", ErrOutOfRange},
		{"died trailing", append(foreign(t, "t", "died"), 0xc0), "", ErrTrailing},
	}
	var d Decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m ServerMessage
			err := d.DecodeServer(tt.frame, &m)
			checkBadMessage(t, "DecodeServer", tt.frame, err, tt.field, tt.want)
		})
	}
}

func TestDecodeServerReusesSlices(t *testing.T) {
	var e Encoder
	var d Decoder
	var m ServerMessage
	big := appendServer(&e, nil, &ServerMessage{Type: TypeSnap, Snap: *snapOf(20, 20)})
	small := e.AppendSnap(nil, &Snap{Tick: 2, Add: []AddEntity{{ID: 1, Name: "a"}}, Del: []uint32{3}})
	for _, frame := range [][]byte{big, small, big} {
		if err := d.DecodeServer(frame, &m); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.Snap.Add) != 20 || len(m.Snap.Upd) != 20 {
		t.Fatalf("after big, small, big: %d adds and %d upds, want 20 and 20", len(m.Snap.Add), len(m.Snap.Upd))
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := d.DecodeServer(big, &m); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("decoding a snap into a warm ServerMessage: %v allocs, want 0", allocs)
	}
}

// TestMarbleRecordsGrow checks the decoder's reading of marble records and
// board rows from servers older and newer than this package: an add or upd
// without heading and flags decodes with zeros (and an upd without
// Marble), a board row without id with ID 0, and elements after the known
// ones are skipped.
func TestMarbleRecordsGrow(t *testing.T) {
	frame, err := msgpack.Marshal(map[string]any{
		"t":   "snap",
		"add": []any{[]any{1, 0, 2, 3, 20, "old"}, []any{2, 1, 4, 5, 30, "new", 64, 1, "later"}},
		"upd": []any{[]any{1, 6, 7, 21}, []any{2, 8, 9, 31, 128, 2, 99, 100}},
	})
	if err != nil {
		t.Fatal(err)
	}
	board, err := msgpack.Marshal(map[string]any{"t": "board", "top": []any{[]any{"old", 5}, []any{"new", 6, 7, "later"}}, "count": 2})
	if err != nil {
		t.Fatal(err)
	}
	var d Decoder
	var m ServerMessage
	if err := d.DecodeServer(frame, &m); err != nil {
		t.Fatal(err)
	}
	wantAdd := []AddEntity{{ID: 1, Kind: 0, X: 2, Y: 3, Mass: 20, Name: "old"}, {ID: 2, Kind: 1, X: 4, Y: 5, Mass: 30, Name: "new", Heading: 64, Flags: 1}}
	wantUpd := []UpdEntity{{ID: 1, X: 6, Y: 7, Mass: 21}, {ID: 2, X: 8, Y: 9, Mass: 31, Marble: true, Heading: 128, Flags: 2}}
	if !reflect.DeepEqual(m.Snap.Add, wantAdd) || !reflect.DeepEqual(m.Snap.Upd, wantUpd) {
		t.Fatalf("decoded add %+v upd %+v, want %+v %+v", m.Snap.Add, m.Snap.Upd, wantAdd, wantUpd)
	}
	if err := d.DecodeServer(board, &m); err != nil {
		t.Fatal(err)
	}
	wantTop := []sim.BoardRow{{Name: "old", Mass: 5}, {ID: 7, Name: "new", Mass: 6}}
	if !reflect.DeepEqual(m.Board.Top, wantTop) {
		t.Fatalf("decoded board top %+v, want %+v", m.Board.Top, wantTop)
	}
}

// TestUpdRawIsUpd: upd records encoded once (AppendUpdRecord) and copied
// into a snap's UpdRaw make the same bytes as the same records in Upd, so
// a client cannot tell them apart.
func TestUpdRawIsUpd(t *testing.T) {
	recs := []UpdEntity{
		{ID: 7, X: 1, Y: 65535, Mass: 20, Marble: true, Heading: 255, Flags: 3},
		{ID: 70000, X: 300, Y: 4, Mass: 1 << 20, Marble: true},
	}
	static := UpdEntity{ID: 9, X: 5, Y: 6, Mass: 1}
	var enc Encoder
	plain := Snap{Tick: 44, Ack: 3, Upd: append([]UpdEntity{static}, recs...), Del: []uint32{2}}
	want := enc.AppendSnap(nil, &plain)

	raw := Snap{Tick: 44, Ack: 3, Upd: []UpdEntity{static}, Del: []uint32{2}}
	for i := range recs {
		raw.UpdRaw = enc.AppendUpdRecord(raw.UpdRaw, &recs[i])
		raw.UpdRawN++
	}
	if got := enc.AppendSnap(nil, &raw); string(got) != string(want) {
		t.Fatalf("with raw records:\n%x\nwant\n%x", got, want)
	}
}
