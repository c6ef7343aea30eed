package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
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
	// DefaultMoveTimeout is PROTOCOL.md's: a moved's URL that cannot be
	// reached for 5 seconds sends the client back where it came from.
	DefaultMoveTimeout = 5 * time.Second
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
	// for the welcome together, on each connection. Default
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds the write of each frame: a write blocked for
	// between half of it and all of it fails. Default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// MaxMessageSize bounds one server message, in bytes; a larger one ends
	// the connection. Default DefaultMaxMessageSize.
	MaxMessageSize int64
	// MoveTimeout bounds how long the client tries to reach the URL of a
	// moved before it goes back to the node it came from with its token
	// (see Client). Default DefaultMoveTimeout.
	MoveTimeout time.Duration
	// DisableFollowMoves leaves moves to the caller: a moved is delivered
	// to OnMessage like any message, and the close 4003 that follows it
	// ends the client with a CloseError (Dial, when the moved comes
	// instead of the welcome, returns a *MoveError).
	DisableFollowMoves bool
	// Reconnect lists the WebSocket URLs of a fleet's nodes at which the
	// client may resume its session when its connection drops (see
	// Client); empty, a drop ends the client. Any node honours a token,
	// a crashed node's included (PROTOCOL.md, Fleet).
	Reconnect []string
	// ReconnectTimeout bounds the reconnection after one drop. Default
	// DefaultReconnectTimeout.
	ReconnectTimeout time.Duration
	// SkimSnaps has the client decode snaps with a quick reader of its own
	// that leaves the names of added entities out, and not apply them to
	// its view, for a load generator whose many bots measure timing and
	// acks and keep what view they need themselves: decoding through the
	// general msgpack library and applying every delta to a table of
	// named entities is most of what a client spends per snap. Every frame
	// is still read and counted, acks are still measured, OnMessage sees
	// every snap (with Add's names ""; as without SkimSnaps, none read
	// after the client stops), and other messages are decoded in full;
	// but Snapshot's Entities stays empty and DeltaErrors is not counted.
	// A snap that does not start the way the server's encoder writes it
	// is decoded in full.
	SkimSnaps bool

	// Poll, if set, has the client's connections read by the loops of a
	// poll group (see PollGroup) instead of by a goroutine woken for
	// every frame that arrives: for a load generator's thousands of bots.
	// The callbacks then run on a loop of the group, which reads its
	// other clients only once they return; so do the answers to the
	// server's pings and close, written under WriteTimeout, so that a
	// client whose send buffer stays full holds its loop's other clients
	// up to that long (a load generator's bots write little). Ignored
	// where the group
	// cannot poll (not on Linux) and for a connection without a raw
	// socket (wss://), which are read as without it.
	Poll *PollGroup

	// TLSConfig configures the TLS of wss:// URLs (a moved's and a
	// reconnection's included), for example the roots that verify a
	// private CA's certificate; nil: the system's roots, the server name
	// taken from each URL.
	TLSConfig *tls.Config
	// NetDial, if set, opens every connection's TCP stream instead of
	// net.Dialer, for example from a chosen local address.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)

	// OnMessage, if set, is called for every server message, the welcome and
	// any error before it included, after the message has been applied to
	// c's state; not for those read once the client stops (Close, Dial's
	// context), which are no longer applied. It runs on the goroutine that
	// reads: Dial's caller until Dial returns, then the read loop (with
	// Poll, a loop of the group
	// while a connection lasts); c is passed in because the first
	// calls come before Dial has returned it. m is reused for the next
	// message, so copy what must outlive the call. OnMessage may call c's
	// Send methods and Snapshot, but not Close; while it runs, no message is
	// read.
	OnMessage func(c *Client, m *wire.ServerMessage)
	// ArrivalTimes times snaps by when they reached the socket, the
	// kernel's receive timestamp (SO_TIMESTAMPNS, Linux over plain TCP),
	// instead of when they were taken from it: OnAck's latencies and
	// Arrived. A load generator sets it so that what it measures is the
	// server's timing, not the wait in its own loops before a read (a
	// read taking several frames at once stamps them all with the
	// latest's arrival, which can only make them seem later). Elsewhere,
	// and for what a read gets no stamp for, it changes nothing. A stamp
	// is of the wall clock and is taken as an age (the wall clock now less
	// it), so a step of the clock shows only in the snap read across it;
	// an age below zero or over maxStampAge is not believed.
	ArrivalTimes bool
	// OnAck, if set, is called on the read loop when a snap acknowledges a
	// sent input, with the time from sending the input to receiving that
	// snap. A snap whose ack jumps over several inputs acknowledges all of
	// them. The same rules as for OnMessage apply.
	OnAck func(c *Client, seq uint32, latency time.Duration)
	// OnMove, if set, is called when the first snap arrives on the
	// connection a followed move ended on, before OnMessage sees that
	// snap, with what the move took. The same rules as for OnMessage
	// apply.
	OnMove func(c *Client, m Move)
	// OnReconnect, if set, is called when the first snap arrives on the
	// connection a reconnection after a drop ended on (after OnMove, if a
	// moved answered the reconnecting hello), before OnMessage sees that
	// snap. The same rules as for OnMessage apply.
	OnReconnect func(c *Client, r Reconnect)
}

