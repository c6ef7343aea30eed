package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gobwas/ws"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shatter/shatter/net/lobby"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// MaxNameLen is the longest player name, in characters, after cleaning.
const MaxNameLen = 16

// handler is the reader's protocol state.
//
// Owned by the reader goroutine.
type handler struct {
	c         *Conn
	dec       wire.Decoder
	msg       wire.ClientMessage
	helloDone bool
	bad       int    // bad messages so far
	lastSeq   uint32 // last input seq accepted on this connection
	inputs    bucket
	pings     bucket
	wsPings   bucket // WebSocket ping control frames
	spawns    bucket
	watches   bucket
	// overSince is when the client started exceeding its rate limits
	// (zero while it is not); lastOver and lastNotice throttle the checks
	// and the rate_limited messages.
	overSince, lastOver, lastNotice time.Time

	// counters holds the MessagesIn counter of each message type, by
	// wire.Type, looked up at the type's first message: a look-up by
	// label hashes the label and takes the vector's lock, a cost an
	// input, 20 a second per client, should not pay each time. Looked
	// up lazily, a type's series appears with its first message.
	counters [wire.TypeReplay + 1]prometheus.Counter
}

func newHandler(c *Conn) *handler {
	// Bursts of a sixth of a second's allowance absorb network jitter
	// without letting a client double its rate for a moment.
	burst := func(perSec float64) int { return max(1, int(perSec/6)) }
	return &handler{
		c:      c,
		inputs: newBucket(c.cfg.InputsPerSec, burst(c.cfg.InputsPerSec)),
		pings:  newBucket(c.cfg.PingsPerSec, max(2, burst(c.cfg.PingsPerSec))),
		// Each WebSocket ping costs a pong write: a burst of two seconds'
		// allowance (4 at 2 a second) for clients that ping on their own
		// schedule, and no more.
		wsPings: newBucket(c.cfg.WSPingsPerSec, max(1, int(2*c.cfg.WSPingsPerSec))),
		// Spawns share the arena's inbox with everyone's inputs: a client
		// may not flood it with spawns that are ignored while alive.
		spawns: newBucket(c.cfg.SpawnsPerSec, 1),
		// Each watch costs a look-up in the latest frame.
		watches: newBucket(c.cfg.WatchesPerSec, 1),
	}
}

// handle processes one client message and reports whether to keep reading.
func (h *handler) handle(data []byte) bool {
	c := h.c
	err := h.dec.DecodeClient(data, &h.msg)
	if !h.helloDone {
		if err != nil || h.msg.Type != wire.TypeHello {
			c.refuse(ReasonNoHello, ws.StatusProtocolError, wire.CodeNoHello, "the first message must be a hello")
			return false
		}
		return h.hello(&h.msg.Hello)
	}
	if err != nil {
		return h.badMessage(err.Error())
	}
	h.count(h.msg.Type)
	seat := c.seat.Load()
	// One reading of the clock serves the whole message: a reading of
	// the wall clock costs tens of nanoseconds, a good part of what an
	// input costs (BenchmarkHandleInput).
	now := c.clock.Now()
	switch h.msg.Type {
	// Whatever shows that a player is there, even over its rate limit,
	// keeps the session from the idle timeout; ping does not.
	case wire.TypeSpawn, wire.TypeInput, wire.TypeWatch:
		c.markActive(now)
	}
	switch h.msg.Type {
	case wire.TypeHello:
		return h.badMessage("hello was already received")
	case wire.TypeSpawn:
		if !h.allow(&h.spawns, now, DropRateLimitedSpawn, "spawn") {
			return h.rateLimitOK()
		}
		h.post(seat, sim.Spawn(seat.ID))
	case wire.TypeInput:
		in := &h.msg.Input
		if !h.allow(&h.inputs, now, DropRateLimitedInput, "input") {
			return h.rateLimitOK()
		}
		if in.Seq <= h.lastSeq {
			return h.badMessage(fmt.Sprintf("input seq %d is not above the previous %d", in.Seq, h.lastSeq))
		}
		h.lastSeq = in.Seq
		h.post(seat, sim.Input(seat.ID, in.Seq, in.Angle, in.Boost))
	case wire.TypePing:
		if !h.allow(&h.pings, now, DropRateLimitedPing, "ping") {
			return h.rateLimitOK()
		}
		c.enqueue(outMsg{kind: outPong, pong: wire.Pong{C: h.msg.Ping.C, Tick: seat.Arena.Tick()}})
	case wire.TypeWatch:
		if !h.allow(&h.watches, now, DropRateLimitedWatch, "watch") {
			return h.rateLimitOK()
		}
		h.watch(seat, h.msg.Watch.ID)
	case wire.TypeReplay:
		// Only a server that plays a recorded match has a playback to
		// control (PROTOCOL.md "Replay viewer").
		return h.badMessage("replay: this server plays a live arena, not a recording")
	}
	return true
}

// count counts a message of type t in MessagesIn. Panics if t is above
// TypeReplay, the last type a client sends (DecodeClient returns no
// other).
func (h *handler) count(t wire.Type) {
	c := h.counters[t]
	if c == nil {
		c = h.c.env.Metrics.MessagesIn.WithLabelValues(t.String())
		h.counters[t] = c
	}
	c.Inc()
}

// watch makes the view follow marble id while the session is not alive
// (0: the leader). An id that is no marble of the arena's latest frame is
// ignored, leaving the view as it was.
func (h *handler) watch(seat *lobby.Seat, id uint32) {
	if id != 0 {
		f := seat.Arena.Acquire()
		marble := f.Marble(id) != nil
		f.Release()
		if !marble {
			return
		}
	}
	h.c.watch.Store(id)
}

