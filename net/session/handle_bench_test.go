package session

import (
	"fmt"
	"log/slog"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shatter/shatter/net/lobby"
	"github.com/shatter/shatter/net/metrics"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// BenchmarkHandleInput measures what the read side does with one input
// message once its frame is whole: handler.handle's decode, counter, rate
// limit, seq check and post to the arena. conns=1 handles one session's
// messages again and again; conns=1000 handles a thousand sessions'
// round-robin, as the poller does, so that a session's state is not
// the one just used. The sessions keep the wall clock, whose reading is
// part of the cost, with an input limit too high to refuse any message.
// The arena has no goroutine: the benchmark steps it, with the timer
// stopped, before its inbox fills.
func BenchmarkHandleInput(b *testing.B) {
	for _, conns := range []int{1, 1000} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			arena, err := sim.New(sim.Options{Config: sim.DefaultConfig(), Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			env := &Env{Config: Config{InputsPerSec: 1e9}, Metrics: metrics.New(), Logger: slog.New(slog.DiscardHandler)}
			handlers := make([]*handler, conns)
			for i := range handlers {
				server, client := net.Pipe()
				b.Cleanup(func() { server.Close(); client.Close() })
				c := New(env, server, nil)
				c.seat.Store(&lobby.Seat{ID: uint32(i + 1), Arena: arena})
				h := newHandler(c)
				h.helloDone = true
				handlers[i] = h
			}
			// A session's message m is frames[m%len(frames)], whose seq is
			// m%len(frames)+1; the session's last seq goes back to 0 when
			// the frames wrap around.
			var enc wire.Encoder
			frames := make([][]byte, 1000)
			for k := range frames {
				in := wire.Input{Seq: uint32(k + 1), Angle: 1.2345 + float64(k)/1000, Boost: k%3 == 0}
				frames[k] = enc.AppendInput(nil, &in)
			}
			const inboxRoom = 4000 // sim's default inbox holds 4096
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				i, m := n%conns, n/conns
				if i == 0 && m%len(frames) == 0 && m > 0 {
					b.StopTimer()
					for _, h := range handlers {
						h.lastSeq = 0
					}
					b.StartTimer()
				}
				if n%inboxRoom == inboxRoom-1 {
					b.StopTimer()
					if err := arena.Step(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				if !handlers[i].handle(frames[m%len(frames)]) {
					b.Fatal("handle ended the session")
				}
				n++
			}
			for _, h := range handlers {
				if h.bad != 0 {
					b.Fatalf("a session had %d bad messages", h.bad)
				}
			}
			drops := make(chan prometheus.Metric, numDropReasons)
			env.Metrics.Drops.Collect(drops)
			if len(drops) != 0 {
				b.Fatalf("messages of %d drop reasons were dropped, want none", len(drops))
			}
		})
	}
}
