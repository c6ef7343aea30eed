package wire

import (
	"bytes"
	"errors"
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
