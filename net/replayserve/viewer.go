package replayserve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/shatter/shatter/net/session"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// Timeouts of a viewer's connection, PROTOCOL.md's.
const (
	helloTimeout = 5 * time.Second // the hello must come within this
	writeTimeout = 5 * time.Second // a write slower than this ends the viewer
	closeTimeout = time.Second     // how long to wait for the client's close frame
	// statusEvery is how often the replay status is sent when nothing
	// in it changed but the tick.
	statusEvery = time.Second
	// maxBadMessages closes the connection at the third bad message.
	maxBadMessages = 3
)

// viewer is one connection watching the match. Its reader goroutine
// (run's, the HTTP handler's) reads and decodes frames and passes what
// they ask to its player goroutine as events; the player owns the
// playback, its clock and every write, so the connection has one writer.
type viewer struct {
	srv *Server
	id  uint32
	log *slog.Logger

	// Static once run starts.
	conn net.Conn

	in         chan event    // reader to player
	readerDone chan struct{} // closed when the reader returns
	playerDone chan struct{} // closed when the player returns
	stop       chan struct{} // closed once by shutdown
	stopOnce   sync.Once

	// Owned by the player goroutine.
	bw      *bufio.Writer
	enc     wire.Encoder
	buf     []byte
	pb      *sim.Playback
	view    *session.View
	snap    wire.Snap
	watch   uint32  // the marble the view follows, 0 for the leader
	speed   float64 // 1 is the recorded tick rate
	paused  bool
	carry   float64              // fractional ticks owed at speeds above 1
	board   *sim.Board           // the last board sent
	players []sim.PlaybackPlayer // as of the last frame sent
	// lastStatus is the last replay status sent.
	lastStatus wire.ReplayStatus
	scratch    []sim.PlaybackPlayer
	feeds      []*sim.Feed
	step       *time.Ticker // the playback's clock, made by the hello
	stepping   <-chan time.Time
	// seeking is closed (always ready) while a seek to seekTo runs, nil
	// otherwise: the seek goes on a chunk at a time between events.
	seeking <-chan struct{}
	seekTo  uint64
}

// seekChunk is how many ticks a seek plays between two looks at the
// viewer's events: about a tenth of a second of a busy arena's ticks, so
// that pings are answered and the status goes out once a second while a
// long seek runs (a browser gives a silent server 5 s).
const seekChunk = 1000

// ready is a channel that is always ready to receive from.
var ready = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// eventKind says what a reader's event asks of the player.
type eventKind uint8

const (
	evHello  eventKind = iota + 1 // a hello of our version: start playing
	evReplay                      // a replay op
	evWatch                       // follow marble id
	evPing                        // answer with a pong
	evWSPing                      // answer a WebSocket ping with payload
	evError                       // send error code/msg; the connection goes on
	evFatal                       // send error code/msg, then close with closeCode
	evClose                       // the client's close frame: echo closeCode
)

// event is a reader's request to the player.
type event struct {
	kind      eventKind
	replay    wire.ReplayControl
	id        uint32
	c         int64
	payload   []byte
	code      wire.ErrorCode
	msg       string
	closeCode ws.StatusCode
}

func newViewer(s *Server, id uint32) *viewer {
	return &viewer{
		srv: s, id: id, log: s.log.With("viewer", id),
		in:         make(chan event, 16),
		readerDone: make(chan struct{}),
		playerDone: make(chan struct{}),
		stop:       make(chan struct{}),
		speed:      1,
	}
}

// shutdown tells the viewer the server stops. Safe from any goroutine,
// before or after run.
func (v *viewer) shutdown() { v.stopOnce.Do(func() { close(v.stop) }) }

