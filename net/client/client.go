package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/shatter/shatter/net/idtable"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// Defaults for the zero fields of Options.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultWriteTimeout     = 5 * time.Second
	DefaultMaxMessageSize   = 1 << 20
)

// ackRing is how many sent inputs the client remembers for measuring
// input-to-ack latency: over four seconds at the protocol's limit of 60 a
// second. An input acknowledged later than that is not measured.
const ackRing = 256

// Options configure Dial. The zero value of each field means its default.
type Options struct {
	// Name is the player name sent in the hello.
	Name string
	// Token is the resume token of an earlier session (Client.Welcome().Token),
	// or "" to start a new one.
	Token string

	// HandshakeTimeout bounds the dial, the upgrade, the hello and the wait
	// for the welcome together. Default DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds the write of each frame. Default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// MaxMessageSize bounds one server message, in bytes; a larger one ends
	// the connection. Default DefaultMaxMessageSize.
	MaxMessageSize int64

	// OnMessage, if set, is called for every server message, the welcome and
	// any error before it included, after the message has been applied to
	// c's state. It runs on the goroutine that reads: Dial's caller until
	// Dial returns, then the read loop; c is passed in because the first
	// calls come before Dial has returned it. m is reused for the next
	// message, so copy what must outlive the call. OnMessage may call c's
	// Send methods and Snapshot, but not Close; while it runs, no message is
	// read.
	OnMessage func(c *Client, m *wire.ServerMessage)
	// OnAck, if set, is called on the read loop when a snap acknowledges a
	// sent input, with the time from sending the input to receiving that
	// snap. A snap whose ack jumps over several inputs acknowledges all of
	// them. The same rules as for OnMessage apply.
	OnAck func(c *Client, seq uint32, latency time.Duration)
}

// Entity is what the client knows of one entity in its view.
type Entity struct {
	Kind uint8
	X, Y uint16
	Mass uint32
	Name string
}

// Snapshot is a copy of the client's state, filled by Client.Snapshot.
type Snapshot struct {
	// Tick is the tick of the last snap, or of the welcome before any snap.
	Tick uint64
	// Ack is the highest input seq the server acknowledged.
	Ack uint32
	// Alive reports whether the last snap carried a `you`, which is then You.
	Alive bool
	You   wire.UpdEntity
	// Entities is the view: every snap applied in order to an empty table.
	Entities map[uint32]Entity
	// Board is the last leaderboard received.
	Board sim.Board
	// Deaths counts died messages; LastDied is the last one.
	Deaths   int
	LastDied sim.Died
	// Errors counts error messages; LastError is the last one.
	Errors    int
	LastError wire.ErrorMessage
}

// Stats are counters for a load generator. Bytes are message payloads,
// without WebSocket framing.
type Stats struct {
	MessagesReceived uint64
	SnapsReceived    uint64
	BytesReceived    uint64
	MessagesSent     uint64
	BytesSent        uint64
	InputsSent       uint64
	// InputsAcked counts the inputs whose latency was measured for OnAck.
	InputsAcked uint64
	// DeltaErrors counts snap entries that contradict the table: an add of
	// an id already in view, an upd or del of one that is not. PROTOCOL.md
	// says there are none, so any is a server bug.
	DeltaErrors uint64
}

// ErrClosed is the end reason of a client stopped by Close.
var ErrClosed = errors.New("client: closed")

// CloseError is the end reason of a connection the server closed with a
// close frame, carrying that frame's code and reason (PROTOCOL.md, "Errors
// and closing"; wire.CloseSlowConsumer for a slow consumer).
type CloseError struct {
	Code   ws.StatusCode
	Reason string
}

// Error returns "client: server closed the connection: CODE REASON".
func (e CloseError) Error() string {
	return fmt.Sprintf("client: server closed the connection: %d %s", e.Code, e.Reason)
}

// RefusedError is returned by Dial when the server sent an error message and
// ended the connection before any welcome: a refused hello.
type RefusedError struct {
	Code wire.ErrorCode
	Msg  string
	// Err is how the connection ended, usually a CloseError.
	Err error
}