// Entity is what the client knows of one entity in its view.
type Entity struct {
	Kind uint8
	X, Y uint16
	Mass uint32
	Name string
	// Heading and Flags are a marble's, as its add and upd records carry
	// them (wire.UpdEntity); zero for the others.
	Heading, Flags uint8
}

// Snapshot is a copy of the client's state, filled by Client.Snapshot.
// After a move the view starts afresh with the new welcome: Tick, Alive,
// You, Entities and Board are those of the new connection, while Ack and
// the counts of deaths and errors go on.
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
	// Moves counts the moved messages received and how following them
	// went.
	Moves MoveStats
	// Drops counts the connections that dropped while Options.Reconnect
	// was set; ReconnectsFailed those after which no node took the client
	// back, ending it with a *ReconnectError.
	Drops, ReconnectsFailed uint64
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

// Client is one player's session with a Shatter fleet, over one
// connection at a time.
//
// Dial starts one goroutine, the read loop, which decodes every server
// message, applies it to the client's state and calls the Options callbacks
// (until the client stops: what it reads after is left unhandled).
// It exits when the client ends: the server closes the connection (other
// than to move the client), a read or decode fails (other than by a drop
// it reconnects after), a move or a reconnection fails, Close is called,
// or Dial's context is done. Done is closed when it has exited, and
// Err then tells why. The Send methods, Snapshot, Stats, Welcome, Done and
// Err are safe to call from any goroutine.
//
// With Options.Poll, the read loop hands each connection's reading to a
// loop of the poll group and waits, without waking, until that
// connection ends there (or the client is closed); it then goes on as
// without a group: it follows a moved, reconnects, or ends. The messages
// are read, applied and passed to the callbacks on the group's loop
// meanwhile, one loop at a time for a client.
//
// # Moves
//
// A moved message (PROTOCOL.md, Fleet), whether it comes instead of a
// welcome or during play, is followed unless Options.DisableFollowMoves is
// set: once the connection that carried it ends (with close 4003), the
// client connects to its URL and says hello with its seat and the name,
// without a token. The caller sees the moved and then a new welcome
// through OnMessage, Welcome returns the new one, and the view starts
// afresh; Done is not closed, and Err stays nil. From the moved to that
// welcome the Send methods return ErrMoving and send nothing. Input seqs
// go on increasing across moves.
//
// A URL that cannot be reached (or that refuses the hello) within
// Options.MoveTimeout sends the client back to the node it came from, with
// the token of its latest welcome; a node that answers with a moved again
// is followed again, up to maxMoves in a row without a welcome. If the
// way back fails too, the client ends with a *MoveError.
//
// Stats.Moves counts the moves, and OnMove reports each followed one with
// the time from its moved to the first snap on the new connection.
//
// # Drops
//
// With Options.Reconnect set, a connection that ends without a close
// frame (its node crashed, the network was cut) or with 1001 going away
// is a drop, not the client's end: the client says hello with the token
// of its latest welcome to each URL of Options.Reconnect in turn, the one
// after the URL that dropped first, until a node welcomes it (or moves
// it, which it follows as above) or Options.ReconnectTimeout has passed,
// which ends it with a *ReconnectError. As during a move, the Send
// methods return ErrMoving meanwhile, Done is not closed, and the view
// starts afresh with the new welcome. Stats.Drops counts the drops, and
// OnReconnect reports each reconnection with the time from the drop to
// the first snap.
type Client struct {
	// Static after Dial.
	opts       Options
	start      time.Time               // origin of the monotonic send times in sent
	life       context.Context         // done once the client stops: Dial's context, Close
	cancelLife context.CancelCauseFunc // cancels life

	// Owned by the reading goroutine: Dial's caller, then readLoop.
	br      *bufio.Reader // the current connection's, under rd
	rd      wsutil.Reader // reads the handshake, and play where readRaw cannot
	raw     rawReader     // reads play on a TCP connection (readRaw)
	payload []byte
	dec     wire.Decoder
	msg     wire.ServerMessage
	skimmed bool      // msg is a snap skimSnap decoded (Options.SkimSnaps)
	at      time.Time // when msg arrived, for a snap (Arrived)
	// received counts what every frame counts, beside the fields the
	// frame's reading touches (Stats reads it from any goroutine).
	received receivedCounters
	acked    []ackSample // this snap's measured inputs, passed to OnAck
	control  [125]byte   // a control frame's payload: RFC 6455 allows no more
	url      string      // the URL of the connection that spoke last
	move     move        // the move under way, if any
	reconn   reconn      // the reconnection under way, if any
	polled   pollReg     // the connection's registration with Options.Poll

	// writeMu guards the fields below and every write to conn, so that
	// frames from the Send methods and the read loop's control replies
	// never interleave. The reading goroutine is the only one that changes
	// conn, which it may therefore read without writeMu.
	writeMu sync.Mutex
	conn    net.Conn // the current connection
	// writeDeadline is the write deadline set last on conn.
	writeDeadline time.Time
	enc           wire.Encoder
	out           []byte
	wr            *wsutil.Writer
	lastSeq       uint32
	moving        bool // from a followed moved to the next welcome: sends refused
	// ended is set just before done is closed. It sits with the fields
	// every send touches, so that a caller checking Ended before each
	// send (a load generator's thousands of bots) reads a cache line it
	// needs anyway instead of the channel's.
	ended atomic.Bool
	// sent counts what every send counts, beside the fields it touches.
	sentCount sentCounters

	// mu guards the fields below.
	mu      sync.Mutex
	welcome wire.Welcome // the latest
	state   Snapshot     // all but Entities, which is nil: the view is in entities
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

// receivedCounters and sentCounters are the counters of Stats that
// change with every frame or send; counters, the rest.
type receivedCounters struct {
	messagesReceived, snapsReceived, bytesReceived, inputsAcked atomic.Uint64
}

type sentCounters struct {
	messagesSent, bytesSent, inputsSent atomic.Uint64
}

type counters struct {
	deltaErrors                                    atomic.Uint64
	movesFull, movesResume, movesDrain, movesOther atomic.Uint64
	movesFellBack, movesFailed                     atomic.Uint64
	drops, reconnectsFailed                        atomic.Uint64
}

// Dial connects to url (ws://HOST:PORT/ws), sends the hello and waits for
// the welcome, following any moved that comes instead (see Client), then
// starts the read loop.
//
// ctx bounds the client's whole life, not only the dial: when it is done,
// the connection is closed and the read loop exits with context.Cause(ctx)
// as its Err. Each connection's handshake is further bounded by
// opts.HandshakeTimeout. If the server answers the hello with an error and
// a close, the error is a *RefusedError.
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
	if opts.MoveTimeout <= 0 {
		opts.MoveTimeout = DefaultMoveTimeout
	}
	if opts.ReconnectTimeout <= 0 {
		opts.ReconnectTimeout = DefaultReconnectTimeout
	}
	c := &Client{
		opts:  opts,
		start: time.Now(),
		done:  make(chan struct{}),
	}
	c.life, c.cancelLife = context.WithCancelCause(ctx)
	if err := c.join(ctx, url); err != nil {
		c.cancelLife(err)
		return nil, err
	}
	c.unwatchCtx = context.AfterFunc(ctx, func() { c.stop(context.Cause(ctx)) })
	go c.readLoop()
	return c, nil
}

