package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// foreign encodes a map the way another msgpack library might: keys in the
// order given, each value at the width its Go type implies (int8 as int8,
// uint64 as uint64, float32 as float32, int as int64) rather than in the
// compact forms our Encoder picks. kv alternates keys and values; a value may
// be a raw []byte spliced in unencoded, for bytes no library would produce.
func foreign(t testing.TB, kv ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	if err := enc.EncodeMapLen(len(kv) / 2); err != nil {
		t.Fatal(err)
	}
	for _, v := range kv {
		if raw, ok := v.(rawBytes); ok {
			buf.Write(raw)
			continue
		}
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// unhex decodes a frame written as hex.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawBytes is spliced into a foreign frame as is.
type rawBytes []byte

// ordered is a msgpack map whose keys keep their order; Go maps would make
// the encoded bytes vary from run to run.
type ordered []any

func (o ordered) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := enc.EncodeMapLen(len(o) / 2); err != nil {
		return err
	}
	for _, v := range o {
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return nil
}

func TestClientRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		msg  ClientMessage
	}{
		{"hello", ClientMessage{Type: TypeHello, Hello: Hello{Version: 1, Name: "Marble"}}},
		{"hello with token", ClientMessage{Type: TypeHello, Hello: Hello{Version: 1, Name: "Marble", Token: "c2VjcmV0LXRva2Vu"}}},
		{"hello odd version", ClientMessage{Type: TypeHello, Hello: Hello{Version: -300, Name: ""}}},
		{"spawn", ClientMessage{Type: TypeSpawn}},
		{"input", ClientMessage{Type: TypeInput, Input: Input{Seq: 1, Angle: 0.5, Boost: true}}},
		{"input whole angle", ClientMessage{Type: TypeInput, Input: Input{Seq: math.MaxUint32, Angle: -3}}},
		{"input tiny angle", ClientMessage{Type: TypeInput, Input: Input{Seq: 70000, Angle: 1e-300}}},
		{"ping", ClientMessage{Type: TypePing, Ping: Ping{C: 1700000000123}}},
		{"ping negative", ClientMessage{Type: TypePing, Ping: Ping{C: math.MinInt64}}},
	}
	var e Encoder
	var d Decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := appendClient(&e, nil, &tt.msg)
			var got ClientMessage
			if err := d.DecodeClient(frame, &got); err != nil {
				t.Fatalf("DecodeClient(% x): %v", frame, err)
			}
			if got != tt.msg {
				t.Errorf("DecodeClient(% x) = %+v, want %+v", frame, got, tt.msg)
			}
		})
	}
}

// appendClient encodes whichever client message m holds.
func appendClient(e *Encoder, dst []byte, m *ClientMessage) []byte {
	switch m.Type {
	case TypeHello:
		return e.AppendHello(dst, &m.Hello)
	case TypeSpawn:
		return e.AppendSpawn(dst)
	case TypeInput:
		return e.AppendInput(dst, &m.Input)
	case TypePing:
		return e.AppendPing(dst, &m.Ping)
	}
	panic("not a client message: " + m.Type.String())
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
		return e.AppendBoard(dst, &m.Board)
	case TypePong:
		return e.AppendPong(dst, &m.Pong)
	case TypeError:
		return e.AppendError(dst, &m.Error)
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
		return m.Board
	case TypePong:
		return m.Pong
	case TypeError:
		return m.Error
	}
	return nil
}

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
		{"snap", ServerMessage{Type: TypeSnap, Snap: Snap{
			Tick: 90062, Ack: 17, HasYou: true, You: UpdEntity{ID: 9, X: 32768, Y: 100, Mass: 20},
			Add: []AddEntity{
				{ID: 9, Kind: KindPlayer, X: 32768, Y: 100, Mass: 20, Name: "Marble"},
				{ID: 300, Kind: KindZombie, X: 65535, Y: 0, Mass: 150, Name: "zed"},
				{ID: 70000, Kind: KindFragment, X: 1, Y: 2, Mass: 1},
				{ID: 4000000000, Kind: KindObstacle, X: 1000, Y: 2000, Mass: 0},
			},
			Upd: []UpdEntity{{ID: 11, X: 5, Y: 6, Mass: 70000}},
			Del: []uint32{12, 13, 1 << 31},
		}}},
		{"snap_dead", ServerMessage{Type: TypeSnap, Snap: Snap{Tick: 1}}},
		{"died", ServerMessage{Type: TypeDied, Died: Died{Tick: 90070, By: 300, Name: "zed", Mass: 212}}},
		{"died_obstacle", ServerMessage{Type: TypeDied, Died: Died{Tick: 5}}},
		{"board", ServerMessage{Type: TypeBoard, Board: Board{Top: []BoardEntry{{"zed", 150}, {"Marble", 20}}, Count: 25}}},
		{"pong", ServerMessage{Type: TypePong, Pong: Pong{C: -7, Tick: 90063}}},
		{"error", ServerMessage{Type: TypeError, Error: ErrorMessage{Code: CodeRateLimited, Msg: "too many inputs"}}},
		{"error_unknown_code", ServerMessage{Type: TypeError, Error: ErrorMessage{Code: "teapot", Msg: ""}}},
	}
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

