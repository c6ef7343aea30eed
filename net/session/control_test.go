package session

import (
	"encoding/binary"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/wire"
)

// closeBody is a close frame's payload: a code, then a reason.
func closeBody(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// TestCloseFrameReplies: the server answers a client's close frame as
// RFC 6455 says: a valid code is echoed, no code is answered with 1000, and
// a 1-byte payload, a code that may not be sent or a reason that is not
// UTF-8 is a protocol error.
func TestCloseFrameReplies(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    ws.StatusCode
	}{
		{"empty", nil, 1000},
		{"normal", closeBody(1000, "bye"), 1000},
		{"going away", closeBody(1001, ""), 1001},
		{"internal", closeBody(1011, ""), 1011},
		{"try again later", closeBody(1013, ""), 1013},
		{"bad gateway", closeBody(1014, ""), 1014},
		{"library code", closeBody(3000, ""), 3000},
		{"application code", closeBody(4999, "x"), 4999},
		{"one byte", []byte{0x03}, 1002},
		{"below the range", closeBody(999, ""), 1002},
		{"reserved 1004", closeBody(1004, ""), 1002},
		{"no status 1005", closeBody(1005, ""), 1002},
		{"abnormal 1006", closeBody(1006, ""), 1002},
		{"tls 1015", closeBody(1015, ""), 1002},
		{"unassigned 1016", closeBody(1016, ""), 1002},
		{"unassigned 2999", closeBody(2999, ""), 1002},
		{"above the range", closeBody(5000, ""), 1002},
		{"reason not utf-8", closeBody(1000, "\xff\xfe"), 1007},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				env := newEnv(t, Config{})
				c := dial(t, env, nil)
				c.hello("closer", "")
				c.expect(wire.TypeWelcome)
				c.sendFrame(ws.OpClose, tt.payload)
				if code, errs := c.expectClose(time.Second); code != tt.want || len(errs) != 0 {
					t.Fatalf("close %d after errors %v, want %d", code, errs, tt.want)
				}
			})
		})
	}
}

// TestFragmentedHelloThenClose: a close frame inside a fragmented hello
// ends the session; the fragment is discarded, so no seat is taken and no
// welcome sent. The same hello with a ping in the middle instead is
// welcomed (control frames may come between fragments), which shows the
// hello itself was good.
func TestFragmentedHelloThenClose(t *testing.T) {
	for _, closing := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			env := newEnv(t, Config{})
			a := env.Lobby.Arenas()[0]
			c := dial(t, env, nil)
			// The whole hello in a first fragment: cut short there, it
			// would still decode.
			hello := c.enc.AppendHello(nil, &wire.Hello{Version: 1, Name: "sneaky"})
			c.sendFrame2(ws.OpBinary, false, hello)
			if closing {
				c.sendFrame(ws.OpClose, closeBody(1000, ""))
			} else {
				c.sendFrame(ws.OpPing, []byte("mid"))
			}
			// The message's last (empty) fragment, from another goroutine:
			// after a close the server stops reading, and a write on
			// net.Pipe waits for a reader. A failed write is fine.
			go func() { _ = c.writeFrame2(ws.OpContinuation, true, nil) }()
			if !closing {
				c.expect(wire.TypeWelcome)
				if got := a.Seats(); got != 1 {
					t.Fatalf("welcomed hello: %d seats taken, want 1", got)
				}
				return
			}
			got, code := c.readUntil(wire.TypeWelcome)
			if got || code != ws.StatusNormalClosure {
				t.Fatalf("close inside a fragmented hello: welcome %v, close %d; want no welcome, close 1000", got, code)
			}
			c.conn.Close()
			<-c.done
			synctest.Wait()
			// The seat of a hello handled after the close would have been
			// given back by now: the hello must not have been handled.
			if got := value(t, env.Metrics.MessagesIn.WithLabelValues("hello")); got != 0 {
				t.Fatalf("close inside a fragmented hello: %v hellos handled, want 0", got)
			}
			if got := a.Seats(); got != 0 {
				t.Fatalf("close inside a fragmented hello: %d seats taken, want 0", got)
			}
		})
	}
}

