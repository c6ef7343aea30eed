package wire

import (
	"fmt"
	"testing"

	"github.com/shatter/shatter/sim"
)

// snapOf returns a snap with the given numbers of added and updated
// entities, named like players.
func snapOf(adds, upds int) *Snap {
	s := &Snap{Tick: 123456, Ack: 789, HasYou: true, You: UpdEntity{ID: 7, X: 32000, Y: 31000, Mass: 250}}
	for i := range adds {
		s.Add = append(s.Add, AddEntity{ID: uint32(100000 + i), Kind: uint8(i % 4), X: uint16(i * 211), Y: uint16(i * 97), Mass: uint32(20 + i), Name: "player"})
	}
	for i := range upds {
		s.Upd = append(s.Upd, UpdEntity{ID: uint32(200000 + i), X: uint16(i * 211), Y: uint16(i * 97), Mass: uint32(20 + i*3)})
	}
	s.Del = []uint32{5, 6, 70000}
	return s
}

// boardOf returns a board of rows rows and a fleet part with as many.
func boardOf(rows int) (*sim.Board, *FleetBoard) {
	b := &sim.Board{Count: 40}
	f := &FleetBoard{HasGlobal: true, HasOnline: true, Online: 2500}
	for i := range rows {
		b.Top = append(b.Top, sim.BoardRow{ID: uint32(i + 1), Name: "player", Mass: uint32(1000 - i)})
		f.Global = append(f.Global, GlobalRow{Name: "player", Mass: uint32(5000 - i)})
	}
	return b, f
}

// BenchmarkEncodeBoard measures the once-a-second board, with and without
// the fleet's part.
func BenchmarkEncodeBoard(b *testing.B) {
	board, fleet := boardOf(10)
	for _, bc := range []struct {
		name  string
		fleet *FleetBoard
	}{{"arena", nil}, {"fleet", fleet}} {
		b.Run(bc.name, func(b *testing.B) {
			var e Encoder
			buf := e.AppendBoard(nil, board, bc.fleet)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = e.AppendBoard(buf[:0], board, bc.fleet)
			}
		})
	}
}

// BenchmarkEncodeSnap measures the per-session encode of the server's
// hottest message; ns/entity is the figure to hold under 50.
func BenchmarkEncodeSnap(b *testing.B) {
	for _, size := range []struct{ adds, upds int }{{50, 100}, {0, 300}, {300, 0}} {
		b.Run(fmt.Sprintf("add=%d/upd=%d", size.adds, size.upds), func(b *testing.B) {
			var e Encoder
			snap := snapOf(size.adds, size.upds)
			buf := e.AppendSnap(nil, snap)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = e.AppendSnap(buf[:0], snap)
			}
			entities := size.adds + size.upds
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*entities), "ns/entity")
		})
	}
}

// BenchmarkDecodeInput measures the server's hottest decode.
func BenchmarkDecodeInput(b *testing.B) {
	var e Encoder
	frame := e.AppendInput(nil, &Input{Seq: 123456, Angle: 1.2345, Boost: true})
	var d Decoder
	var m ClientMessage
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.DecodeClient(frame, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeSnap measures what a Go client (the load generator) pays
// per snapshot, decoding into a warm ServerMessage.
func BenchmarkDecodeSnap(b *testing.B) {
	var e Encoder
	frame := e.AppendSnap(nil, snapOf(50, 100))
	var d Decoder
	var m ServerMessage
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.DecodeServer(frame, &m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*150), "ns/entity")
}