func TestDecodeClientForeign(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		want  ClientMessage
	}{
		{
			"@msgpack/msgpack input with whole angle",
			unhex(t, "84a174a5696e707574a373657107a5616e676c6502a5626f6f7374c2"),
			ClientMessage{Type: TypeInput, Input: Input{Seq: 7, Angle: 2}},
		},
		{
			"int64 widths",
			foreign(t, "t", "input", "seq", 7, "angle", 2, "boost", false),
			ClientMessage{Type: TypeInput, Input: Input{Seq: 7, Angle: 2}},
		},
		{
			"negative fixint angle",
			[]byte{0x84, 0xa1, 't', 0xa5, 'i', 'n', 'p', 'u', 't', 0xa3, 's', 'e', 'q', 0x01, 0xa5, 'a', 'n', 'g', 'l', 'e', 0xfd, 0xa5, 'b', 'o', 'o', 's', 't', 0xc3},
			ClientMessage{Type: TypeInput, Input: Input{Seq: 1, Angle: -3, Boost: true}},
		},
		{
			"fixed-width ints and float32",
			foreign(t, "t", "input", "seq", uint64(5), "angle", float32(0.5), "boost", true),
			ClientMessage{Type: TypeInput, Input: Input{Seq: 5, Angle: 0.5, Boost: true}},
		},
		{
			"int8 seq and int64 angle",
			foreign(t, "t", "input", "seq", int8(100), "angle", int64(-1)),
			ClientMessage{Type: TypeInput, Input: Input{Seq: 100, Angle: -1}},
		},
		{
			"keys in reverse order",
			foreign(t, "boost", true, "angle", 1.25, "seq", uint32(9), "t", "input"),
			ClientMessage{Type: TypeInput, Input: Input{Seq: 9, Angle: 1.25, Boost: true}},
		},
		{
			"unknown keys with nested values",
			foreign(t,
				"meta", ordered{"a", []any{1, ordered{"b", []any{nil, "x", 2.5}}}, "c", []byte{1, 2}},
				"t", "hello",
				"v", int16(1),
				"name", "Marble",
				"ext", rawBytes{0xd6, 0x01, 1, 2, 3, 4},
				"ext8", rawBytes{0xc7, 0x02, 0x05, 9, 9},
				42, "a key that is not a string",
				"token", "abc",
			),
			ClientMessage{Type: TypeHello, Hello: Hello{Version: 1, Name: "Marble", Token: "abc"}},
		},
		{
			"wide string headers",
			[]byte{0x82, 0xd9, 0x01, 't', 0xdb, 0, 0, 0, 4, 'p', 'i', 'n', 'g', 0xda, 0, 1, 'c', 0xd0, 0x80},
			ClientMessage{Type: TypePing, Ping: Ping{C: -128}},
		},
		{
			"map16 header",
			[]byte{0xde, 0, 1, 0xa1, 't', 0xa5, 's', 'p', 'a', 'w', 'n'},
			ClientMessage{Type: TypeSpawn},
		},
		{
			"ping without c",
			foreign(t, "t", "ping"),
			ClientMessage{Type: TypePing},
		},
		{
			"hello without v",
			foreign(t, "t", "hello", "name", "x"),
			ClientMessage{Type: TypeHello, Hello: Hello{Name: "x"}},
		},
		{
			"repeated t that agrees",
			foreign(t, "t", "spawn", "t", "spawn"),
			ClientMessage{Type: TypeSpawn},
		},
		{
			"fields of other types are unknown keys",
			foreign(t, "t", "spawn", "seq", "not a number", "angle", nil, "c", ordered{}),
			ClientMessage{Type: TypeSpawn},
		},
	}
	var d Decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got ClientMessage
			if err := d.DecodeClient(tt.frame, &got); err != nil {
				t.Fatalf("DecodeClient(% x): %v", tt.frame, err)
			}
			if got != tt.want {
				t.Errorf("DecodeClient(% x) = %+v, want %+v", tt.frame, got, tt.want)
			}
		})
	}
}

