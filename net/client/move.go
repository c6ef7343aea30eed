package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/wire"
)

// How the client follows moves (see Client).
const (
	// maxMoves bounds the moveds followed in a row without a welcome, so
	// that nodes sending a client round in circles cannot keep it for ever.
	maxMoves = 4
	// movedCloseWait is how long the client waits, after a moved, for the
	// server's close 4003 before it goes anyway.
	movedCloseWait = 2 * time.Second
	// firstRetryPause and maxRetryPause bound the pauses between attempts
	// to reach a moved's URL: a node that is starting may refuse the first
	// connections.
	firstRetryPause = 100 * time.Millisecond
	maxRetryPause   = time.Second
)

// ErrMoving is returned by the Send methods while the client follows a
// move, from the moved to the welcome on the new connection, and while it
// reconnects after a drop. Nothing is sent; the caller may try again after
// the welcome (OnMessage sees it).
var ErrMoving = errors.New("client: moving to another node")

// errTooManyMoves is a MoveError's Err when nodes answered with moved
// maxMoves times in a row.
var errTooManyMoves = fmt.Errorf("client: moved %d times in a row without a welcome", maxMoves)

// MoveError is the end reason of a client whose move did not complete: the
// moved's URL could not be reached and the way back to the node it came
// from failed too, or nodes kept moving it on. With
// Options.DisableFollowMoves, Dial returns one when the hello is answered
// with a moved instead of a welcome.
type MoveError struct {
	// Moved is the moved message that was not completed.
	Moved wire.Moved
	// Err is why: the last connection's error (with DisableFollowMoves, the
	// close that followed the moved).
	Err error
}

// Error returns "client: move to URL (WHY) failed: ERR".
func (e *MoveError) Error() string {
	return fmt.Sprintf("client: move to %s (%s) failed: %v", e.Moved.URL, e.Moved.Why, e.Err)
}

// Unwrap returns Err.
func (e *MoveError) Unwrap() error { return e.Err }

// MoveStats count a client's moves.
type MoveStats struct {
	// Full, Resume and Drain count the moved messages received, by why;
	// Other those with a why this package does not know. A moved that a
	// node answers a followed one with counts too.
	Full, Resume, Drain, Other uint64
	// FellBack counts the moves whose URL could not be reached within
	// Options.MoveTimeout, or refused the hello, so that the client went
	// back to the node it came from with its token.
	FellBack uint64
	// Failed counts the moves that ended the client with a *MoveError.
	Failed uint64
}

// Total returns the number of moved messages received.
func (m MoveStats) Total() uint64 { return m.Full + m.Resume + m.Drain + m.Other }

// Add returns the sum of m and o, for adding up many clients' counts.
func (m MoveStats) Add(o MoveStats) MoveStats {
	return MoveStats{
		Full: m.Full + o.Full, Resume: m.Resume + o.Resume, Drain: m.Drain + o.Drain, Other: m.Other + o.Other,
		FellBack: m.FellBack + o.FellBack, Failed: m.Failed + o.Failed,
	}
}

// Move is a move the client followed, reported to Options.OnMove when the
// first snap arrives on the connection it led to.
type Move struct {
	// Moved is the moved message that started the move.
	Moved wire.Moved
	// From is the URL of the connection that received Moved. To is the URL
	// of the connection the client plays on now: Moved.URL, the URL of a
	// node that moved the client on (Hops > 1), or a node it went back to
	// (FellBack).
	From, To string
	// Hops counts the moved messages followed on the way: more than 1 when
	// the node Moved led to moved the client on.
	Hops int
	// FellBack reports that a moved's URL could not be reached within
	// Options.MoveTimeout, or refused the hello, so that the client went
	// back to the node that had sent it, with its token.
	FellBack bool
	// ToSnap is the time from the arrival of Moved to the first snap on
	// the new connection.
	ToSnap time.Duration
}

// move is the move under way, from its first moved to the first snap
// after the welcome it led to. Owned by the reading goroutine.
type move struct {
	// next is the moved to follow once the current connection ends, or nil.
	next *wire.Moved
	// back is the URL of the connection that carried next: where the
	// client goes back to if next's URL cannot be reached.
	back string
	// at is when report.Moved arrived; zero when no move is under way.
	at     time.Time
	report Move
}