// TestWSPingRateLimit: WebSocket pings beyond 2 a second (after a burst
// of 4) are dropped unanswered and counted; the client is told
// rate_limited at most once a second; a flood that lasts RateLimitClose
// (5 s) ends the session with 1008.
func TestWSPingRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newEnv(t, Config{})
		c := dial(t, env, nil)
		c.hello("pinger", "")
		c.expect(wire.TypeWelcome)
		start := time.Now()
		stop := make(chan struct{})
		flooded := make(chan int)
		go func() { // 20 pings a second until the session ends
			n := 0
			defer func() { flooded <- n }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if c.writeFrame(ws.OpPing, []byte("flood")) != nil {
					return
				}
				n++
				time.Sleep(50 * time.Millisecond)
			}
		}()
		pongs, code := 0, ws.StatusCode(0)
		var errs []wire.ErrorCode
		_ = c.conn.SetReadDeadline(time.Now().Add(time.Minute))
	read:
		for {
			f, err := readFrame(c.conn)
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			switch f.Header.OpCode {
			case ws.OpPong:
				pongs++
			case ws.OpPing:
				_ = c.writeFrame(ws.OpPong, f.Payload)
			case ws.OpClose:
				code, _ = ws.ParseCloseFrameData(f.Payload)
				break read
			case ws.OpBinary:
				if c.dec.DecodeServer(f.Payload, &c.msg) == nil && c.msg.Type == wire.TypeError {
					errs = append(errs, c.msg.Error.Code)
				}
			}
		}
		closedAfter := time.Since(start)
		close(stop)
		sent := <-flooded
		if code != ws.StatusPolicyViolation || len(errs) < 5 || errs[len(errs)-1] != wire.CodeRateLimited {
			t.Fatalf("close %d after errors %v, want 1008 after one rate_limited a second", code, errs)
		}
		// The burst lasts 4 pings (200 ms); the episode over the limit
		// begins then.
		if limit := 5*time.Second + 200*time.Millisecond; closedAfter < limit || closedAfter > limit+100*time.Millisecond {
			t.Fatalf("closed %v after the flood began, want RateLimitClose (5 s) after the burst", closedAfter)
		}
		// A burst of 4, then 2 a second for 5 s.
		if pongs < 12 || pongs > 16 {
			t.Fatalf("%d pongs for %d pings in %v, want about 14", pongs, sent, closedAfter)
		}
		dropped := value(t, env.Metrics.Drops.WithLabelValues("rate_limited_ws_ping"))
		if int(dropped)+pongs != sent && int(dropped)+pongs != sent-1 {
			t.Fatalf("%d pings sent, %d answered, %v dropped: some unaccounted for", sent, pongs, dropped)
		}
	})
}

// TestWSPingsWithinLimitAnswered: a client pinging at its allowance is
// answered every time and never told off.
func TestWSPingsWithinLimitAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newEnv(t, Config{})
		c := dial(t, env, nil)
		c.hello("polite", "")
		c.expect(wire.TypeWelcome)
		deadline := time.Now().Add(10 * time.Second)
		for i := 0; time.Now().Before(deadline); i++ {
			c.sendFrame(ws.OpPing, []byte{byte(i)})
			_ = c.conn.SetReadDeadline(time.Now().Add(time.Second))
			for {
				f, err := readFrame(c.conn)
				if err != nil {
					t.Fatalf("ping %d: %v", i, err)
				}
				if f.Header.OpCode == ws.OpPing {
					_ = c.writeFrame(ws.OpPong, f.Payload)
				}
				if f.Header.OpCode == ws.OpClose {
					t.Fatalf("ping %d: closed", i)
				}
				if c.dec.DecodeServer(f.Payload, &c.msg) == nil && c.msg.Type == wire.TypeError {
					t.Fatalf("ping %d: error %s", i, c.msg.Error.Code)
				}
				if f.Header.OpCode == ws.OpPong && len(f.Payload) == 1 && f.Payload[0] == byte(i) {
					break
				}
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
}

// TestResumeRotatesToken: a connection that takes a session over with its
// token is welcomed with a new token, the replaced one is closed with
// 4002, and the old token is then answered with resume_expired.
func TestResumeRotatesToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newEnv(t, Config{})
		first := dial(t, env, nil)
		first.hello("ann", "")
		w := first.expect(wire.TypeWelcome).Welcome

		second := dial(t, env, nil)
		second.hello("ann", w.Token)
		w2 := second.expect(wire.TypeWelcome).Welcome
		if w2.Session != w.Session || w2.Token == w.Token || w2.Token == "" {
			t.Fatalf("takeover welcome: session %d token %q; want session %d and a new token (old %q)", w2.Session, w2.Token, w.Session, w.Token)
		}
		if code, _ := first.expectClose(time.Second); code != CloseReplaced {
			t.Fatalf("replaced connection closed with %d, want 4002", code)
		}

		third := dial(t, env, nil)
		third.hello("ann", w.Token)
		if m := third.expect(wire.TypeError); m.Error.Code != wire.CodeResumeExpired {
			t.Fatalf("old token: error %q, want resume_expired", m.Error.Code)
		}
		w3 := third.expect(wire.TypeWelcome).Welcome
		if w3.Session == w.Session {
			t.Fatal("the old token took the session over")
		}
		// Names: welcome.name comes only when the server changed the name
		// asked for. The resumed session keeps its own (none sent); a new
		// one asking for a name taken in the arena plays under a numbered
		// one, and is told.
		if w.Name != "" || w2.Name != "" || w3.Name != "ann 2" {
			t.Errorf("welcome names %q, %q, %q; want none, none, ann 2", w.Name, w2.Name, w3.Name)
		}
	})
}
