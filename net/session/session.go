package session

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shatter/shatter/net/detach"
	"github.com/shatter/shatter/net/lobby"
	"github.com/shatter/shatter/net/metrics"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// Config holds the session limits. The zero value of a field means its
// PROTOCOL.md default (see withDefaults).
type Config struct {
	HelloTimeout   time.Duration // first message deadline (5 s)
	WriteTimeout   time.Duration // a write slower than this ends the session as a slow consumer (5 s)
	ReliableQueue  int           // reliable messages waiting to be written (64)
	InputsPerSec   float64       // input rate limit (60)
	PingsPerSec    float64       // ping rate limit (2)
	WSPingsPerSec  float64       // WebSocket ping control frame rate limit (2, with a burst of 2 s' worth)
	SpawnsPerSec   float64       // spawn rate limit (2)
	WatchesPerSec  float64       // watch rate limit (2)
	RateLimitClose time.Duration // over the limit this long closes with 1008 (5 s)
	MaxBadMessages int           // the session is closed at this many bad messages (3)
	CloseTimeout   time.Duration // how long to wait for the client's close frame (1 s)
	// IdleTimeout ends a session that has no living marble and sends no
	// spawn, input or watch for this long, with
	// idle and 1008 (60 s): a silent spectator must not hold a seat.
	// NoIdleTimeout (any negative value) turns it off.
	IdleTimeout time.Duration
	// StallTimeout ends, as a slow consumer (4001), a session whose client
	// has not shown for this long that it reads: it left the server's
	// last WebSocket ping unanswered, or the bytes queued in the kernel
	// for it stayed over their bound (3 s). The server pings every third
	// of it. Kernel buffers on either side cannot hide a client that stops
	// reading, since a ping behind them goes unanswered.
	StallTimeout time.Duration
	// SendBuffer caps the kernel's send buffer per connection (128 KiB):
	// a client that stops reading then blocks the writer within a few
	// seconds of snapshots instead of parking megabytes in the kernel, and
	// is closed as a slow consumer.
	SendBuffer int
}

// NoIdleTimeout as Config.IdleTimeout never closes a session for idling.
const NoIdleTimeout time.Duration = -1

func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.HelloTimeout, 5*time.Second)
	def(&c.WriteTimeout, 5*time.Second)
	def(&c.RateLimitClose, 5*time.Second)
	def(&c.CloseTimeout, time.Second)
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 60 * time.Second
	}
	def(&c.StallTimeout, 3*time.Second)
	if c.ReliableQueue <= 0 {
		// A feed in every tick with a bust or spike hit (at most one a
		// tick, however big the burst), a board a second, the odd died and
		// pong: 64 is two seconds of feeds at 30 ticks a second, so a
		// client that reads at the tick rate never fills it, while a
		// writer stalled that long is a slow consumer anyway.
		c.ReliableQueue = 64
	}
	if c.InputsPerSec <= 0 {
		c.InputsPerSec = 60
	}
	if c.PingsPerSec <= 0 {
		c.PingsPerSec = 2
	}
	if c.WSPingsPerSec <= 0 {
		c.WSPingsPerSec = 2
	}
	if c.SpawnsPerSec <= 0 {
		c.SpawnsPerSec = 2
	}
	if c.WatchesPerSec <= 0 {
		c.WatchesPerSec = 2
	}
	if c.MaxBadMessages <= 0 {
		c.MaxBadMessages = 3
	}
	if c.SendBuffer <= 0 {
		c.SendBuffer = 128 << 10
	}
	return c
}

// CloseReason says why a session ended; counted in metrics and logged.
type CloseReason string