// readLoop reads and applies messages until the client ends, following
// moves on the way, then records why and closes the connection.
func (c *Client) readLoop() {
	defer func() {
		c.ended.Store(true)
		close(c.done)
	}()
	err := c.play()
	c.writeMu.Lock()
	c.moving = false // A failed move is over too: sends fail as on any ended client.
	c.writeMu.Unlock()
	c.unwatchCtx()
	c.mu.Lock()
	if c.stopped != nil {
		err = c.stopped // Close or ctx caused the read error; report them.
	}
	c.err = err
	c.mu.Unlock()
	c.conn.Close()
	c.cancelLife(err)
}

// play reads and applies the messages of each connection until it ends,
// and follows the moved that ended it, if one did, or reconnects after a
// drop.
func (c *Client) play() error {
	for {
		err := c.read()
		if c.life.Err() != nil {
			return err
		}
		if c.move.next == nil {
			if !c.dropped(err) {
				return err
			}
			c.conn.Close()
			if err := c.reconnect(c.life, err); err != nil {
				return err
			}
		}
		if c.move.next != nil { // A moved ended the connection or answered the reconnection.
			c.conn.Close()
			if err := c.follow(c.life); err != nil {
				return err
			}
		}
	}
}

// read reads and applies the messages of the current connection until it
// ends. After a moved that is to be followed, it gives the server
// movedCloseWait to close.
func (c *Client) read() error {
	if raw := c.rawConn(); raw != nil {
		if c.opts.Poll != nil {
			return c.readPolled(raw)
		}
		return c.readRaw(raw)
	}
	for {
		if err := c.next(); err != nil {
			return err
		}
		if c.stopping() {
			continue // Read on until Close closes the connection; handle nothing.
		}
		if err := c.handle(); err != nil {
			return err
		}
	}
}