// Error returns "client: hello refused: CODE: MSG (ERR)".
func (e *RefusedError) Error() string {
	return fmt.Sprintf("client: hello refused: %s: %s (%v)", e.Code, e.Msg, e.Err)
}

// Unwrap returns Err.
func (e *RefusedError) Unwrap() error { return e.Err }

// Client is one connection to a Shatter server, playing as one session.
//
// Dial starts one goroutine, the read loop, which decodes every server
// message, applies it to the client's state and calls the Options callbacks.
// It exits when the connection ends: the server closes it, a read or decode
// fails, Close is called, or Dial's context is done. Done is closed when it
// has exited, and Err then tells why. The Send methods, Snapshot, Stats,
// Welcome, Done and Err are safe to call from any goroutine.
type Client struct {
	// Static after Dial.
	conn    net.Conn
	opts    Options
	welcome wire.Welcome
	start   time.Time // origin of the monotonic send times in sent

	// Owned by the reading goroutine: Dial's caller, then readLoop.
	rd      wsutil.Reader
	payload []byte
	dec     wire.Decoder
	msg     wire.ServerMessage
	acked   []ackSample // this snap's measured inputs, passed to OnAck
	control [125]byte   // a control frame's payload: RFC 6455 allows no more

	// writeMu guards the fields below and every write to conn, so that
	// frames from the Send methods and the read loop's control replies
	// never interleave.
	writeMu sync.Mutex
	enc     wire.Encoder
	out     []byte
	wr      *wsutil.Writer
	lastSeq uint32

	// mu guards the fields below.
	mu    sync.Mutex
	state Snapshot // all but Entities, which is nil: the view is in entities
	// entities is the view the snaps build; Snapshot copies it out into
	// Snapshot.Entities.
	entities idtable.Table[Entity]
	sent     [ackRing]sentInput
	measured uint32 // every seq up to this one has been looked up in sent
	stopped  error  // why stop was called, if it was
	err      error  // why the read loop exited; set before done is closed

	counters   counters
	done       chan struct{}
	unwatchCtx func() bool // stops the AfterFunc watching Dial's context
}

// sentInput is one entry of Client.sent.
type sentInput struct {
	seq uint32        // 0 for an empty slot; seqs start at 1
	at  time.Duration // since Client.start, so that it is monotonic
}

type ackSample struct {
	seq     uint32
	latency time.Duration
}

type counters struct {
	messagesReceived, snapsReceived, bytesReceived atomic.Uint64
	messagesSent, bytesSent, inputsSent            atomic.Uint64
	inputsAcked, deltaErrors                       atomic.Uint64
}

// Dial connects to url (ws://HOST:PORT/ws), sends the hello and waits for
// the welcome, then starts the read loop.
//
// ctx bounds the client's whole life, not only the dial: when it is done,
// the connection is closed and the read loop exits with context.Cause(ctx)
// as its Err. The handshake is further bounded by opts.HandshakeTimeout.
// If the server answers the hello with an error and a close, the error is a
// *RefusedError.
func Dial(ctx context.Context, url string, opts Options) (*Client, error) {
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = DefaultMaxMessageSize
	}
	hsCtx, cancel := context.WithTimeout(ctx, opts.HandshakeTimeout)
	defer cancel()
	conn, br, _, err := ws.Dialer{}.Dial(hsCtx, url)
	if err != nil {
		return nil, fmt.Errorf("client: dial %s: %w", url, err)
	}
	c := newClient(conn, br, opts)
	if err := c.handshake(hsCtx); err != nil {
		conn.Close()
		return nil, err
	}
	c.unwatchCtx = context.AfterFunc(ctx, func() { c.stop(context.Cause(ctx)) })
	go c.readLoop()
	return c, nil
}

func newClient(conn net.Conn, br *bufio.Reader, opts Options) *Client {
	// The dialer returns a buffered reader only when the server's first
	// bytes arrived with the upgrade response; it must be read first.
	var src io.Reader = br
	if br == nil {
		src = bufio.NewReader(conn)
	}
	c := &Client{
		conn:  conn,
		opts:  opts,
		start: time.Now(),
		rd: wsutil.Reader{
			Source:         src,
			State:          ws.StateClientSide,
			MaxFrameSize:   opts.MaxMessageSize,
			MaxMessageSize: opts.MaxMessageSize,
		},
		wr:   wsutil.NewWriterSize(conn, ws.StateClientSide, ws.OpBinary, wire.MaxClientFrameSize),
		done: make(chan struct{}),
	}
	c.rd.OnIntermediate = c.handleControl
	return c
}