// Close reasons.
const (
	ReasonClientClosed CloseReason = "client_closed" // close frame or EOF from the client
	ReasonReadError    CloseReason = "read_error"    // connection failed while reading
	ReasonNoHello      CloseReason = "no_hello"
	ReasonVersion      CloseReason = "version"
	ReasonBadMessages  CloseReason = "bad_messages"
	ReasonTooBig       CloseReason = "too_big"
	ReasonTextFrame    CloseReason = "text_frame"
	ReasonRateLimited  CloseReason = "rate_limited"
	ReasonSlowConsumer CloseReason = "slow_consumer"
	ReasonWriteError   CloseReason = "write_error"
	ReasonFull         CloseReason = "full"
	ReasonShutdown     CloseReason = "shutdown"
	ReasonReplaced     CloseReason = "replaced" // its seat was resumed on another connection
	ReasonPanic        CloseReason = "panic"
	ReasonMoved        CloseReason = "moved"        // the player continues on another node
	ReasonArenaFailed  CloseReason = "arena_failed" // a fault stopped the session's arena
	ReasonIdle         CloseReason = "idle"         // no marble and no spawn, input or watch for IdleTimeout
	ReasonKicked       CloseReason = "kicked"       // an operator kicked the session (Kick)
)

// Close codes that gobwas/ws does not name.
const (
	// CloseTryAgainLater (1013, RFC 6455 registry) refuses a client when
	// every arena is full.
	CloseTryAgainLater ws.StatusCode = 1013
	// CloseReplaced ends a connection whose seat a newer connection resumed.
	CloseReplaced ws.StatusCode = 4002
)

// outKind is the type of a queued reliable message.
type outKind uint8

const (
	outWelcome outKind = iota + 1
	outDied
	outBoard
	outPong
	outError
	outFeed
	outMoved // only ever the last message, from finalMoved
)

// outMsg is a reliable message waiting for the writer. It is kept small,
// since every session holds a queue of them: the pong inline, anything
// else behind one pointer (the seat, the shared board, or a died or error
// allocated when it happens, which is rare).
type outMsg struct {
	kind outKind
	pong wire.Pong
	// ref is *welcomeFor, *sim.Board, *sim.Feed, *sim.Died or
	// *wire.ErrorMessage.
	ref any
}

// welcomeFor is what a welcome is made of: the seat, and its token as it
// was when the lobby seated this connection (Seat.Token is the lobby's to
// change).
type welcomeFor struct {
	seat  *lobby.Seat
	token string
	// name is the seat's name when it is not the one the hello asked for
	// (cleaned, made distinct, or carried from another node), else "":
	// welcome.name is sent only then (PROTOCOL.md).
	name string
}

// Env is what every session of a server shares. It must not be copied
// after its first session starts.
type Env struct {
	Config  Config
	Lobby   *lobby.Lobby
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Rules are the welcome's rules; never modified by sessions.
	Rules []wire.Rule
	// Clock times the sessions' deadlines and rate limits; the wall clock
	// if nil. Connection deadlines are computed from its Now, and a
	// net.Conn reads them as wall-clock times, so a clock that is not the
	// wall clock suits only a connection that keeps its time. (Inside a
	// testing/synctest bubble the wall clock is the bubble's fake one, which
	// net.Pipe's deadlines follow too.)
	Clock sim.Clock
	// Workers is how many snapshot workers service the sessions' writes
	// (pool.go); GOMAXPROCS if 0.
	Workers int

	dropLog  dropLog // throttles the drop log lines of every session
	poolOnce sync.Once
	pool     *pool // made by workers at the first session on a socket
	pollOnce sync.Once
	poll     *poller // made by poller at the first session started on a socket
}