// handle applies the message just read, during play: a second welcome is
// an error, and nothing after a moved counts.
func (c *Client) handle() error {
	switch {
	case c.msg.Type == wire.TypeWelcome:
		return errors.New("client: a second welcome")
	case c.move.next != nil:
		return nil // Nothing comes after a moved; ignore what does.
	}
	c.apply()
	if c.move.next != nil {
		c.conn.SetReadDeadline(time.Now().Add(movedCloseWait))
	}
	return nil
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

	switch m.Type {
	case wire.TypeSnap:
		c.received.snapsReceived.Add(1)
		c.received.inputsAcked.Add(uint64(len(c.acked)))
		if c.opts.OnAck != nil {
			for _, a := range c.acked {
				c.opts.OnAck(c, a.seq, a.latency)
			}
		}
		c.arrived()
		c.reconnected()
	case wire.TypeMoved:
		c.moved(&m.Moved)
	}
	if c.opts.OnMessage != nil {
		c.opts.OnMessage(c, m)
	}
}

// applySnap applies a snap to the state, its lists to the table unless it
// was skimmed, and measures the latency of the inputs it acknowledges into
// c.acked. c.mu must be held.
func (c *Client) applySnap(s *wire.Snap) {
	c.at = c.arrival()
	now := c.at.Sub(c.start)
	if !c.skimmed {
		c.applyDelta(s)
	}

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

// maxStampAge is the oldest a receive timestamp is believed: a snap that
// waited longer unread, or a stamp the wall clock stepped past, is timed
// when it is read.
const maxStampAge = 5 * time.Second

// arrival returns when the message being handled arrived: with
// Options.ArrivalTimes, now less the age its read's kernel timestamp
// gives it (so that the time keeps now's monotonic reading, as the send
// times it is compared with do), the time now without.
func (c *Client) arrival() time.Time {
	now := time.Now()
	if c.raw.stamps && c.raw.arrived != 0 {
		if age := time.Duration(now.UnixNano() - c.raw.arrived); age >= 0 && age <= maxStampAge {
			return now.Add(-age)
		}
	}
	return now
}

// Arrived returns when the snap being handled arrived (see
// Options.ArrivalTimes): call it from OnMessage, on a snap.
func (c *Client) Arrived() time.Time { return c.at }

// applyDelta applies a snap's lists to the table in PROTOCOL.md's order:
// add, upd, del, counting the entries that contradict it. c.mu must be
// held.
func (c *Client) applyDelta(s *wire.Snap) {
	var contradictions uint64
	for i := range s.Add {
		a := &s.Add[i]
		e, added := c.entities.Add(a.ID)
		if !added {
			contradictions++
		}
		*e = Entity{Kind: a.Kind, X: a.X, Y: a.Y, Mass: a.Mass, Name: a.Name, Heading: a.Heading, Flags: a.Flags}
	}
	for _, u := range s.Upd {
		e := c.entities.Get(u.ID)
		if e == nil {
			contradictions++
			continue
		}
		e.X, e.Y, e.Mass = u.X, u.Y, u.Mass
		if u.Marble {
			e.Heading, e.Flags = u.Heading, u.Flags
		}
	}
	for _, id := range s.Del {
		if !c.entities.Delete(id) {
			contradictions++
		}
	}
	c.counters.deltaErrors.Add(contradictions)
}

// SendSpawn asks to enter the arena, or to re-enter it after a died.
func (c *Client) SendSpawn() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.moving {
		return ErrMoving
	}
	c.out = c.enc.AppendSpawn(c.out[:0])
	return c.write(wire.TypeSpawn)
}

