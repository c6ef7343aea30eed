// Package wsframe parses WebSocket frame headers (RFC 6455 5.2) from
// bytes already read, for readers that do not block: the server's
// sessions read by its epoll poller (net/session) and the client's raw
// reads (net/client) take whole frames from their own buffers, where
// gobwas/ws's ReadHeader wants an io.Reader that would wait for the rest
// of a header cut short.
package wsframe

import (
	"encoding/binary"

	"github.com/gobwas/ws"
)

// ParseHeader reads a frame header from the start of b (RFC 6455 5.2),
// as ws.ReadHeader does from a reader: n is its length in bytes, 0 while
// b does not hold all of it; a length with its top bit set is
// ws.ErrHeaderLengthMSB.
func ParseHeader(b []byte) (h ws.Header, n int, err error) {
	if len(b) < 2 {
		return h, 0, nil
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] & 0x70) >> 4
	h.OpCode = ws.OpCode(b[0] & 0x0f)
	h.Masked = b[1]&0x80 != 0
	n = 2
	switch l := b[1] & 0x7f; l {
	case 126:
		if len(b) < 4 {
			return h, 0, nil
		}
		h.Length, n = int64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return h, 0, nil
		}
		u := binary.BigEndian.Uint64(b[2:])
		if u&(1<<63) != 0 {
			return h, 0, ws.ErrHeaderLengthMSB
		}
		h.Length, n = int64(u), 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, nil
		}
		copy(h.Mask[:], b[n:])
		n += 4
	}
	return h, n, nil
}