// Conn is one WebSocket connection and the session it plays.
type Conn struct {
	env   *Env
	cfg   Config
	log   *slog.Logger
	clock sim.Clock // Env.Clock, or the wall clock
	conn  net.Conn
	br    *bufio.Reader // owned by the reader; nil when the poller reads (read.go)
	rd    pollRead      // the read side when the poller reads (read.go)
	// onEnd is called once the session is over (Start); static after
	// Start.
	onEnd func()
	since time.Time // when New made it; static

	// Work for the writer side, each followed by schedule (pool.go).
	// ready says the arena published a frame since the last snap pass
	// (latest frame wins); reliable is the bounded queue; pongs carries
	// the payloads of client pings to answer with WebSocket pongs.
	ready atomic.Bool
	// closed says closing is closed: what every pass asks (isClosing),
	// beside ready rather than behind the channel's pointer.
	closed   atomic.Bool
	reliable outQueue
	pongs    chan []byte
	// closing is closed once, by finish, when the session must end; the
	// writer side then sends finalErr (if any) and a close frame with
	// closeCode.
	closing     chan struct{}
	closeOnce   sync.Once
	closeCode   ws.StatusCode
	closeReason CloseReason
	closeText   string
	finalErr    *wire.ErrorMessage
	finalMoved  *wire.Moved   // the moved that ends the session, if it moves
	writerDone  chan struct{} // closed when the writer side has ended (endWriter)

	// Scheduling (pool.go). run is the session's state there (stIdle...);
	// shard is the worker's queue it goes on, nil when its connection is
	// not a socket a worker can write without waiting (then every pass
	// runs on the session's own goroutine). Static after New but run.
	run   atomic.Int32
	shard *shard

	// askedName is the name of the hello, set by the reader before Join
	// (Seated, which reads it, runs inside Join).
	askedName string

	seat atomic.Pointer[lobby.Seat] // set by the reader after hello
	// arenaBytes counts what is sent to the seat's arena's sessions, set
	// with seat.
	arenaBytes atomic.Pointer[arenaCounter]
	live       liveness // see stall.go for who owns what
	// watch is the marble the client asked to spectate (PROTOCOL.md
	// `watch`), 0 for the leader: set by the reader, read by the writer
	// for each snap. A view choice, it stays in the session and never
	// reaches the arena.
	watch atomic.Uint32

	// Owned by the writer side: whichever goroutine services the session
	// (a worker or the session's own; one at a time, see pool.go).
	blocking bool      // writes may wait: this is the session's own goroutine
	raw      rawWriter // a worker's writes
	// rest is what a worker could not write of a frame at once; the
	// session's own goroutine writes it before anything else.
	rest        []byte
	writerPanic bool // a pass panicked: the session is ending with 1011
	view        *View
	enc         wire.Encoder
	pooled      *[]byte // the buffer borrowed for the message being written
	// batch gathers a worker pass's frames for its one write (nil
	// outside such a pass); borrowed from bufPool.
	batch    *[]byte
	lastTick uint64
	// fleetFrom is the lobby's fleet board that fleetWire was made from.
	fleetFrom *lobby.FleetBoard
	fleetWire wire.FleetBoard

	// Metrics resolved once per connection.
	mSnap     prometheus.Counter
	mReliable [outMoved + 1]prometheus.Counter
}

// readBufferSize is a session's read buffer: client messages are small
// (an input is about 30 bytes), so 512 bytes still take several per read
// system call.
const readBufferSize = 512

// SmallReader returns a small buffered reader for a session on conn that
// first yields whatever the upgrade's reader had already buffered, so the
// upgrade's 4 KiB buffer need not live as long as the session. Those
// bytes are in its buffer (Buffered), where a session read by the poller
// takes them from.
func SmallReader(upgraded *bufio.Reader, conn net.Conn) *bufio.Reader {
	n := upgraded.Buffered()
	if n == 0 {
		return bufio.NewReaderSize(conn, readBufferSize)
	}
	early, _ := upgraded.Peek(n)
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn), max(readBufferSize, n))
	_, _ = br.Peek(n) // one read of the bytes.Reader: conn is not read
	return br
}