// handshake sends the hello and reads up to the welcome. Error messages may
// come first: resume_expired is followed by a welcome, anything else by a
// close, which makes a RefusedError.
func (c *Client) handshake(ctx context.Context) error {
	// When ctx is done, whether cancelled or past its deadline, a deadline
	// in the past interrupts the reads and writes below.
	interrupt := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })

	err := c.sendHello()
	var refusal *wire.ErrorMessage
	for welcomed := false; err == nil && !welcomed; {
		if err = c.next(); err != nil {
			break
		}
		switch c.msg.Type {
		case wire.TypeWelcome:
			welcomed = true
			c.welcome = c.msg.Welcome
			c.welcome.Terrain = slices.Clone(c.welcome.Terrain)
			c.welcome.Rules = slices.Clone(c.welcome.Rules)
			c.mu.Lock()
			c.state.Tick = c.welcome.Tick
			c.mu.Unlock()
		case wire.TypeError:
			e := c.msg.Error
			refusal = &e
		default:
			err = fmt.Errorf("client: %s before the welcome", c.msg.Type)
			continue
		}
		c.apply()
	}
	if !interrupt() && err == nil {
		err = context.Cause(ctx) // Expired just as the welcome arrived.
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			err = cause // The interrupt made the read fail.
		}
		if refusal != nil {
			return &RefusedError{Code: refusal.Code, Msg: refusal.Msg, Err: err}
		}
		return fmt.Errorf("client: handshake: %w", err)
	}
	return nil
}

// readLoop reads and applies messages until the connection ends, then
// records why and closes the connection.
func (c *Client) readLoop() {
	defer close(c.done)
	var err error
	for err == nil {
		if err = c.next(); err == nil {
			if c.msg.Type == wire.TypeWelcome {
				err = errors.New("client: a second welcome")
			} else {
				c.apply()
			}
		}
	}
	c.unwatchCtx()
	c.mu.Lock()
	if c.stopped != nil {
		err = c.stopped // Close or ctx caused the read error; report them.
	}
	c.err = err
	c.mu.Unlock()
	c.conn.Close()
}