func TestDecodeClientBadMessage(t *testing.T) {
	input := func(kv ...any) []byte {
		return foreign(t, append([]any{"t", "input"}, kv...)...)
	}
	valid := foreign(t, "t", "spawn")
	tests := []struct {
		name  string
		frame []byte
		field string
		want  error
	}{
		{"empty", nil, "", ErrTruncated},
		{"never-used code", []byte{0xc1}, "", ErrNotMsgpack},
		{"text", []byte(`{"t":"input"}`), "", ErrNotMap},
		{"array", []byte{0x91, 0xa1, 't'}, "", ErrNotMap},
		{"nil", []byte{0xc0}, "", ErrNotMap},
		{"int", []byte{0x05}, "", ErrNotMap},
		{"missing t", foreign(t, "seq", 1, "angle", 0), "t", ErrMissingType},
		{"empty map", []byte{0x80}, "t", ErrMissingType},
		{"t not a string", foreign(t, "t", 1), "t", ErrWrongType},
		{"t is bin", foreign(t, "t", []byte("spawn")), "t", ErrWrongType},
		{"unknown t", foreign(t, "t", "jump"), "t", ErrUnknownType},
		{"server t", foreign(t, "t", "snap"), "t", ErrUnknownType},
		{"t case", foreign(t, "t", "Input", "seq", 1, "angle", 0), "t", ErrUnknownType},
		{"t clash", foreign(t, "t", "spawn", "t", "ping"), "t", ErrTypeClash},
		{"seq string", input("seq", "1", "angle", 0), "seq", ErrWrongType},
		{"seq nil", input("seq", nil, "angle", 0), "seq", ErrWrongType},
		{"seq float", input("seq", 1.0, "angle", 0), "seq", ErrWrongType},
		{"seq negative", input("seq", -1, "angle", 0), "seq", ErrOutOfRange},
		{"seq over uint32", input("seq", uint64(1)<<32, "angle", 0), "seq", ErrOutOfRange},
		{"angle string", input("seq", 1, "angle", "0"), "angle", ErrWrongType},
		{"angle nil", input("seq", 1, "angle", nil), "angle", ErrWrongType},
		{"angle bool", input("seq", 1, "angle", true), "angle", ErrWrongType},
		{"angle NaN", input("seq", 1, "angle", math.NaN()), "angle", ErrNotFinite},
		{"angle +Inf float32", input("seq", 1, "angle", float32(math.Inf(1))), "angle", ErrNotFinite},
		{"angle -Inf", input("seq", 1, "angle", math.Inf(-1)), "angle", ErrNotFinite},
		{"boost int", input("seq", 1, "angle", 0, "boost", 1), "boost", ErrWrongType},
		{"boost nil", input("seq", 1, "angle", 0, "boost", nil), "boost", ErrWrongType},
		{"input without seq", input("angle", 0), "seq", ErrMissing},
		{"input without angle", input("seq", 1, "boost", true), "angle", ErrMissing},
		{"hello v string", foreign(t, "t", "hello", "v", "1", "name", "x"), "v", ErrWrongType},
		{"hello v over int64", foreign(t, "t", "hello", "v", uint64(math.MaxUint64), "name", "x"), "v", ErrOutOfRange},
		{"hello name int", foreign(t, "t", "hello", "v", 1, "name", 7), "name", ErrWrongType},
		{"hello name bin", foreign(t, "t", "hello", "v", 1, "name", []byte("x")), "name", ErrWrongType},
		{"hello name too long", foreign(t, "t", "hello", "v", 1, "name", strings.Repeat("a", MaxStringLen+1)), "name", ErrTooLong},
		{"hello token nil", foreign(t, "t", "hello", "v", 1, "name", "x", "token", nil), "token", ErrWrongType},
		{"ping c float", foreign(t, "t", "ping", "c", 1.5), "c", ErrWrongType},
		{"ping c over int64", foreign(t, "t", "ping", "c", uint64(math.MaxInt64)+1), "c", ErrOutOfRange},
		{"trailing byte", append(valid[:len(valid):len(valid)], 0x00), "", ErrTrailing},
		{"two messages", append(valid[:len(valid):len(valid)], valid...), "", ErrTrailing},
		{"fewer entries than the header says", []byte{0x82, 0xa1, 't', 0xa5, 's', 'p', 'a', 'w', 'n'}, "", ErrTruncated},
		{"map32 claiming 4G entries", []byte{0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 't'}, "", ErrTruncated},
		{"cut inside a string", []byte{0x81, 0xa1, 't', 0xa5, 's', 'p'}, "t", ErrTruncated},
		{"cut inside a uint32", []byte{0x83, 0xa1, 't', 0xa5, 'i', 'n', 'p', 'u', 't', 0xa3, 's', 'e', 'q', 0xce, 0, 0}, "seq", ErrTruncated},
		{"cut inside a float64", []byte{0x82, 0xa1, 't', 0xa5, 'i', 'n', 'p', 'u', 't', 0xa5, 'a', 'n', 'g', 'l', 'e', 0xcb, 0, 0}, "angle", ErrTruncated},
		{"str32 claiming 4 GiB", []byte{0x82, 0xa1, 't', 0xa5, 's', 'p', 'a', 'w', 'n', 0xa1, 'x', 0xdb, 0xff, 0xff, 0xff, 0xff}, "x", ErrTruncated},
		{"array32 claiming 4G elements", []byte{0x82, 0xa1, 't', 0xa5, 's', 'p', 'a', 'w', 'n', 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff, 0x00}, "x", ErrTruncated},
		{"ext32 claiming 4 GiB", []byte{0x82, 0xa1, 't', 0xa5, 's', 'p', 'a', 'w', 'n', 0xa1, 'x', 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}, "x", ErrTruncated},
		{"never-used code in an unknown value", foreign(t, "t", "spawn", "x", rawBytes{0x92, 0x01, 0xc1}), "x", ErrNotMsgpack},
		{"never-used code before t", foreign(t, "x", rawBytes{0xc1}, "t", "spawn"), "x", ErrNotMsgpack},
	}
	var d Decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ClientMessage{Type: TypePing, Ping: Ping{C: 99}}
			err := d.DecodeClient(tt.frame, &m)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("DecodeClient(% x) = %v, want a *DecodeError", tt.frame, err)
			}
			if de.Code != CodeBadMessage || de.Field != tt.field || !errors.Is(err, tt.want) {
				t.Errorf("DecodeClient(% x) = %q (field %q), want %s with field %q", tt.frame, err, de.Field, tt.want, tt.field)
			}
			if m.Type != TypePing {
				t.Errorf("DecodeClient(% x) changed Type to %v on error", tt.frame, m.Type)
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
		{"error code int", foreign(t, "t", "error", "code", 1), "code", ErrWrongType},
		{"pong tick negative", foreign(t, "t", "pong", "tick", -1), "tick", ErrOutOfRange},
		{"died trailing", append(foreign(t, "t", "died"), 0xc0), "", ErrTrailing},
	}
	var d Decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m ServerMessage
			err := d.DecodeServer(tt.frame, &m)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("DecodeServer(% x) = %v, want a *DecodeError", tt.frame, err)
			}
			if de.Code != CodeBadMessage || de.Field != tt.field || !errors.Is(err, tt.want) {
				t.Errorf("DecodeServer(% x) = %q (field %q), want %s with field %q", tt.frame, err, de.Field, tt.want, tt.field)
			}
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