// New wraps an upgraded connection. br reads the connection, starting with
// any bytes the upgrade had already buffered (see SmallReader). Writes go
// to conn directly, a whole frame per write.
func New(env *Env, conn net.Conn, br *bufio.Reader) *Conn {
	if tc, ok := conn.(*net.TCPConn); ok {
		// Out of the runtime's poller (net/detach): the poller and the
		// snapshot workers make every call without waiting, and a
		// registration with the runtime's epoll would only cost events.
		if d, err := detach.New(tc); err == nil {
			if br.Buffered() == 0 {
				br.Reset(d) // its buffer kept: nothing read from tc is lost
			} else {
				br = SmallReader(br, d)
			}
			conn = d
			tc.Close()
		}
	}
	cfg := env.Config.withDefaults()
	clock := env.Clock
	if clock == nil {
		clock = sim.RealClock{}
	}
	c := &Conn{
		env: env, cfg: cfg, clock: clock, conn: conn, br: br, since: clock.Now(),
		log:        env.Logger.With("remote", conn.RemoteAddr().String()),
		reliable:   outQueue{limit: cfg.ReliableQueue},
		pongs:      make(chan []byte, 4),
		closing:    make(chan struct{}),
		writerDone: make(chan struct{}),
		view:       NewView(),
	}
	if tc, ok := conn.(interface{ SetWriteBuffer(int) error }); ok {
		_ = tc.SetWriteBuffer(cfg.SendBuffer)
	}
	c.initLiveness()
	// Until Start or Serve runs, the read side is its starter's: a
	// wake-up before then (the writer side ending, say) is kept as
	// rdAgain for startPolled to act on, rather than a read pass started
	// on a session the poller does not have yet.
	c.rd.state.Store(rdRunning)
	if c.raw.init(conn); c.raw.ok() {
		c.shard = env.workers().place()
		if c.rd.pollable = pollable(conn); c.rd.pollable {
			c.rd.sides.Store(2)
		}
	}
	c.mSnap = env.Metrics.MessagesOut.WithLabelValues("snap")
	for k, name := range map[outKind]string{outWelcome: "welcome", outDied: "died", outBoard: "board", outPong: "pong", outError: "error", outFeed: "feed", outMoved: "moved"} {
		c.mReliable[k] = env.Metrics.MessagesOut.WithLabelValues(name)
	}
	return c
}

// Serve runs the session until it ends, with its reader on this
// goroutine and its writes on the Env's snapshot workers or the
// session's own goroutine (pool.go). It returns once both sides have
// stopped and the socket is closed. Start runs a session without
// holding a goroutine where it can.
func (c *Conn) Serve() {
	c.rd.state.Store(rdDone) // no read passes: this goroutine reads
	c.started()
	c.serve()
}

// started counts a session that starts.
func (c *Conn) started() {
	c.env.Metrics.Sessions.Inc()
	c.env.Metrics.SessionsStarted.Inc()
}

// serve is Serve once counted: the reader, then the end.
func (c *Conn) serve() {
	c.readLoop()
	<-c.closing // closed by the reader's exit at the latest; orders closeReason
	if c.closeReason != ReasonClientClosed && c.closeReason != ReasonReadError {
		// The server ended the session. Reading on until the client closes
		// (or the writer's CloseTimeout passes) keeps unread client bytes
		// from turning our close into a reset that could destroy the error
		// message and close frame before the client reads them.
		_, _ = io.Copy(io.Discard, c.br)
	}
	if c.rd.pollable {
		c.sideEnded() // a socket epoll refused: this goroutine is its read side
		return
	}
	<-c.writerDone
	c.end()
}

// end closes the socket once both sides have stopped, gives the seat
// back to the lobby, counts the close and calls onEnd.
func (c *Conn) end() {
	if c.onEnd != nil {
		defer c.onEnd()
	}
	defer c.env.Metrics.Sessions.Dec()
	defer c.recoverEnd()
	c.conn.Close()
	if s := c.seat.Load(); s != nil {
		// A moved player's seat here is over: it continues elsewhere. A
		// kicked one's is over too (Kick released it already, unless it
		// came after the kick).
		c.env.Lobby.Leave(s, c, c.closeReason == ReasonShutdown || c.closeReason == ReasonMoved || c.closeReason == ReasonKicked)
	}
	c.env.Metrics.Closes.WithLabelValues(string(c.closeReason)).Inc()
	var id uint32
	if s := c.seat.Load(); s != nil {
		id = s.ID
	}
	c.log.Debug("session closed", "session", id, "reason", c.closeReason, "code", c.closeCode)
}