// next reads the next data message into c.msg, answering control frames on
// the way.
func (c *Client) next() error {
	for {
		hdr, err := c.rd.NextFrame()
		if err != nil {
			return err
		}
		if hdr.OpCode.IsControl() {
			if err := c.handleControl(hdr, &c.rd); err != nil {
				return err
			}
			continue
		}
		if hdr.OpCode != ws.OpBinary {
			return fmt.Errorf("client: a %v frame; the protocol has only binary ones", hdr.OpCode)
		}
		// The reader's MaxMessageSize bounds how far this grows; a fragmented
		// message may need more than its first frame's length.
		c.payload = slices.Grow(c.payload[:0], int(hdr.Length))
		for {
			if len(c.payload) == cap(c.payload) {
				c.payload = slices.Grow(c.payload, 4096)
			}
			n, err := c.rd.Read(c.payload[len(c.payload):cap(c.payload)])
			c.payload = c.payload[:len(c.payload)+n]
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		c.counters.messagesReceived.Add(1)
		c.counters.bytesReceived.Add(uint64(len(c.payload)))
		if err := c.dec.DecodeServer(c.payload, &c.msg); err != nil {
			return fmt.Errorf("client: server message: %w", err)
		}
		return nil
	}
}

// handleControl answers a ping, ignores a pong, and answers a close frame,
// returning its CloseError. It replies to the close itself, rather than
// through wsutil.ControlHandler, so that the server's code and reason are
// kept even when the reply cannot be written because the server has already
// hung up.
func (c *Client) handleControl(hdr ws.Header, r io.Reader) error {
	if hdr.Length > int64(len(c.control)) {
		return ws.ErrProtocolControlPayloadOverflow
	}
	payload := c.control[:hdr.Length]
	if _, err := io.ReadFull(r, payload); err != nil {
		return err
	}
	switch hdr.OpCode {
	case ws.OpPing:
		return c.writeControl(ws.OpPong, payload)
	case ws.OpClose:
		closed := CloseError{Code: ws.StatusNoStatusRcvd}
		var reply []byte
		if len(payload) >= 2 {
			closed.Code, closed.Reason = ws.ParseCloseFrameData(payload)
			reply = ws.NewCloseFrameBody(closed.Code, "")
		}
		_ = c.writeControl(ws.OpClose, reply) // The server may be gone already.
		return closed
	}
	return nil
}

// writeControl writes a control frame.
func (c *Client) writeControl(op ws.OpCode, payload []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	// Masking works in place, and payload may be the caller's.
	return ws.WriteFrame(c.conn, ws.MaskFrameInPlace(ws.NewFrame(op, true, slices.Clone(payload))))
}

// apply updates the state from c.msg and calls the callbacks.
func (c *Client) apply() {
	m := &c.msg
	c.mu.Lock()
	switch m.Type {
	case wire.TypeSnap:
		c.applySnap(&m.Snap)
	case wire.TypeDied:
		c.state.Deaths++
		c.state.LastDied = m.Died
	case wire.TypeBoard:
		c.state.Board.Top = append(c.state.Board.Top[:0], m.Board.Top...)
		c.state.Board.Count = m.Board.Count
	case wire.TypeError:
		c.state.Errors++
		c.state.LastError = m.Error
	}
	c.mu.Unlock()

	if m.Type == wire.TypeSnap {
		c.counters.snapsReceived.Add(1)
		c.counters.inputsAcked.Add(uint64(len(c.acked)))
		if c.opts.OnAck != nil {
			for _, a := range c.acked {
				c.opts.OnAck(c, a.seq, a.latency)
			}
		}
	}
	if c.opts.OnMessage != nil {
		c.opts.OnMessage(c, m)
	}
}

// applySnap applies a snap to the table, in PROTOCOL.md's order: add, upd,
// del, and measures the latency of the inputs it acknowledges into c.acked.
// c.mu must be held.
func (c *Client) applySnap(s *wire.Snap) {
	now := time.Since(c.start)
	var contradictions uint64
	for i := range s.Add {
		a := &s.Add[i]
		e, added := c.entities.Add(a.ID)
		if !added {
			contradictions++
		}
		*e = Entity{Kind: a.Kind, X: a.X, Y: a.Y, Mass: a.Mass, Name: a.Name}
	}
	for _, u := range s.Upd {
		e := c.entities.Get(u.ID)
		if e == nil {
			contradictions++
			continue
		}
		e.X, e.Y, e.Mass = u.X, u.Y, u.Mass
	}
	for _, id := range s.Del {
		if !c.entities.Delete(id) {
			contradictions++
		}
	}
	c.counters.deltaErrors.Add(contradictions)

	c.state.Tick = s.Tick
	c.state.Alive = s.HasYou
	c.state.You = s.You
	if !s.HasYou {
		c.state.You = wire.UpdEntity{}
	}

	c.acked = c.acked[:0]
	if s.Ack <= c.measured {
		return
	}
	c.state.Ack = s.Ack
	first := c.measured + 1
	if s.Ack-c.measured > ackRing {
		first = s.Ack - ackRing + 1
	}
	for seq := first; ; seq++ {
		if slot := &c.sent[seq%ackRing]; slot.seq == seq {
			c.acked = append(c.acked, ackSample{seq: seq, latency: now - slot.at})
			slot.seq = 0
		}
		if seq == s.Ack { // Not seq <= s.Ack in the loop header: it may be MaxUint32.
			break
		}
	}
	c.measured = s.Ack
}

// sendHello sends the hello; only the handshake does.
func (c *Client) sendHello() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.out = c.enc.AppendHello(c.out[:0], &wire.Hello{Version: wire.Version, Name: c.opts.Name, Token: c.opts.Token})
	return c.write(wire.TypeHello)
}

