package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/wire"
)

// DefaultReconnectTimeout bounds the reconnection after one drop. A node
// honours the token of a crashed node's session for 30 seconds after that
// node's lease lapsed (PROTOCOL.md, Fleet), so trying longer is pointless.
const DefaultReconnectTimeout = 30 * time.Second

// ReconnectError is the end reason of a client whose connection dropped
// and that no URL of Options.Reconnect took back within
// Options.ReconnectTimeout.
type ReconnectError struct {
	// Drop is how the connection ended.
	Drop error
	// Err is the last attempt's error.
	Err error
}

// Error returns "client: reconnect after a drop (DROP) failed: ERR".
func (e *ReconnectError) Error() string {
	return fmt.Sprintf("client: reconnect after a drop (%v) failed: %v", e.Drop, e.Err)
}

// Unwrap returns Err.
func (e *ReconnectError) Unwrap() error { return e.Err }

// Reconnect is a reconnection after a drop, reported to
// Options.OnReconnect when the first snap arrives on the connection it led
// to.
type Reconnect struct {
	// From is the URL of the connection that dropped; To the URL of the
	// connection the client plays on now (after any moved that answered
	// the reconnecting hello).
	From, To string
	// Drop is how the connection ended.
	Drop error
	// Attempts counts the hellos with the token, one per URL tried, until
	// a node answered with a welcome or a moved.
	Attempts int
	// ToSnap is the time from the drop to the first snap on the new
	// connection.
	ToSnap time.Duration
}

// reconn is the reconnection under way, from the drop to the first snap
// after the welcome it led to. Owned by the reading goroutine.
type reconn struct {
	at     time.Time // when the connection dropped; zero when none is under way
	report Reconnect
}

// dropped reports whether err, the end of a connection that carried no
// moved, is a drop the client reconnects after: Options.Reconnect is set,
// and the connection ended without a close frame (a crashed node, a cut
// network) or with 1001 going away (a node that stopped without moving
// its players). Any other close frame (slow consumer, kicked, normal) ends
// the client, as does a protocol error.
func (c *Client) dropped(err error) bool {
	if len(c.opts.Reconnect) == 0 {
		return false
	}
	var closed CloseError
	if errors.As(err, &closed) {
		return closed.Code == ws.StatusGoingAway
	}
	var netErr net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &netErr)
}

// reconnect resumes the session after a drop: it says hello with the
// token of the latest welcome (and the name) to the URLs of
// Options.Reconnect in turn, starting with the one after the URL that
// dropped, so that a dead node is tried last, pausing between attempts
// from 100 ms doubling to 1 s. It returns nil once a node answers with a
// welcome, or with a moved, which c.move then holds for play to follow;
// the cause of ctx when ctx is done; and a *ReconnectError when
// Options.ReconnectTimeout has passed. Sends are refused with ErrMoving
// meanwhile.
func (c *Client) reconnect(ctx context.Context, drop error) error {
	c.counters.drops.Add(1)
	c.writeMu.Lock()
	c.moving = true
	c.writeMu.Unlock()
	c.reconn = reconn{at: time.Now(), report: Reconnect{From: c.url, Drop: drop}}
	rctx, cancel := context.WithTimeout(ctx, c.opts.ReconnectTimeout)
	defer cancel()
	urls := c.opts.Reconnect
	next := slices.Index(urls, c.url) + 1 // 0 when the URL is not listed
	pause := firstRetryPause
	for {
		url := urls[next%len(urls)]
		next++
		c.reconn.report.Attempts++
		err := c.attempt(rctx, url, &wire.Hello{Version: wire.Version, Name: c.opts.Name, Token: c.token()})
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-rctx.Done():
			t.Stop()
		}
		if rctx.Err() != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			c.counters.reconnectsFailed.Add(1)
			c.reconn = reconn{}
			return &ReconnectError{Drop: drop, Err: err}
		}
		pause = min(2*pause, maxRetryPause)
	}
}

// reconnected reports a reconnection whose first snap has just been
// applied, once any move it led to is over.
func (c *Client) reconnected() {
	if c.reconn.at.IsZero() || c.move.next != nil || !c.move.at.IsZero() {
		return
	}
	r := c.reconn.report
	r.To, r.ToSnap = c.url, time.Since(c.reconn.at)
	c.reconn = reconn{}
	if c.opts.OnReconnect != nil {
		c.opts.OnReconnect(c, r)
	}
}