// SendInput sends a heading (radians: 0 along +x, growing toward +y) and
// boost wish, numbered with the next seq, which it returns. The send time
// is recorded so that OnAck can report the latency once a snap acknowledges
// the seq. Keeping under 60 inputs a second is the caller's job. During a
// move it returns ErrMoving and uses no seq.
func (c *Client) SendInput(angle float64, boost bool) (uint32, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.moving {
		return 0, ErrMoving
	}
	c.lastSeq++
	seq := c.lastSeq
	c.out = c.enc.AppendInput(c.out[:0], &wire.Input{Seq: seq, Angle: angle, Boost: boost})
	c.mu.Lock()
	c.sent[seq%ackRing] = sentInput{seq: seq, at: time.Since(c.start)}
	c.mu.Unlock()
	c.sentCount.inputsSent.Add(1)
	return seq, c.write(wire.TypeInput)
}

// SendPing sends a ping carrying n, which the server echoes in its pong
// (delivered to OnMessage). At most 2 a second.
func (c *Client) SendPing(n int64) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.moving {
		return ErrMoving
	}
	c.out = c.enc.AppendPing(c.out[:0], &wire.Ping{C: n})
	return c.write(wire.TypePing)
}

// Welcome returns the server's latest welcome (a move brings a new one):
// the session, its resume token, the tick rate, the arena size, the
// terrain and the rules. Its slices are shared; do not modify them.
func (c *Client) Welcome() wire.Welcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.welcome
}

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
	k, r, w := &c.counters, &c.received, &c.sentCount
	return Stats{
		MessagesReceived: r.messagesReceived.Load(),
		SnapsReceived:    r.snapsReceived.Load(),
		BytesReceived:    r.bytesReceived.Load(),
		MessagesSent:     w.messagesSent.Load(),
		BytesSent:        w.bytesSent.Load(),
		InputsSent:       w.inputsSent.Load(),
		InputsAcked:      r.inputsAcked.Load(),
		DeltaErrors:      k.deltaErrors.Load(),
		Moves: MoveStats{
			Full: k.movesFull.Load(), Resume: k.movesResume.Load(), Drain: k.movesDrain.Load(), Other: k.movesOther.Load(),
			FellBack: k.movesFellBack.Load(), Failed: k.movesFailed.Load(),
		},
		Drops: k.drops.Load(), ReconnectsFailed: k.reconnectsFailed.Load(),
	}
}

// Done is closed when the read loop has exited.
func (c *Client) Done() <-chan struct{} { return c.done }

// Ended reports whether the client has ended: Done is closed, or is
// about to be. It costs less than a select on Done for a caller that
// asks before every send.
func (c *Client) Ended() bool { return c.ended.Load() }

// Err returns why the read loop exited: a CloseError when the server closed
// the connection, a *MoveError when a move failed, a *ReconnectError when
// no node took the client back after a drop, ErrClosed after Close,
// the cause of Dial's context, or the read or decode error. It is nil while
// the loop runs, moves included.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close sends a normal close frame, closes the connection and waits for the
// read loop to exit: for a callback under way to return, not for the
// messages that had arrived, which are no longer handled. It is safe to
// call more than once and from any goroutine except inside a callback,
// where waiting for the read loop would wait for itself.
func (c *Client) Close() error {
	c.stop(ErrClosed)
	<-c.done
	return nil
}

// stopping reports whether the client has stopped (Close, Dial's
// context): what is read from then on is not handled, and the reading
// goes on only until stop has closed the connection.
func (c *Client) stopping() bool {
	select {
	case <-c.life.Done():
		return true
	default:
		return false
	}
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
	// Cancelling life interrupts a move's dial or handshake.
	c.cancelLife(reason)
	_ = c.writeControl(ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, "")) // Best effort.
	// After stopped is set, install refuses new connections; so the one
	// read here under writeMu is the last.
	c.writeMu.Lock()
	conn := c.conn
	c.writeMu.Unlock()
	conn.Close()
}