// run serves the upgraded connection: the reader on this goroutine, the
// player on one of its own, which exits when the reader has returned (the
// client left), after it sent a close frame (then the reader reads to the
// client's close frame, for closeTimeout at most), or when a write fails.
// The socket is closed once both are done.
func (v *viewer) run(conn net.Conn, br *bufio.Reader) {
	v.conn = conn
	v.bw = bufio.NewWriterSize(conn, 16<<10)
	go v.play()
	v.read(br)
	close(v.readerDone)
	<-v.playerDone
	conn.Close()
}

// post hands an event to the player; false once the player is gone.
func (v *viewer) post(ev event) bool {
	select {
	case v.in <- ev:
		return true
	case <-v.playerDone:
		return false
	}
}

// read reads frames until the client closes, the connection fails, or
// the player ends it. After a message that ends the session (evFatal) it
// reads on without acting on any, to the client's close frame.
func (v *viewer) read(br *bufio.Reader) {
	rd := &wsutil.Reader{
		Source:         br,
		State:          ws.StateServerSide,
		MaxFrameSize:   wire.MaxClientFrameSize,
		MaxMessageSize: wire.MaxClientFrameSize,
	}
	_ = v.conn.SetReadDeadline(time.Now().Add(helloTimeout))
	var (
		dec       wire.Decoder
		msg       wire.ClientMessage
		buf       [wire.MaxClientFrameSize]byte
		helloDone bool
		ended     bool
		bad       int
	)
	fatal := func(code wire.ErrorCode, closeCode ws.StatusCode, text string) {
		ended = true
		v.post(event{kind: evFatal, code: code, msg: text, closeCode: closeCode})
	}
	for {
		hdr, err := rd.NextFrame()
		if err != nil {
			var netErr net.Error
			switch {
			case ended:
			case errors.Is(err, wsutil.ErrFrameTooLarge):
				v.post(event{kind: evFatal, code: wire.CodeTooBig, msg: fmt.Sprintf("frames are limited to %d bytes", wire.MaxClientFrameSize), closeCode: ws.StatusMessageTooBig})
				// The stream is lost: wait for the player's close frame to
				// go out before the socket closes.
				_, _ = io.Copy(io.Discard, br)
			case !helloDone && errors.As(err, &netErr) && netErr.Timeout():
				v.post(event{kind: evFatal, code: wire.CodeNoHello, msg: "no hello within the time limit", closeCode: ws.StatusProtocolError})
				_, _ = io.Copy(io.Discard, br)
			}
			return
		}
		if hdr.OpCode.IsControl() {
			var payload [125]byte
			n, err := io.ReadFull(rd, payload[:hdr.Length])
			if err != nil {
				return
			}
			switch hdr.OpCode {
			case ws.OpPing:
				if !ended {
					v.post(event{kind: evWSPing, payload: slices.Clone(payload[:n])})
				}
			case ws.OpClose:
				code, _ := ws.ParseCloseFrameData(payload[:n])
				if code == 0 {
					code = ws.StatusNormalClosure
				}
				if !ended {
					v.post(event{kind: evClose, closeCode: code})
				}
				return
			}
			continue
		}
		n, err := session.ReadMessage(rd, buf[:])
		if err != nil {
			if errors.Is(err, wsutil.ErrMessageTooLarge) && !ended {
				fatal(wire.CodeTooBig, ws.StatusMessageTooBig, fmt.Sprintf("messages are limited to %d bytes", wire.MaxClientFrameSize))
				_, _ = io.Copy(io.Discard, br)
			}
			return
		}
		if ended {
			continue
		}
		if hdr.OpCode == ws.OpText {
			fatal(wire.CodeTextFrame, ws.StatusUnsupportedData, "text frames are not part of the protocol: send binary msgpack")
			continue
		}
		err = dec.DecodeClient(buf[:n], &msg)
		if !helloDone {
			switch {
			case err != nil || msg.Type != wire.TypeHello:
				fatal(wire.CodeNoHello, ws.StatusProtocolError, "the first message must be a hello")
			case msg.Hello.Version != wire.Version:
				fatal(wire.CodeVersion, ws.StatusProtocolError, fmt.Sprintf("protocol version %d is not supported; this server speaks %d", msg.Hello.Version, wire.Version))
			default:
				helloDone = true
				_ = v.conn.SetReadDeadline(time.Time{})
				v.post(event{kind: evHello})
			}
			continue
		}
		why := ""
		switch {
		case err != nil:
			why = err.Error()
		case msg.Type == wire.TypeHello:
			why = "hello was already received"
		case msg.Type == wire.TypeReplay:
			v.post(event{kind: evReplay, replay: msg.Replay})
		case msg.Type == wire.TypeWatch:
			v.post(event{kind: evWatch, id: msg.Watch.ID})
		case msg.Type == wire.TypePing:
			v.post(event{kind: evPing, c: msg.Ping.C})
		}
		// spawn and input are ignored: a recording has no seat to play.
		if why != "" {
			if bad++; bad >= maxBadMessages {
				fatal(wire.CodeBadMessage, ws.StatusProtocolError, fmt.Sprintf("%s (bad message %d: closing)", why, bad))
			} else {
				v.post(event{kind: evError, code: wire.CodeBadMessage, msg: why})
			}
		}
	}
}