// finish ends the session once: the writer sends errMsg (if not nil),
// then a close frame with code and text, and stops. Later calls do
// nothing. Safe from any goroutine.
func (c *Conn) finish(reason CloseReason, code ws.StatusCode, text string, errMsg *wire.ErrorMessage) {
	c.closeOnce.Do(func() {
		c.closeReason, c.closeCode, c.closeText, c.finalErr = reason, code, text, errMsg
		if errMsg != nil {
			c.env.Metrics.Errors.WithLabelValues(string(errMsg.Code)).Inc()
		}
		c.markClosing()
		// A write in progress may be stuck on a client that does not read;
		// from now on the session's writes get CloseTimeout, not more.
		_ = c.conn.SetWriteDeadline(c.clock.Now().Add(c.cfg.CloseTimeout))
		c.schedule()
	})
}

// markClosing closes closing, once, from finish, move or Kick, after the
// close's fields are set: whoever sees closed or closing sees them.
func (c *Conn) markClosing() {
	c.closed.Store(true)
	close(c.closing)
}

// move ends the session by sending its player to another node: the
// errors for what the lobby refused, everything queued before, then the
// moved, then close 4003 (PROTOCOL.md "Fleet": moved is the last message).
func (c *Conn) move(m *lobby.Moved) {
	if m.Refused&lobby.SeatRefused != 0 {
		c.sendError(wire.CodeBadSeat, "that seat is unknown, expired or used")
	}
	if m.Refused&lobby.TokenRefused != 0 {
		c.sendError(wire.CodeResumeExpired, "that session has expired; playing as a new one")
	}
	c.closeOnce.Do(func() {
		c.finalMoved = &wire.Moved{URL: m.URL, Seat: m.Seat, Why: wire.MoveReason(m.Why)}
		c.closeReason, c.closeCode, c.closeText = ReasonMoved, wire.CloseMoved, wire.MovedReason
		c.markClosing()
		_ = c.conn.SetWriteDeadline(c.clock.Now().Add(c.cfg.CloseTimeout))
		c.schedule()
	})
}

// Move implements lobby.Conn: the node drains, and the player continues
// on another one.
func (c *Conn) Move(m *lobby.Moved) { c.move(m) }

// Departed implements sim.Sink: the session's marble left its arena for a
// drain; the lobby finds it a seat elsewhere.
func (c *Conn) Departed(ev sim.Departed) {
	if s := c.seat.Load(); s != nil {
		c.env.Lobby.Departed(s, ev)
	}
}

// refuse ends the session with an error message and a close frame.
func (c *Conn) refuse(reason CloseReason, code ws.StatusCode, errCode wire.ErrorCode, msg string) {
	c.finish(reason, code, msg, &wire.ErrorMessage{Code: errCode, Msg: msg})
}

// Shutdown tells the client the server is stopping and ends the session.
func (c *Conn) Shutdown() {
	c.refuse(ReasonShutdown, ws.StatusGoingAway, wire.CodeShutdown, "server shutting down")
}

