package wire

import (
	"math"
	"strings"
	"testing"
)

// clientExamples has one message of each client type.
func clientExamples() []struct {
	name string
	msg  ClientMessage
} {
	return []struct {
		name string
		msg  ClientMessage
	}{
		{"hello", ClientMessage{Type: TypeHello, Hello: Hello{Version: Version, Name: "Marble", Token: "dG9rZW4tNDI"}}},
		{"hello_seat", ClientMessage{Type: TypeHello, Hello: Hello{Version: Version, Name: "Marble", Seat: "q7Vx0ZpL3cYb9u2mWnE4sA"}}},
		{"spawn", ClientMessage{Type: TypeSpawn}},
		{"input", ClientMessage{Type: TypeInput, Input: Input{Seq: 1234, Angle: 1.5707963267948966, Boost: true}}},
		{"ping", ClientMessage{Type: TypePing, Ping: Ping{C: 1700000000123}}},
		{"watch", ClientMessage{Type: TypeWatch, Watch: Watch{ID: 300}}},
		{"replay_seek", ClientMessage{Type: TypeReplay, Replay: ReplayControl{Op: ReplaySeek, Arg: 900}}},
		{"replay_pause", ClientMessage{Type: TypeReplay, Replay: ReplayControl{Op: ReplayPause}}},
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
	case TypeWatch:
		return e.AppendWatch(dst, &m.Watch)
	case TypeReplay:
		return e.AppendReplay(dst, &m.Replay)
	}
	panic("not a client message: " + m.Type.String())
}

func TestClientRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		msg  ClientMessage
	}{
		{"hello", ClientMessage{Type: TypeHello, Hello: Hello{Version: 1, Name: "Marble"}}},
		{"hello with token", ClientMessage{Type: TypeHello, Hello: Hello{Version: 1, Name: "Marble", Token: "c2VjcmV0LXRva2Vu"}}},
		{"hello with seat", ClientMessage{Type: TypeHello, Hello: Hello{Version: 1, Name: "Marble", Seat: "c2VhdA"}}},
		{"hello with token and seat", ClientMessage{Type: TypeHello, Hello: Hello{Version: 1, Name: "Marble", Token: "dG9r", Seat: "c2VhdA"}}},
		{"hello odd version", ClientMessage{Type: TypeHello, Hello: Hello{Version: -300, Name: ""}}},
		{"spawn", ClientMessage{Type: TypeSpawn}},
		{"input", ClientMessage{Type: TypeInput, Input: Input{Seq: 1, Angle: 0.5, Boost: true}}},
		{"input whole angle", ClientMessage{Type: TypeInput, Input: Input{Seq: math.MaxUint32, Angle: -3}}},
		{"input tiny angle", ClientMessage{Type: TypeInput, Input: Input{Seq: 70000, Angle: 1e-300}}},
		{"ping", ClientMessage{Type: TypePing, Ping: Ping{C: 1700000000123}}},
		{"ping negative", ClientMessage{Type: TypePing, Ping: Ping{C: math.MinInt64}}},
		{"watch", ClientMessage{Type: TypeWatch, Watch: Watch{ID: math.MaxUint32}}},
		{"watch the leader", ClientMessage{Type: TypeWatch}},
		{"replay play", ClientMessage{Type: TypeReplay, Replay: ReplayControl{Op: ReplayPlay}}},
		{"replay slowest", ClientMessage{Type: TypeReplay, Replay: ReplayControl{Op: ReplaySpeed, Arg: MinReplaySpeed}}},
		{"replay fastest", ClientMessage{Type: TypeReplay, Replay: ReplayControl{Op: ReplaySpeed, Arg: MaxReplaySpeed}}},
		{"replay seek to the start", ClientMessage{Type: TypeReplay, Replay: ReplayControl{Op: ReplaySeek}}},
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
		{"hello seat bin", foreign(t, "t", "hello", "v", 1, "name", "x", "seat", []byte("s")), "seat", ErrWrongType},
		{"hello seat too long", foreign(t, "t", "hello", "v", 1, "name", "x", "seat", strings.Repeat("s", MaxStringLen+1)), "seat", ErrTooLong},
		{"moved from a client", foreign(t, "t", "moved", "url", "ws://x/ws"), "t", ErrUnknownType},
		{"ping c float", foreign(t, "t", "ping", "c", 1.5), "c", ErrWrongType},
		{"replay without op", foreign(t, "t", "replay", "arg", 2), "op", ErrMissing},
		{"replay unknown op", foreign(t, "t", "replay", "op", "rewind"), "op", ErrOutOfRange},
		{"replay op int", foreign(t, "t", "replay", "op", 1), "op", ErrWrongType},
		{"replay speed without arg", foreign(t, "t", "replay", "op", "speed"), "arg", ErrMissing},
		{"replay speed too slow", foreign(t, "t", "replay", "op", "speed", "arg", 0.1), "arg", ErrOutOfRange},
		{"replay speed too fast", foreign(t, "t", "replay", "op", "speed", "arg", 16), "arg", ErrOutOfRange},
		{"replay speed NaN", foreign(t, "t", "replay", "op", "speed", "arg", math.NaN()), "arg", ErrNotFinite},
		{"replay seek string", foreign(t, "t", "replay", "op", "seek", "arg", "10"), "arg", ErrWrongType},
		{"replay seek negative", foreign(t, "t", "replay", "op", "seek", "arg", -1), "arg", ErrOutOfRange},
		{"replay seek fraction", foreign(t, "t", "replay", "op", "seek", "arg", 1.5), "arg", ErrOutOfRange},
		{"replay seek without arg", foreign(t, "t", "replay", "op", "seek"), "arg", ErrMissing},
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
			checkBadMessage(t, "DecodeClient", tt.frame, err, tt.field, tt.want)
			if m.Type != TypePing {
				t.Errorf("DecodeClient(% x) changed Type to %v on error", tt.frame, m.Type)
			}
		})
	}
}

// TestWatchDecoding: a watch id must be a uint32; a watch without one
// goes back to the leader.
func TestWatchDecoding(t *testing.T) {
	var d Decoder
	for _, tt := range []struct {
		name  string
		frame []byte
		ok    bool
		want  uint32
	}{
		{"negative id", []byte("\x82\xa1t\xa5watch\xa2id\xff"), false, 0},
		{"id over uint32", []byte("\x82\xa1t\xa5watch\xa2id\xcf\x00\x00\x00\x01\x00\x00\x00\x00"), false, 0},
		{"string id", []byte("\x82\xa1t\xa5watch\xa2id\xa1x"), false, 0},
		{"no id", []byte("\x81\xa1t\xa5watch"), true, 0},
		{"id", []byte("\x82\xa1t\xa5watch\xa2id\xcd\x01\x2c"), true, 300},
	} {
		m := ClientMessage{Watch: Watch{ID: 7}}
		err := d.DecodeClient(tt.frame, &m)
		if (err == nil) != tt.ok || tt.ok && (m.Type != TypeWatch || m.Watch.ID != tt.want) {
			t.Errorf("%s: DecodeClient = %+v, %v; want ok %v, id %d", tt.name, m, err, tt.ok, tt.want)
		}
	}
}
