package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
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

// checkBadMessage checks that err, which decode (the decoder's name, for
// the message) returned for frame, is a bad_message *DecodeError that names
// field and wraps want.
func checkBadMessage(t *testing.T, decode string, frame []byte, err error, field string, want error) {
	t.Helper()
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("%s(% x) = %v, want a *DecodeError", decode, frame, err)
	}
	if de.Code != CodeBadMessage || de.Field != field || !errors.Is(err, want) {
		t.Errorf("%s(% x) = %q (field %q), want %s with field %q", decode, frame, err, de.Field, want, field)
	}
}

func TestZeroAllocs(t *testing.T) {
	var e Encoder
	var d Decoder
	var m ClientMessage
	var sm ServerMessage
	snap := snapOf(50, 100)
	buf := e.AppendSnap(nil, snap)
	input := e.AppendInput(nil, &Input{Seq: 5, Angle: 1.5})
	board, fleet := boardOf(10)
	boardFrame := e.AppendBoard(nil, board, fleet)
	moved := &Moved{URL: "ws://10.0.0.2:4000/ws", Seat: "q7Vx0ZpL3cYb9u2mWnE4sA", Why: MoveDrain}
	tests := []struct {
		name string
		run  func()
	}{
		{"AppendSnap", func() { buf = e.AppendSnap(buf[:0], snap) }},
		{"AppendBoard", func() { buf = e.AppendBoard(buf[:0], board, nil) }},
		{"AppendBoard with the fleet's part", func() { buf = e.AppendBoard(buf[:0], board, fleet) }},
		{"AppendMoved", func() { buf = e.AppendMoved(buf[:0], moved) }},
		{"DecodeClient input", func() {
			if err := d.DecodeClient(input, &m); err != nil {
				t.Fatal(err)
			}
		}},
		{"DecodeServer board into a warm message", func() {
			if err := d.DecodeServer(boardFrame, &sm); err != nil {
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
	for typ := TypeHello; typ <= TypeReplay; typ++ {
		if got := typeNamed([]byte(typ.String())); got != typ {
			t.Errorf("typeNamed(%q) = %v, want %v", typ.String(), got, typ)
		}
	}
	for _, typ := range []Type{0, TypeReplay + 1, 255} {
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

func TestMoveReasonNames(t *testing.T) {
	for _, why := range moveReasons {
		name := []byte(why)
		var got MoveReason
		allocs := testing.AllocsPerRun(10, func() { got = moveReasonNamed(name) })
		if got != why || allocs != 0 {
			t.Errorf("moveReasonNamed(%q) = %q with %v allocs, want %q with 0", name, got, allocs, why)
		}
	}
	if got := moveReasonNamed([]byte("whim")); got != "whim" {
		t.Errorf("moveReasonNamed(\"whim\") = %q, want \"whim\"", got)
	}
}