// play is the player goroutine: it waits for the hello, then plays the
// match at the viewer's speed, answers the reader's events, and writes
// everything the viewer is sent. It returns when the reader has returned,
// after a close frame, or when a write fails; a panic (a bug in the
// playback) ends this viewer only, with error internal.
func (v *viewer) play() {
	defer close(v.playerDone)
	defer func() {
		if v.step != nil {
			v.step.Stop()
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			v.log.Error("replay viewer panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			v.end(wire.CodeInternal, "a fault inside the server ended this viewer", ws.StatusInternalServerError)
		}
	}()
	status := time.NewTicker(statusEvery)
	defer status.Stop()
	for {
		var ok bool
		select {
		case ev := <-v.in:
			ok = v.handle(ev)
		case <-v.stepping:
			ok = v.advance()
		case <-v.seeking:
			ok = v.seekOn()
		case <-status.C:
			ok = v.pb == nil || v.sendStatus()
		case <-v.readerDone:
			// The reader is done: what the client asked before is moot
			// but the answer to its close frame, or a last error, which it
			// may still read.
			for len(v.in) > 0 {
				if ev := <-v.in; ev.kind == evFatal || ev.kind == evClose {
					v.handle(ev)
				}
			}
			return
		case <-v.stop:
			v.end(wire.CodeShutdown, "server shutting down", ws.StatusGoingAway)
			return
		}
		if ok {
			ok = v.flush()
		}
		if !ok {
			return
		}
	}
}

// handle does what an event asks and reports whether the viewer goes on.
func (v *viewer) handle(ev event) bool {
	switch ev.kind {
	case evHello:
		return v.start()
	case evReplay:
		return v.control(ev.replay)
	case evWatch:
		if ev.id != 0 {
			f := v.pb.Acquire()
			marble := f.Marble(ev.id) != nil
			f.Release()
			if !marble {
				// As live: an id that is no marble now is ignored.
				return true
			}
		}
		v.watch = ev.id
		v.view.Watch(ev.id)
		if v.paused && v.seeking == nil {
			// No tick comes to show the new view: show it in a snap of
			// the tick that stands.
			return v.sendFrame(false)
		}
		return true
	case evPing:
		// While a seek runs, the tick it has reached.
		tick := uint64(0)
		if v.pb != nil {
			tick = v.pb.Tick()
		}
		return v.send(v.enc.AppendPong(v.buf[:0], &wire.Pong{C: ev.c, Tick: tick}))
	case evWSPing:
		return v.frame(ws.OpPong, ev.payload)
	case evError:
		return v.send(v.enc.AppendError(v.buf[:0], &wire.ErrorMessage{Code: ev.code, Msg: ev.msg}))
	case evFatal:
		v.end(ev.code, ev.msg, ev.closeCode)
		return false
	case evClose:
		v.closeWith(ev.closeCode)
		return false
	}
	return true
}

// start begins a viewer's playback at the log's first tick, playing at
// the recorded rate.
func (v *viewer) start() bool {
	pb, err := sim.NewPlayback(v.srv.cfg.Replay)
	if err != nil {
		v.log.Error("replay playback failed to start", "err", err)
		v.end(wire.CodeInternal, "the replay could not be played", ws.StatusInternalServerError)
		return false
	}
	v.pb = pb
	v.step = time.NewTicker(v.period())
	v.stepping = v.step.C
	return v.restarted()
}

// period is the time between two sends of the playback: a tick's at the
// recorded rate and above (faster speeds step several ticks a send),
// longer below it.
func (v *viewer) period() time.Duration {
	rate := float64(v.srv.cfg.Replay.Config.TickRate) * min(v.speed, 1)
	return time.Duration(float64(time.Second) / rate)
}

// control applies a replay op (checked by the decoder).
func (v *viewer) control(c wire.ReplayControl) bool {
	switch c.Op {
	case wire.ReplayPause:
		v.paused = true
	case wire.ReplayPlay:
		if v.pb.Tick() >= v.pb.LastTick() {
			// Play at the end plays the match again.
			v.paused = false
			return v.seek(0)
		}
		v.paused = false
	case wire.ReplaySpeed:
		v.speed, v.carry = c.Arg, 0
		v.step.Reset(v.period())
	case wire.ReplaySeek:
		return v.seek(uint64(c.Arg))
	}
	return v.sendStatus()
}

// seek starts moving the playback to tick; seekOn goes on with it. The
// playback stops playing meanwhile, and a new seek replaces this one.
func (v *viewer) seek(tick uint64) bool {
	v.seekTo = tick
	v.seeking, v.stepping = ready, nil
	return v.seekOn()
}

// seekOn plays a chunk of the seek, and once the playback is there starts
// the viewer afresh at its tick.
func (v *viewer) seekOn() bool {
	done, err := v.pb.SeekToward(v.seekTo, seekChunk)
	if err != nil {
		v.log.Error("replay seek failed", "tick", v.seekTo, "err", err)
		v.end(wire.CodeInternal, "the replay could not be played", ws.StatusInternalServerError)
		return false
	}
	if !done {
		return true
	}
	v.seeking, v.stepping = nil, v.step.C
	v.carry = 0
	return v.restarted()
}

// restarted sends what a viewer starts from at the playback's tick: a
// welcome (the client empties its table), the board, a snap of
// everything in view, and the status.
func (v *viewer) restarted() bool {
	cfg := v.pb.Config()
	n, heights := v.pb.Terrain()
	if !v.send(v.enc.AppendWelcome(v.buf[:0], &wire.Welcome{
		Version: wire.Version, Session: v.id, Tick: v.pb.Tick(), Rate: cfg.TickRate,
		ArenaWidth: cfg.ArenaWidth, ArenaHeight: cfg.ArenaHeight,
		TerrainSize: n, Terrain: heights, Rules: v.srv.rules,
	})) {
		return false
	}
	v.view = session.NewView()
	v.view.Watch(v.watch)
	v.board = nil
	if v.pb.Tick() >= v.pb.LastTick() {
		v.paused = true
	}
	return v.sendFrame(true)
}

// advance plays the ticks due at this send (one, or at speeds above 1
// that many: the ticks between are not sent) and sends the last one's
// state. Ticks the machine could not play in time are dropped with the
// sends the ticker drops, never caught up in a burst.
func (v *viewer) advance() bool {
	if v.paused {
		return true
	}
	v.carry += max(v.speed, 1)
	n := int(v.carry)
	v.carry -= float64(n)
	stepped := 0
	for range n {
		ok, err := v.pb.Step()
		if err != nil {
			v.log.Error("replay step failed", "err", err)
			v.end(wire.CodeInternal, "the replay could not be played", ws.StatusInternalServerError)
			return false
		}
		if !ok {
			// The log's end: the playback stops there.
			v.paused = true
			break
		}
		stepped++
	}
	if stepped == 0 {
		return v.sendStatus()
	}
	return v.sendFrame(false)
}

// sendFrame sends the feeds of the ticks played since the last send, the
// board when it is new, a snap of the current frame, and the status when
// always is set or the players or the pause changed.
func (v *viewer) sendFrame(always bool) bool {
	v.feeds = v.pb.TakeFeeds(v.feeds[:0])
	for _, fd := range v.feeds {
		if !v.send(v.enc.AppendFeed(v.buf[:0], &wire.Feed{Tick: fd.Tick, Events: fd.Events})) {
			return false
		}
	}
	clear(v.feeds)
	if b := v.pb.Board(); b != nil && b != v.board {
		v.board = b
		if !v.send(v.enc.AppendBoard(v.buf[:0], b, nil)) {
			return false
		}
	}
	f := v.pb.Acquire()
	if !v.view.Delta(f, 0, &v.snap) {
		// Played past what a delta can span (more than a few seconds in
		// one send): start the viewer afresh at this tick.
		f.Release()
		return v.restarted()
	}
	// The snap holds names from the frame: encode before releasing it.
	v.buf = v.enc.AppendSnap(v.buf[:0], &v.snap)
	v.scratch = sim.Players(f, v.scratch[:0])
	f.Release()
	if !v.send(v.buf) {
		return false
	}
	changed := !slices.Equal(v.scratch, v.players)
	if changed {
		v.players = append(v.players[:0], v.scratch...)
	}
	if always || changed || v.paused != v.lastStatus.Paused {
		return v.sendStatus()
	}
	return true
}

// sendStatus sends the replay status.
func (v *viewer) sendStatus() bool {
	v.lastStatus = wire.ReplayStatus{Tick: v.pb.Tick(), Last: v.pb.LastTick(), Speed: v.speed, Paused: v.paused, Players: v.players}
	return v.send(v.enc.AppendReplayStatus(v.buf[:0], &v.lastStatus))
}

// send writes a binary message into the connection's buffer (flush
// writes it out); false when the write failed.
func (v *viewer) send(payload []byte) bool {
	v.buf = payload
	return v.frame(ws.OpBinary, payload)
}

// frame buffers one frame.
func (v *viewer) frame(op ws.OpCode, payload []byte) bool {
	_ = v.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := ws.WriteHeader(v.bw, ws.Header{Fin: true, OpCode: op, Length: int64(len(payload))}); err != nil {
		return v.writeFailed(err)
	}
	if _, err := v.bw.Write(payload); err != nil {
		return v.writeFailed(err)
	}
	return true
}

// flush writes out what the buffer holds.
func (v *viewer) flush() bool {
	_ = v.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := v.bw.Flush(); err != nil {
		return v.writeFailed(err)
	}
	return true
}

// writeFailed ends a viewer whose connection cannot be written: the
// reader is stopped at once.
func (v *viewer) writeFailed(err error) bool {
	if !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrDeadlineExceeded) {
		v.log.Debug("replay viewer write failed", "err", err)
	}
	_ = v.conn.SetReadDeadline(time.Now())
	return false
}

// end sends an error and closes with code.
func (v *viewer) end(code wire.ErrorCode, msg string, closeCode ws.StatusCode) {
	if v.send(v.enc.AppendError(v.buf[:0], &wire.ErrorMessage{Code: code, Msg: msg})) {
		v.closeWith(closeCode)
	}
}

// closeWith sends a close frame and gives the client closeTimeout to
// answer with its own before the socket closes.
func (v *viewer) closeWith(code ws.StatusCode) {
	if v.frame(ws.OpClose, ws.NewCloseFrameBody(code, "")) && v.flush() {
		_ = v.conn.SetReadDeadline(time.Now().Add(closeTimeout))
	}
}