// SendSpawn asks to enter the arena, or to re-enter it after a died.
func (c *Client) SendSpawn() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.out = c.enc.AppendSpawn(c.out[:0])
	return c.write(wire.TypeSpawn)
}

// SendInput sends a heading (radians: 0 along +x, growing toward +y) and
// boost wish, numbered with the next seq, which it returns. The send time
// is recorded so that OnAck can report the latency once a snap acknowledges
// the seq. Keeping under 60 inputs a second is the caller's job.
func (c *Client) SendInput(angle float64, boost bool) (uint32, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.lastSeq++
	seq := c.lastSeq
	c.out = c.enc.AppendInput(c.out[:0], &wire.Input{Seq: seq, Angle: angle, Boost: boost})
	c.mu.Lock()
	c.sent[seq%ackRing] = sentInput{seq: seq, at: time.Since(c.start)}
	c.mu.Unlock()
	c.counters.inputsSent.Add(1)
	return seq, c.write(wire.TypeInput)
}

// SendPing sends a ping carrying n, which the server echoes in its pong
// (delivered to OnMessage). At most 2 a second.
func (c *Client) SendPing(n int64) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.out = c.enc.AppendPing(c.out[:0], &wire.Ping{C: n})
	return c.write(wire.TypePing)
}

// write sends c.out as one binary frame. c.writeMu must be held.
func (c *Client) write(typ wire.Type) error {
	if len(c.out) > wire.MaxClientFrameSize {
		return fmt.Errorf("client: %s of %d bytes is over the server's limit of %d", typ, len(c.out), wire.MaxClientFrameSize)
	}
	c.conn.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	if _, err := c.wr.Write(c.out); err != nil {
		return fmt.Errorf("client: send %s: %w", typ, err)
	}
	if err := c.wr.Flush(); err != nil {
		return fmt.Errorf("client: send %s: %w", typ, err)
	}
	c.counters.messagesSent.Add(1)
	c.counters.bytesSent.Add(uint64(len(c.out)))
	return nil
}

// Welcome returns the server's welcome: the session, its resume token, the
// tick rate, the arena size, the terrain and the rules. Its slices are
// shared; do not modify them.
func (c *Client) Welcome() wire.Welcome { return c.welcome }

// Snapshot copies the client's state into dst, reusing dst's map and board
// slice.
func (c *Client) Snapshot(dst *Snapshot) {
	entities, top := dst.Entities, dst.Board.Top
	if entities == nil {
		entities = make(map[uint32]Entity)
	}
	clear(entities)
	c.mu.Lock()
	defer c.mu.Unlock()
	*dst = c.state
	for id, e := range c.entities.All() {
		entities[id] = *e
	}
	dst.Entities = entities
	dst.Board.Top = append(top[:0], c.state.Board.Top...)
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	k := &c.counters
	return Stats{
		MessagesReceived: k.messagesReceived.Load(),
		SnapsReceived:    k.snapsReceived.Load(),
		BytesReceived:    k.bytesReceived.Load(),
		MessagesSent:     k.messagesSent.Load(),
		BytesSent:        k.bytesSent.Load(),
		InputsSent:       k.inputsSent.Load(),
		InputsAcked:      k.inputsAcked.Load(),
		DeltaErrors:      k.deltaErrors.Load(),
	}
}

// Done is closed when the read loop has exited.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the read loop exited: a CloseError when the server closed
// the connection, ErrClosed after Close, the cause of Dial's context, or
// the read or decode error. It is nil while the loop runs.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close sends a normal close frame, closes the connection and waits for the
// read loop to exit. It is safe to call more than once and from any
// goroutine except inside a callback, where waiting for the read loop would
// wait for itself.
func (c *Client) Close() error {
	c.stop(ErrClosed)
	<-c.done
	return nil
}

// stop ends the connection for reason, once; the read loop then reports
// reason as its Err unless it had already exited.
func (c *Client) stop(reason error) {
	c.mu.Lock()
	first := c.stopped == nil
	if first {
		c.stopped = reason
	}
	c.mu.Unlock()
	if !first {
		return
	}
	_ = c.writeControl(ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, "")) // Best effort.
	c.conn.Close()
}
