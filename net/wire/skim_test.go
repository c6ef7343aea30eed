package wire

import (
	"math"
	"testing"
)

// sameInput reports whether a and b are the same input, telling -0 from
// 0 apart.
func sameInput(a, b Input) bool {
	return a.Seq == b.Seq && a.Boost == b.Boost && math.Float64bits(a.Angle) == math.Float64bits(b.Angle)
}

// sameMessage reports whether a and b are the same, comparing their inputs
// with sameInput, so that a NaN angle (left by a failed decode) equals
// itself.
func sameMessage(a, b ClientMessage) bool {
	ia, ib := a.Input, b.Input
	a.Input, b.Input = Input{}, Input{}
	return a == b && sameInput(ia, ib)
}

// TestSkimInput checks which frames DecodeClient's fast path for inputs
// takes, and that what it makes of them is what the full decoder does;
// and that DecodeClient answers the frames it passes over as the full
// decoder does.
func TestSkimInput(t *testing.T) {
	var e Encoder
	input := func(in Input) []byte { return e.AppendInput(nil, &in) }
	after := func(kv ...any) []byte { return foreign(t, append([]any{"t", "input"}, kv...)...) }
	tests := []struct {
		name  string
		frame []byte
		skim  bool // whether skimInput takes it
	}{
		{"ours, float64 angle", input(Input{Seq: 1234, Angle: 1.5707963267948966, Boost: true}), true},
		{"ours, float32 angle, largest seq", input(Input{Seq: math.MaxUint32, Angle: 0.5}), true},
		{"ours, negative whole angle", input(Input{Seq: 200, Angle: -3, Boost: true}), true},
		{"ours, uint32 seq, whole angle", input(Input{Seq: 70000, Angle: 300}), true},
		{"ours, tiny angle", input(Input{Seq: 1, Angle: 1e-300}), true},
		{"ours, negative zero angle", input(Input{Seq: 1, Angle: math.Copysign(0, -1)}), true},
		{"@msgpack/msgpack, whole angle", unhex(t, "84a174a5696e707574a373657107a5616e676c6502a5626f6f7374c2"), true},
		{"@msgpack/msgpack, float64 angle", unhex(t, "84a174a5696e707574a3736571cd0400a5616e676c65cb3ff3c083126e978da5626f6f7374c3"), true},
		{"int64 widths", after("seq", 7, "angle", 2, "boost", false), true},
		{"fixed-width ints and float32", after("seq", uint64(5), "angle", float32(0.5), "boost", true), true},
		{"int8 seq, int64 angle, no boost", after("seq", int8(100), "angle", int64(-1)), true},
		{"int16 angle, int32 seq", after("seq", int32(1<<20), "angle", int16(-300)), true},
		{"other key order", after("boost", true, "angle", 1.25, "seq", uint32(9)), true},
		{"repeated keys, the last wins", after("seq", 1, "angle", 1.0, "seq", 2, "boost", true, "boost", false, "angle", -2.5), true},
		{"t last", foreign(t, "boost", true, "angle", 1.25, "seq", uint32(9), "t", "input"), false},
		{"repeated t", after("seq", 1, "angle", 0, "t", "input"), false},
		{"unknown key", after("seq", 1, "angle", 0, "x", 1), false},
		{"key that is not a string", after("seq", 1, "angle", 0, 7, 1), false},
		{"str8 key", append(after("seq", 1, "angle", 0)[:0:0], 0x83, 0xa1, 't', 0xa5, 'i', 'n', 'p', 'u', 't', 0xd9, 3, 's', 'e', 'q', 1, 0xa5, 'a', 'n', 'g', 'l', 'e', 0), false},
		{"map16 header", []byte{0xde, 0, 3, 0xa1, 't', 0xa5, 'i', 'n', 'p', 'u', 't', 0xa3, 's', 'e', 'q', 1, 0xa5, 'a', 'n', 'g', 'l', 'e', 0}, false},
		{"t of another type", foreign(t, "t", "ping", "seq", 1, "angle", 0), false},
		{"t case", foreign(t, "t", "Input", "seq", 1, "angle", 0), false},
		{"empty map then an input's bytes", []byte{0x80, 0xa1, 't', 0xa5, 'i', 'n', 'p', 'u', 't'}, false},
		{"only t", after(), false},
		{"seq negative", after("seq", -1, "angle", 0), false},
		{"seq int8 negative", after("seq", int8(-1), "angle", 0), false},
		{"seq over uint32", after("seq", uint64(1)<<32, "angle", 0), false},
		{"seq float", after("seq", 1.0, "angle", 0), false},
		{"seq nil", after("seq", nil, "angle", 0), false},
		{"angle NaN", after("seq", 1, "angle", math.NaN()), false},
		{"angle +Inf float32", after("seq", 1, "angle", float32(math.Inf(1))), false},
		{"angle -Inf", after("seq", 1, "angle", math.Inf(-1)), false},
		{"angle nil", after("seq", 1, "angle", nil), false},
		{"angle string", after("seq", 1, "angle", "0"), false},
		{"boost int", after("seq", 1, "angle", 0, "boost", 1), false},
		{"boost nil", after("seq", 1, "angle", 0, "boost", nil), false},
		{"without seq", after("angle", 0), false},
		{"without angle", after("seq", 1, "boost", true), false},
		{"trailing byte", append(input(Input{Seq: 1}), 0), false},
		{"fewer entries than the header says", input(Input{Seq: 1})[:len(input(Input{Seq: 1}))-7], false},
		{"cut inside a float64", input(Input{Seq: 1, Angle: 0.1})[:20], false},
		{"cut inside a uint32", after("seq", uint32(1), "angle", 0)[:15], false},
	}
	var d Decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, skimmed := skimInput(tt.frame)
			if skimmed != tt.skim {
				t.Fatalf("skimInput(% x) = %v, want %v", tt.frame, skimmed, tt.skim)
			}
			var full ClientMessage
			fullErr := d.decodeClient(tt.frame, &full)
			if tt.skim {
				if fullErr != nil || full.Type != TypeInput || !sameInput(in, full.Input) {
					t.Fatalf("skimInput(% x) = %+v, but the full decoder gives %+v, %v", tt.frame, in, full, fullErr)
				}
			}
			got := ClientMessage{Type: TypePing, Ping: Ping{C: 99}}
			want := got
			err, wantErr := d.DecodeClient(tt.frame, &got), d.decodeClient(tt.frame, &want)
			if !sameMessage(got, want) || (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
				t.Errorf("DecodeClient(% x) = %+v, %v; the full decoder gives %+v, %v", tt.frame, got, err, want, wantErr)
			}
		})
	}
}
