package wire_test

import (
	"errors"
	"fmt"

	"github.com/shatter/shatter/net/wire"
)

// A server session decodes each client frame into one reused ClientMessage
// and answers a bad frame with the error code the DecodeError carries.
func ExampleDecoder_DecodeClient() {
	var enc wire.Encoder
	var dec wire.Decoder
	var msg wire.ClientMessage
	frames := [][]byte{
		enc.AppendInput(nil, &wire.Input{Seq: 1, Angle: 0.5, Boost: true}),
		{0x81, 0xa1, 't', 0xa4, 'j', 'u', 'm', 'p'}, // {"t": "jump"}
	}
	for _, frame := range frames {
		err := dec.DecodeClient(frame, &msg)
		var bad *wire.DecodeError
		switch {
		case errors.As(err, &bad):
			fmt.Println("refuse with", bad.Code+":", bad.Err)
		case msg.Type == wire.TypeInput:
			fmt.Printf("input seq=%d angle=%g boost=%t\n", msg.Input.Seq, msg.Input.Angle, msg.Input.Boost)
		}
	}
	// Output:
	// input seq=1 angle=0.5 boost=true
	// refuse with bad_message: unknown t
}

// A session's writer encodes every snapshot into the same buffer.
func ExampleEncoder_AppendSnap() {
	var enc wire.Encoder
	var buf []byte
	snap := wire.Snap{
		Tick:   100,
		Ack:    7,
		HasYou: true,
		You:    wire.UpdEntity{ID: 1, X: 32768, Y: 32768, Mass: 20},
		Add:    []wire.AddEntity{{ID: 1, Kind: wire.KindPlayer, X: 32768, Y: 32768, Mass: 20, Name: "Marble"}},
		Del:    []uint32{5},
	}
	buf = enc.AppendSnap(buf[:0], &snap)

	var dec wire.Decoder
	var msg wire.ServerMessage
	if err := dec.DecodeServer(buf, &msg); err != nil {
		panic(err)
	}
	fmt.Println(msg.Type, len(buf), "bytes:", msg.Snap.Add[0].Name, "added,", msg.Snap.Del, "deleted")
	// Output: snap 67 bytes: Marble added, [5] deleted
}