// Kick ends the session for good on an operator's word: the client gets
// error kicked with the reason, then close 4004, and its seat and resume
// token are released at once, before the close is even written, so that
// no resume can bring the player back. It reports whether the session had
// not ended already.
func (c *Conn) Kick(reason string) bool {
	kicked := false
	c.closeOnce.Do(func() {
		kicked = true
		c.closeReason, c.closeCode, c.closeText = ReasonKicked, wire.CloseKicked, wire.KickedReason
		c.finalErr = &wire.ErrorMessage{Code: wire.CodeKicked, Msg: reason}
		c.env.Metrics.Errors.WithLabelValues(string(wire.CodeKicked)).Inc()
		c.markClosing()
		_ = c.conn.SetWriteDeadline(c.clock.Now().Add(c.cfg.CloseTimeout))
		c.schedule()
	})
	if s := c.seat.Load(); kicked && s != nil {
		c.env.Lobby.Leave(s, c, true) // end's Leave then finds the seat gone
	}
	return kicked
}

// Seat returns the session's seat, nil before its hello was answered.
func (c *Conn) Seat() *lobby.Seat { return c.seat.Load() }

// Ending reports whether the session has been told to end (its close
// may still be on its way).
func (c *Conn) Ending() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// Since is when the connection was accepted.
func (c *Conn) Since() time.Time { return c.since }

// RemoteAddr is the connection's TCP peer.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// Failed implements lobby.Conn: a fault stopped the session's arena, and
// its seat is gone. The client gets error internal and close 1011; a new
// connection plays on in another arena.
func (c *Conn) Failed() {
	c.refuse(ReasonArenaFailed, ws.StatusInternalServerError, wire.CodeInternal, "the arena stopped on an internal error; connect again to play on")
}

// Replaced implements lobby.Conn: a newer connection resumed this seat.
func (c *Conn) Replaced() {
	c.finish(ReasonReplaced, CloseReplaced, "replaced", nil)
}

// FrameReady implements sim.Sink.
func (c *Conn) FrameReady(uint64) {
	if c.ready.Swap(true) {
		return // a pass is due already, and takes the latest frame
	}
	c.schedule()
}

// Died implements sim.Sink.
func (c *Conn) Died(ev sim.Died) { c.enqueue(outMsg{kind: outDied, ref: &ev}) }

// Board implements sim.Sink.
func (c *Conn) Board(ev *sim.Board) { c.enqueue(outMsg{kind: outBoard, ref: ev}) }

// Feed implements sim.Sink.
func (c *Conn) Feed(ev *sim.Feed) { c.enqueue(outMsg{kind: outFeed, ref: ev}) }

// enqueue queues a reliable message without blocking; a full queue means
// the client does not keep up, and the session ends as a slow consumer.
func (c *Conn) enqueue(m outMsg) {
	if !c.reliable.push(m) {
		c.finish(ReasonSlowConsumer, wire.CloseSlowConsumer, wire.SlowConsumerReason, nil)
		return
	}
	c.schedule()
}

// sendError queues an error message for a session that goes on.
func (c *Conn) sendError(code wire.ErrorCode, msg string) {
	c.env.Metrics.Errors.WithLabelValues(string(code)).Inc()
	c.enqueue(outMsg{kind: outError, ref: &wire.ErrorMessage{Code: code, Msg: msg}})
}

// recoverPanic turns a panic of the reader into the end of this session
// only: error internal, then close 1011, which the writer side sends as
// usual. (A panic while servicing the writes is guardedPass's.)
func (c *Conn) recoverPanic() {
	if r := recover(); r != nil {
		c.panicked("reader", r)
	}
}