// moved counts a moved message and, unless moves are left to the caller,
// records it as the one to follow when the connection ends, refusing
// sends from now to the next welcome. A moved while no move is under way
// (a reconnection's included) starts one; one from a node that a move led
// to continues it.
func (c *Client) moved(m *wire.Moved) {
	k := &c.counters
	switch m.Why {
	case wire.MoveFull:
		k.movesFull.Add(1)
	case wire.MoveResume:
		k.movesResume.Add(1)
	case wire.MoveDrain:
		k.movesDrain.Add(1)
	default:
		k.movesOther.Add(1)
	}
	if c.opts.DisableFollowMoves {
		return
	}
	mv := *m
	// Only the reading goroutine, which runs this, changes c.moving. A
	// reconnection refuses sends already, but starts no move.
	if !c.moving || c.move.at.IsZero() {
		c.move = move{at: time.Now(), report: Move{Moved: mv, From: c.url}}
		c.writeMu.Lock()
		c.moving = true
		c.writeMu.Unlock()
	}
	c.move.next, c.move.back = &mv, c.url
	c.move.report.Hops++
}

// arrived reports a move whose first snap has just been applied.
func (c *Client) arrived() {
	if c.move.at.IsZero() || c.move.next != nil {
		return
	}
	r := c.move.report
	r.To, r.ToSnap = c.url, time.Since(c.move.at)
	c.move = move{}
	if c.opts.OnMove != nil {
		c.opts.OnMove(c, r)
	}
}

// join connects to url with the hello of Options and follows any moved
// that comes instead of the welcome. Only Dial calls it.
func (c *Client) join(ctx context.Context, url string) error {
	hello := wire.Hello{Version: wire.Version, Name: c.opts.Name, Token: c.opts.Token}
	if err := c.attempt(ctx, url, &hello); err != nil {
		return err
	}
	if c.move.next == nil {
		return nil
	}
	return c.follow(ctx)
}

// follow follows c.move.next, and every moved that the nodes it leads to
// answer with, until a welcome arrives (nil), ctx is done (its cause) or
// the move fails (a *MoveError). A URL that cannot be reached sends the
// client back to the node that sent it there.
func (c *Client) follow(ctx context.Context) error {
	for c.move.next != nil {
		if c.move.report.Hops > maxMoves {
			return c.failMove(errTooManyMoves)
		}
		mv, back := *c.move.next, c.move.back
		c.move.next = nil
		err := c.reach(ctx, mv.URL, &wire.Hello{Version: wire.Version, Name: c.opts.Name, Seat: mv.Seat})
		if err != nil && ctx.Err() == nil {
			c.counters.movesFellBack.Add(1)
			c.move.report.FellBack = true
			err = c.attempt(ctx, back, &wire.Hello{Version: wire.Version, Name: c.opts.Name, Token: c.token()})
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if err != nil {
			c.move.next = &mv
			return c.failMove(err)
		}
	}
	return nil
}

// failMove ends the move in c.move.next with err.
func (c *Client) failMove(err error) error {
	c.counters.movesFailed.Add(1)
	return &MoveError{Moved: *c.move.next, Err: err}
}

// reach tries to join url with hello for MoveTimeout, trying again after
// each failure but a refused hello (the node is up, and says no), after a
// pause that doubles each time.
func (c *Client) reach(ctx context.Context, url string, hello *wire.Hello) error {
	if !strings.HasPrefix(url, "ws://") && !strings.HasPrefix(url, "wss://") {
		return fmt.Errorf("client: moved to %q, which is not a ws:// or wss:// URL", url)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.MoveTimeout)
	defer cancel()
	pause := firstRetryPause
	for {
		err := c.attempt(ctx, url, hello)
		var refused *RefusedError
		if err == nil || errors.As(err, &refused) || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		pause = min(2*pause, maxRetryPause)
	}
}

// attempt dials url and says hello, bounded by ctx and HandshakeTimeout.
// It returns nil after a welcome, and after a moved, which c.move then
// holds; the connection is then the client's, open after a welcome, ended
// after a moved.
func (c *Client) attempt(ctx context.Context, url string, hello *wire.Hello) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.HandshakeTimeout)
	defer cancel()
	conn, br, _, err := ws.Dialer{TLSConfig: c.opts.TLSConfig, NetDial: c.opts.NetDial}.Dial(ctx, url)
	if err != nil {
		return fmt.Errorf("client: dial %s: %w", url, err)
	}
	// Before the hello: what comes after it is stamped. Only readRaw
	// reads stamps, and only a socket can give them (not a TLS stream).
	c.raw.stamps, c.raw.arrived = c.opts.ArrivalTimes && stampArrivals(conn), 0
	if err := c.install(conn, br); err != nil {
		conn.Close()
		return err
	}
	c.url = url
	err = c.handshake(ctx, hello)
	if err != nil || c.move.next != nil {
		conn.Close()
	}
	return err
}

// token returns the token to go back with: the latest welcome's, or the
// one Dial was given if no node has welcomed the client yet.
func (c *Client) token() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.welcome.Token != "" {
		return c.welcome.Token
	}
	return c.opts.Token
}