// hello admits the session: version check, name cleaning, a seat from the
// lobby (resumed when the token is good), then the welcome.
func (h *handler) hello(m *wire.Hello) bool {
	c := h.c
	h.count(wire.TypeHello)
	if m.Version != wire.Version {
		c.refuse(ReasonVersion, ws.StatusProtocolError, wire.CodeVersion, fmt.Sprintf("protocol version %d is not supported; this server speaks %d", m.Version, wire.Version))
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.HelloTimeout)
	defer cancel()
	c.askedName = strings.Clone(m.Name)
	seat, err := c.env.Lobby.Join(ctx, lobby.JoinRequest{Name: CleanName(m.Name), Token: m.Token, Seat: m.Seat}, c)
	var moved *lobby.Moved
	switch {
	case errors.As(err, &moved):
		c.move(moved)
		return false
	case errors.Is(err, lobby.ErrFull):
		c.refuse(ReasonFull, CloseTryAgainLater, wire.CodeFull, "every arena is full; try again later")
		return false
	case errors.Is(err, lobby.ErrClosed):
		c.Shutdown()
		return false
	case err != nil:
		c.log.Warn("join failed", "err", err)
		c.refuse(ReasonFull, CloseTryAgainLater, wire.CodeFull, "the arena is busy; try again later")
		return false
	}
	h.helloDone = true
	_ = c.conn.SetReadDeadline(time.Time{})
	c.log.Debug("session joined", "session", seat.ID, "arena", seat.Arena.ID(), "name", seat.Name)
	return true
}

// Seated implements lobby.Conn. The lobby calls it before the arena knows
// the sink, so bad_seat, resume_expired and the welcome are queued before
// any event of the arena can be. It is called with the lobby's lock held,
// which is when seat.Token may be read: the welcome carries the token as
// it is now (a takeover has just made a new one).
func (c *Conn) Seated(seat *lobby.Seat, refused lobby.Refusals) {
	if refused&lobby.SeatRefused != 0 {
		c.sendError(wire.CodeBadSeat, "that seat is unknown, expired or used; playing as a new session")
	}
	if refused&lobby.TokenRefused != 0 {
		c.sendError(wire.CodeResumeExpired, "that session has expired; playing as a new one")
	}
	w := &welcomeFor{seat: seat, token: seat.Token}
	if seat.Name != c.askedName {
		w.name = seat.Name
	}
	c.enqueue(outMsg{kind: outWelcome, ref: w})
	c.arenaBytes.Store(&arenaCounter{c.env.Metrics.ArenaBytesOut.WithLabelValues(strconv.Itoa(seat.Arena.ID()))})
	// Published after the welcome is queued, so the writer, which drains
	// the queue before every snapshot, cannot send a snap first.
	c.seat.Store(seat)
}

// post sends a command to the arena. A full inbox drops it (recorded):
// the arena is overloaded, and a late input is worth less than a steady
// tick.
func (h *handler) post(seat *lobby.Seat, cmd sim.Command) {
	switch err := seat.Arena.Post(cmd); {
	case errors.Is(err, sim.ErrInboxFull):
		h.c.recordDrop(DropArenaInboxFull)
	case err != nil:
		h.c.recordDrop(DropArenaStopped)
	}
}

// badMessage answers a malformed or out-of-order message; the
// MaxBadMessages-th closes the session.
func (h *handler) badMessage(why string) bool {
	h.bad++
	if h.bad >= h.c.cfg.MaxBadMessages {
		h.c.refuse(ReasonBadMessages, ws.StatusProtocolError, wire.CodeBadMessage, fmt.Sprintf("%s (bad message %d: closing)", why, h.bad))
		return false
	}
	h.c.sendError(wire.CodeBadMessage, why)
	return true
}

// allow takes a token from a limiter for a message that came at now.
// When none is left, the message is dropped (recorded as drop) and the
// client is told, at most once a second, that it sends too many what
// messages.
func (h *handler) allow(l *bucket, now time.Time, drop DropReason, what string) bool {
	if l.allow(now) {
		if !h.overSince.IsZero() && now.Sub(h.lastOver) > time.Second {
			h.overSince = time.Time{} // a calm second ends the episode
		}
		return true
	}
	h.c.recordDrop(drop)
	if h.overSince.IsZero() || now.Sub(h.lastOver) > time.Second {
		h.overSince = now
	}
	h.lastOver = now
	if now.Sub(h.lastNotice) >= time.Second {
		h.lastNotice = now
		h.c.sendError(wire.CodeRateLimited, fmt.Sprintf("too many %s messages: at most %g a second", what, l.limit))
	}
	return false
}

// rateLimitOK reports whether a client over its limit may go on: one that
// has stayed over it for RateLimitClose is closed with 1008.
func (h *handler) rateLimitOK() bool {
	if h.c.clock.Now().Sub(h.overSince) >= h.c.cfg.RateLimitClose {
		h.c.refuse(ReasonRateLimited, ws.StatusPolicyViolation, wire.CodeRateLimited, "over the rate limit for too long")
		return false
	}
	return true
}

// CleanName makes a display name of what a client sent: trimmed, without
// control or other unprintable characters, at most MaxNameLen characters.
// An empty result becomes "marble".
func CleanName(name string) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.TrimSpace(name) {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			continue
		}
		if n == MaxNameLen {
			break
		}
		b.WriteRune(r)
		n++
	}
	if out := strings.TrimSpace(b.String()); out != "" {
		return out
	}
	return "marble"
}