func TestZeroAllocs(t *testing.T) {
	var e Encoder
	var d Decoder
	var m ClientMessage
	snap := snapOf(50, 100)
	buf := e.AppendSnap(nil, snap)
	input := e.AppendInput(nil, &Input{Seq: 5, Angle: 1.5})
	tests := []struct {
		name string
		run  func()
	}{
		{"AppendSnap", func() { buf = e.AppendSnap(buf[:0], snap) }},
		{"DecodeClient input", func() {
			if err := d.DecodeClient(input, &m); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		if allocs := testing.AllocsPerRun(100, tt.run); allocs != 0 {
			t.Errorf("%s: %v allocs, want 0", tt.name, allocs)
		}
	}
}

func TestEncoderAppends(t *testing.T) {
	var e Encoder
	prefix := []byte("prefix")
	got := e.AppendSpawn(prefix)
	want := append([]byte("prefix"), 0x81, 0xa1, 't', 0xa5, 's', 'p', 'a', 'w', 'n')
	if !bytes.Equal(got, want) {
		t.Errorf("AppendSpawn(%q) = % x, want % x", prefix, got, want)
	}
}

func TestTypeNames(t *testing.T) {
	for typ := TypeHello; typ <= TypeError; typ++ {
		if got := typeNamed([]byte(typ.String())); got != typ {
			t.Errorf("typeNamed(%q) = %v, want %v", typ.String(), got, typ)
		}
	}
	for _, typ := range []Type{0, TypeError + 1, 255} {
		if s := typ.String(); s != "" {
			t.Errorf("Type(%d).String() = %q, want \"\"", typ, s)
		}
	}
}

func TestErrorCodeNames(t *testing.T) {
	for _, code := range errorCodes {
		name := []byte(code)
		var got ErrorCode
		allocs := testing.AllocsPerRun(10, func() { got = errorCodeNamed(name) })
		if got != code || allocs != 0 {
			t.Errorf("errorCodeNamed(%q) = %q with %v allocs, want %q with 0", name, got, allocs, code)
		}
	}
	if got := errorCodeNamed([]byte("teapot")); got != "teapot" {
		t.Errorf("errorCodeNamed(\"teapot\") = %q, want \"teapot\"", got)
	}
}