// panicked logs and counts a panic of this session, recovered in where,
// and ends the session with error internal and 1011.
func (c *Conn) panicked(where string, r any) {
	c.env.Metrics.Panics.WithLabelValues("session").Inc()
	c.log.Error("session panic", "in", where, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	c.refuse(ReasonPanic, ws.StatusInternalServerError, wire.CodeInternal, "a fault inside the server ended this session")
}

// recoverEnd recovers a panic in end (giving the seat back to the lobby,
// counting the close): the client has its close frame by then, so what
// is lost is this session's bookkeeping, never the process.
func (c *Conn) recoverEnd() {
	r := recover()
	if r == nil {
		return
	}
	c.env.Metrics.Panics.WithLabelValues("session_end").Inc()
	c.log.Error("session panic", "in", "end", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	c.conn.Close()
}

// readLoop reads and handles client frames until the session ends.
func (c *Conn) readLoop() {
	// When the reader stops first (client gone), the writer must stop too.
	// Deferred before recoverPanic so that it runs after it: a panic's
	// 1011 must win over this plain close.
	defer c.finish(ReasonClientClosed, ws.StatusNormalClosure, "", nil)
	defer c.recoverPanic()
	rd := &wsutil.Reader{
		Source:         c.br,
		State:          ws.StateServerSide,
		MaxFrameSize:   wire.MaxClientFrameSize,
		MaxMessageSize: wire.MaxClientFrameSize,
	}
	h := newHandler(c)
	rd.OnIntermediate = h.control
	_ = c.conn.SetReadDeadline(c.clock.Now().Add(c.cfg.HelloTimeout))
	for {
		hdr, err := rd.NextFrame()
		if err != nil {
			c.readFailed(err, h.helloDone)
			return
		}
		if hdr.OpCode.IsControl() {
			if err := h.control(hdr, rd); err != nil {
				c.readFailed(err, h.helloDone)
				return
			}
			continue
		}
		if hdr.OpCode == ws.OpText {
			c.refuse(ReasonTextFrame, ws.StatusUnsupportedData, wire.CodeTextFrame, "text frames are not part of the protocol: send binary msgpack")
			return
		}
		// The message buffer is borrowed only while a message is read and
		// handled: a reader waiting for the next one holds none.
		msg := msgBuffers.Get().(*[wire.MaxClientFrameSize]byte)
		n, err := ReadMessage(rd, msg[:])
		if err != nil {
			msgBuffers.Put(msg)
			c.readFailed(err, h.helloDone)
			return
		}
		c.env.Metrics.BytesIn.Add(float64(n))
		ok := h.handle(msg[:n])
		msgBuffers.Put(msg)
		if !ok {
			return
		}
		select {
		case <-c.closing:
			return
		default:
		}
	}
}

// msgBuffers lend readers the buffer of one client message; the
// handler keeps nothing of it (decoded strings are copies).
var msgBuffers = sync.Pool{New: func() any { return new([wire.MaxClientFrameSize]byte) }}

// ReadMessage reads one whole message of a client, across continuation
// frames, into buf; a message longer than buf is ErrMessageTooLarge.
func ReadMessage(rd *wsutil.Reader, buf []byte) (int, error) {
	n := 0
	for {
		m, err := rd.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if n == len(buf) {
			// MaxMessageSize keeps a message within buf; a full buffer
			// with more to come cannot happen, but never loop on it.
			return n, wsutil.ErrMessageTooLarge
		}
	}
}

// errStopReading is what control returns when a control frame ended the
// session (a close, or pings over their limit for too long). It is not
// io.EOF: inside a fragmented message, wsutil.Reader.Read passes it on,
// and io.EOF there would read as the end of the message, handing a
// fragment cut short by a close to the handler (a hello could take a
// seat after its client had closed).
var errStopReading = errors.New("session: a control frame ended the session")

// readFailed ends the session after a read error.
func (c *Conn) readFailed(err error, helloDone bool) {
	var netErr net.Error
	switch {
	case errors.Is(err, errStopReading):
		// The session is finishing already; a fragment read so far is
		// dropped.
	case errors.Is(err, wsutil.ErrFrameTooLarge), errors.Is(err, wsutil.ErrMessageTooLarge):
		c.refuse(ReasonTooBig, ws.StatusMessageTooBig, wire.CodeTooBig, fmt.Sprintf("frames are limited to %d bytes", wire.MaxClientFrameSize))
	case !helloDone && errors.As(err, &netErr) && netErr.Timeout():
		c.refuse(ReasonNoHello, ws.StatusProtocolError, wire.CodeNoHello, "no hello within the time limit")
	case errors.Is(err, ws.ErrProtocolMaskRequired), errors.Is(err, ws.ErrProtocolControlPayloadOverflow),
		errors.Is(err, ws.ErrProtocolControlNotFinal), errors.Is(err, ws.ErrProtocolNonZeroRsv),
		errors.Is(err, ws.ErrProtocolOpCodeReserved), errors.Is(err, ws.ErrProtocolContinuationUnexpected),
		errors.Is(err, ws.ErrProtocolContinuationExpected):
		c.finish(ReasonBadMessages, ws.StatusProtocolError, "websocket protocol error", nil)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		c.finish(ReasonClientClosed, ws.StatusNormalClosure, "", nil)
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The writer bounded the closing handshake; the session is over.
		c.finish(ReasonClientClosed, ws.StatusNormalClosure, "", nil)
	default:
		c.finish(ReasonReadError, ws.StatusAbnormalClosure, "", nil)
	}
}

// control handles a ping, pong or close from the client, between messages
// or inside a fragmented one. Pings within their rate limit are answered
// by the writer; pongs may prove that the client reads (see stall.go); a
// close ends the session, answered as RFC 6455 says (see closeReply). It
// returns errStopReading when the session must end.
func (h *handler) control(hdr ws.Header, r io.Reader) error {
	var payload [125]byte // RFC 6455: control payloads are at most 125 bytes
	n, err := io.ReadFull(r, payload[:hdr.Length])
	if err != nil {
		return err
	}
	return h.controlFrame(hdr.OpCode, payload[:n])
}

// controlFrame handles the control frame op with its whole payload (see
// control); the payload is not kept.
func (h *handler) controlFrame(op ws.OpCode, payload []byte) error {
	c := h.c
	switch op {
	case ws.OpPing:
		if !h.allow(&h.wsPings, c.clock.Now(), DropRateLimitedWSPing, "WebSocket ping") {
			if !h.rateLimitOK() {
				return errStopReading
			}
			return nil
		}
		select {
		case c.pongs <- append([]byte(nil), payload...):
			c.schedule()
		default: // pings beyond a few pending are dropped
			c.recordDrop(DropWSPingQueueFull)
		}
	case ws.OpPong:
		c.pong(payload)
	case ws.OpClose:
		c.finish(closeReply(payload))
		return errStopReading
	}
	return nil
}

// closeReply is how the server answers a client's close frame with
// payload p (RFC 6455 5.5.1 and 7.4): an empty one with 1000; a valid code
// is echoed; a 1-byte payload or a code that may not be sent (1004-1006,
// 1015, anything below 3000 that is not registered, or above 4999) is a
// protocol error, 1002; a reason that is not UTF-8, 1007.
func closeReply(p []byte) (CloseReason, ws.StatusCode, string, *wire.ErrorMessage) {
	if len(p) == 0 {
		return ReasonClientClosed, ws.StatusNormalClosure, "", nil
	}
	if len(p) == 1 {
		return ReasonBadMessages, ws.StatusProtocolError, "close frame payload of 1 byte", nil
	}
	code, reason := ws.ParseCloseFrameData(p)
	if !validCloseCode(code) {
		return ReasonBadMessages, ws.StatusProtocolError, "invalid close code", nil
	}
	if !utf8.ValidString(reason) {
		return ReasonBadMessages, ws.StatusInvalidFramePayloadData, "close reason is not UTF-8", nil
	}
	return ReasonClientClosed, code, "", nil
}

// validCloseCode reports whether a close frame may carry code: the codes
// RFC 6455 and its IANA registry define for endpoints to send (1000-1003,
// 1007-1014) and those for libraries and applications (3000-4999).
func validCloseCode(code ws.StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014, code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// arenaCounter is an arena's byte counter, held by pointer so that a
// session's writer reads it atomically.
type arenaCounter struct{ prometheus.Counter }
