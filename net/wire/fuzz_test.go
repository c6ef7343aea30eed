package wire

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzDecodeClient checks that DecodeClient never panics, fails only with a
// *DecodeError, and that whatever it accepts survives a round trip through
// the Encoder unchanged. The committed corpus under
// testdata/fuzz/FuzzDecodeClient holds frames from other encoders and the
// edge cases of the bad_message table.
func FuzzDecodeClient(f *testing.F) {
	var e Encoder
	f.Add(e.AppendHello(nil, &Hello{Version: 1, Name: "Marble", Token: "tok"}))
	f.Add(e.AppendHello(nil, &Hello{Version: 1, Name: "Marble", Seat: "seat"}))
	f.Add(e.AppendSpawn(nil))
	f.Add(e.AppendInput(nil, &Input{Seq: 3, Angle: -1.5, Boost: true}))
	f.Add(e.AppendPing(nil, &Ping{C: 12345}))
	f.Add(e.AppendWatch(nil, &Watch{ID: 300}))
	var d Decoder
	f.Fuzz(func(t *testing.T, frame []byte) {
		var m ClientMessage
		if err := d.DecodeClient(frame, &m); err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Code != CodeBadMessage {
				t.Fatalf("DecodeClient(% x) = %v, want a bad_message *DecodeError", frame, err)
			}
			return
		}
		encoded := appendClient(&e, nil, &m)
		var again ClientMessage
		if err := d.DecodeClient(encoded, &again); err != nil {
			t.Fatalf("DecodeClient(% x) = %+v, but its encoding % x fails: %v", frame, m, encoded, err)
		}
		if again != m {
			t.Fatalf("DecodeClient(% x) = %+v, but its encoding decodes to %+v", frame, m, again)
		}
		if reencoded := appendClient(&e, nil, &again); !bytes.Equal(reencoded, encoded) {
			t.Fatalf("%+v encodes as % x, then as % x", m, encoded, reencoded)
		}
	})
}

// FuzzDecodeServer checks the same of DecodeServer, comparing encodings
// since a decoded message may hold empty slices where the original had nil.
func FuzzDecodeServer(f *testing.F) {
	var e Encoder
	for _, ex := range serverExamples() {
		f.Add(appendServer(&e, nil, &ex.msg))
	}
	var d Decoder
	f.Fuzz(func(t *testing.T, frame []byte) {
		var m ServerMessage
		if err := d.DecodeServer(frame, &m); err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Code != CodeBadMessage {
				t.Fatalf("DecodeServer(% x) = %v, want a bad_message *DecodeError", frame, err)
			}
			return
		}
		encoded := appendServer(&e, nil, &m)
		var again ServerMessage
		if err := d.DecodeServer(encoded, &again); err != nil {
			t.Fatalf("DecodeServer(% x) = %+v, but its encoding % x fails: %v", frame, m, encoded, err)
		}
		if reencoded := appendServer(&e, nil, &again); !bytes.Equal(reencoded, encoded) {
			t.Fatalf("DecodeServer(% x) encodes as % x, then as % x", frame, encoded, reencoded)
		}
	})
}

// FuzzSkimInput checks DecodeClient's fast path for inputs against its
// full decoder: every frame skimInput takes, the full decoder decodes to
// the same input; and every input the full decoder accepts, once
// re-encoded by our Encoder, skimInput takes too (so that the fast path
// cannot quietly stop applying to our own clients). It is seeded with
// FuzzDecodeClient's committed corpus besides inputs of every number
// width.
func FuzzSkimInput(f *testing.F) {
	for _, frame := range corpus(f, "FuzzDecodeClient") {
		f.Add(frame)
	}
	var e Encoder
	for _, in := range []Input{
		{Seq: 3, Angle: -1.5, Boost: true}, {Seq: math.MaxUint32, Angle: 0.1}, {Seq: 1 << 20, Angle: 1e300},
		{Seq: 200, Angle: -40000}, {Seq: 60000, Angle: 300}, {Seq: 1, Angle: math.Copysign(0, -1)},
	} {
		f.Add(e.AppendInput(nil, &in))
	}
	f.Add(foreign(f, "t", "input", "seq", int64(1<<40), "angle", int8(-5), "boost", true, "angle", float32(2.5)))
	f.Add(foreign(f, "t", "input", "angle", int32(-70000), "seq", int16(300), "seq", uint8(200)))
	var d Decoder
	f.Fuzz(func(t *testing.T, frame []byte) {
		in, skimmed := skimInput(frame)
		var m ClientMessage
		err := d.decodeClient(frame, &m)
		if skimmed && (err != nil || m.Type != TypeInput || !sameInput(m.Input, in)) {
			t.Fatalf("skimInput(% x) = %+v, but the full decoder gives %+v, %v", frame, in, m, err)
		}
		if err != nil || m.Type != TypeInput {
			return
		}
		encoded := e.AppendInput(nil, &m.Input)
		if in, ok := skimInput(encoded); !ok || !sameInput(in, m.Input) {
			t.Fatalf("the full decoder gives %+v for % x, but skimInput does not take its encoding % x", m.Input, frame, encoded)
		}
	})
}

// corpus returns the frames of a fuzz target's committed corpus, which
// the go command keeps in its own format: a version line, then one line
// []byte("...") holding a Go-quoted string.
func corpus(tb testing.TB, target string) [][]byte {
	tb.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var frames [][]byte
	for _, entry := range entries {
		b, err := os.ReadFile(filepath.Join(dir, entry.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		version, value, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		quoted, ok := strings.CutPrefix(value, "[]byte(")
		quoted, ok2 := strings.CutSuffix(quoted, ")")
		frame, err := strconv.Unquote(quoted)
		if version != "go test fuzz v1" || !ok || !ok2 || err != nil {
			tb.Fatalf("%s: not a corpus file of one []byte", entry.Name())
		}
		frames = append(frames, []byte(frame))
	}
	if len(frames) == 0 {
		tb.Fatalf("no corpus in %s", dir)
	}
	return frames
}
