package wsframe

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"
)

// TestParseHeader: ParseHeader reads what ws.ReadHeader reads, and asks
// for more bytes at every cut short of a whole header.
func TestParseHeader(t *testing.T) {
	for _, h := range []ws.Header{
		{Fin: true, OpCode: ws.OpBinary, Length: 0, Masked: true, Mask: [4]byte{1, 2, 3, 4}},
		{Fin: true, OpCode: ws.OpPing, Length: 125, Masked: true, Mask: [4]byte{9, 8, 7, 6}},
		{Fin: false, OpCode: ws.OpBinary, Length: 126, Masked: true, Mask: [4]byte{5, 5, 5, 5}},
		{Fin: true, OpCode: ws.OpContinuation, Length: 1 << 16, Masked: true},
		{Fin: true, OpCode: ws.OpText, Length: 3, Rsv: 4},
		{Fin: true, OpCode: ws.OpClose, Length: 2},
	} {
		var b bytes.Buffer
		if err := ws.WriteHeader(&b, h); err != nil {
			t.Fatal(err)
		}
		raw := b.Bytes()
		want, err := ws.ReadHeader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		got, n, err := ParseHeader(raw)
		if err != nil || n != len(raw) || got != want {
			t.Errorf("ParseHeader(%x) = %+v, %d, %v; want %+v, %d", raw, got, n, err, want, len(raw))
		}
		for cut := range len(raw) {
			if _, n, err := ParseHeader(raw[:cut]); n != 0 || err != nil {
				t.Errorf("ParseHeader of %d of %d bytes = %d, %v; want 0, nil", cut, len(raw), n, err)
			}
		}
	}
	if _, _, err := ParseHeader([]byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1}); err != ws.ErrHeaderLengthMSB {
		t.Errorf("a length with its top bit set: %v, want %v", err, ws.ErrHeaderLengthMSB)
	}
}
