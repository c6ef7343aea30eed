package hostile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// atOnce is how soon a connection the server ends "at once" must be
// closed: a server that does so closes it within milliseconds, and this
// leaves room for a loaded machine. A connection the server leaks is
// closed only when the garbage collector finds it, whose cycles seldom
// fall inside so short a window.
const atOnce = 500 * time.Millisecond

// FailedUpgrades asks for /ws without a WebSocket handshake (a plain GET)
// and with a bad Sec-WebSocket-Key, in turn, 10 x Scale times in a row,
// keeping its end of each connection open meanwhile, as an attacker
// piling up the server's descriptors would. Each must be answered 400
// and closed by the server at once (atOnce).
func FailedUpgrades(ctx context.Context, t Target) Report {
	var tl tally
	if err := t.check(); err != nil {
		return Report{Err: err}
	}
	variants := []struct{ name, headers string }{
		{"plain GET /ws", ""},
		{"bad Sec-WebSocket-Key", "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not-a-nonce\r\n"},
	}
	var watches sync.WaitGroup
	for i := range 10 * t.Scale {
		if ctx.Err() != nil {
			break
		}
		v := variants[i%len(variants)]
		conn, err := t.dial(ctx, t.Addr, 0)
		if err != nil {
			tl.errored()
			continue
		}
		tl.tried()
		status, err := request(conn, "GET /ws HTTP/1.1\r\nHost: shatter\r\n"+v.headers+"\r\n", t.Bounds.Slack)
		switch {
		case err != nil:
			tl.fail("%s: no answer: %v", v.name, err)
		case status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
			tl.refused()
		case status != http.StatusBadRequest:
			tl.fail("%s: answered %d, want 400", v.name, status)
		default:
			// Owned by FailedUpgrades; exits within atOnce. The loop goes
			// on meanwhile, piling up connections as an attacker would.
			watches.Go(func() {
				defer conn.Close()
				if closed, _ := closedWithin(ctx, conn, atOnce); closed {
					tl.pass()
				} else if ctx.Err() == nil {
					tl.fail("%s: answered 400 but the connection was still open %v later", v.name, atOnce)
				}
			})
			continue
		}
		conn.Close()
	}
	watches.Wait()
	return tl.report()
}

// request writes a raw HTTP request and reads the status of its answer,
// within wait.
func request(conn net.Conn, req string, wait time.Duration) (int, error) {
	_ = conn.SetDeadline(time.Now().Add(wait))
	defer conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, req); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// perListener runs try on Scale connections to each of t's HTTP
// listeners at once and returns when all have ended.
func perListener(ctx context.Context, t Target, tl *tally, try func(conn net.Conn, listener string)) {
	var wg sync.WaitGroup
	for _, addr := range t.listeners() {
		name := "public"
		if addr == t.Admin {
			name = "admin"
		}
		for range t.Scale {
			// Owned by perListener; exits when try returns.
			wg.Go(func() {
				conn, err := t.dial(ctx, addr, 0)
				if err != nil {
					tl.errored()
					return
				}
				defer conn.Close()
				tl.tried()
				try(conn, name)
			})
		}
	}
	wg.Wait()
}

// trickle writes prefix, then one byte of filler a second, until the
// server ends the connection or bound plus slack has passed since the
// start, and reports whether the server ended it and when.
func trickle(ctx context.Context, conn net.Conn, prefix string, bound, slack time.Duration) (bool, time.Duration) {
	start := time.Now()
	if _, err := io.WriteString(conn, prefix); err != nil {
		return true, time.Since(start)
	}
	for time.Since(start) < bound+slack {
		if closed, _ := closedWithin(ctx, conn, min(time.Second, bound+slack-time.Since(start))); closed {
			return true, time.Since(start)
		}
		if ctx.Err() != nil {
			return false, time.Since(start)
		}
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := conn.Write([]byte{'a'}); err != nil {
			return true, time.Since(start)
		}
	}
	return false, time.Since(start)
}

// SlowHeaders sends a request's headers one byte a second on Scale
// connections to each listener; the server must close each within
// HeaderTimeout (plus Slack) of its first byte.
func SlowHeaders(ctx context.Context, t Target) Report {
	var tl tally
	if err := t.check(); err != nil {
		return Report{Err: err}
	}
	b := t.Bounds
	perListener(ctx, t, &tl, func(conn net.Conn, listener string) {
		closed, after := trickle(ctx, conn, "GET /healthz HTTP/1.1\r\nHost: shatter\r\nX-Slow: ", b.HeaderTimeout, b.Slack)
		switch {
		case closed:
			tl.pass()
		case ctx.Err() == nil:
			tl.fail("%s: headers at a byte a second still read after %v (header timeout %v)", listener, round(after), b.HeaderTimeout)
		}
	})
	return tl.report()
}

// SlowBody sends a small POST's body one byte a second on Scale
// connections to each listener; the server must close each within
// RequestTimeout (plus Slack) of its first byte. The body is small
// (1000 bytes) so that net/http tries to read it to keep the connection,
// rather than giving up on it at once as it does for large ones.
func SlowBody(ctx context.Context, t Target) Report {
	var tl tally
	if err := t.check(); err != nil {
		return Report{Err: err}
	}
	b := t.Bounds
	perListener(ctx, t, &tl, func(conn net.Conn, listener string) {
		closed, after := trickle(ctx, conn, "POST /healthz HTTP/1.1\r\nHost: shatter\r\nContent-Length: 1000\r\n\r\n", b.RequestTimeout, b.Slack)
		switch {
		case closed:
			tl.pass()
		case ctx.Err() == nil:
			tl.fail("%s: a body at a byte a second still read after %v (request timeout %v)", listener, round(after), b.RequestTimeout)
		}
	})
	return tl.report()
}

// IdleKeepAlive makes one request on Scale keep-alive connections to
// each listener and then stays silent; the server must close each within
// IdleTimeout (plus Slack) of its answer.
func IdleKeepAlive(ctx context.Context, t Target) Report {
	var tl tally
	if err := t.check(); err != nil {
		return Report{Err: err}
	}
	b := t.Bounds
	perListener(ctx, t, &tl, func(conn net.Conn, listener string) {
		_ = conn.SetDeadline(time.Now().Add(b.Slack + b.HeaderTimeout))
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: shatter\r\n\r\n"); err != nil {
			tl.fail("%s: request not taken: %v", listener, err)
			return
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
		}
		if err != nil {
			tl.fail("%s: no answer: %v", listener, err)
			return
		}
		_ = conn.SetDeadline(time.Time{})
		switch closed, after := closedWithin(ctx, conn, b.IdleTimeout+b.Slack); {
		case closed:
			tl.pass()
		case ctx.Err() == nil:
			tl.fail("%s: an idle keep-alive connection still open after %v (idle timeout %v)", listener, round(after), b.IdleTimeout)
		}
	})
	return tl.report()
}

// BigHeaders sends Scale requests to each listener whose headers are
// 8 KiB over MaxHeaderBytes (beyond the 4 KiB net/http allows over its
// limit); each must be answered 431, or the connection closed, within
// HeaderTimeout plus Slack, and never served.
func BigHeaders(ctx context.Context, t Target) Report {
	var tl tally
	if err := t.check(); err != nil {
		return Report{Err: err}
	}
	b := t.Bounds
	header := "X-Big: " + strings.Repeat("a", b.MaxHeaderBytes+8<<10) + "\r\n"
	perListener(ctx, t, &tl, func(conn net.Conn, listener string) {
		stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
		defer stop()
		status, err := request(conn, "GET /healthz HTTP/1.1\r\nHost: shatter\r\n"+header+"\r\n", b.HeaderTimeout+b.Slack)
		var ne net.Error
		switch {
		case ctx.Err() != nil:
		case status == http.StatusRequestHeaderFieldsTooLarge:
			tl.pass()
		case status != 0:
			tl.fail("%s: %d KiB of headers answered %d, want 431", listener, len(header)>>10, status)
		case errors.As(err, &ne) && ne.Timeout():
			tl.fail("%s: %d KiB of headers: no answer and still open after %v", listener, len(header)>>10, b.HeaderTimeout+b.Slack)
		default:
			tl.pass() // closed without an answer: refused all the same
		}
	})
	return tl.report()
}

// UnreadDownload asks for DownloadPath on Scale connections with a small
// receive buffer and reads nothing for WriteTimeout plus Slack; then it
// reads what comes. The server must have given up meanwhile: the answer
// ends before its Content-Length. Skipped (no tries) without
// DownloadPath.
func UnreadDownload(ctx context.Context, t Target) Report {
	var tl tally
	if err := t.check(); err != nil {
		return Report{Err: err}
	}
	if t.DownloadPath == "" {
		return tl.report()
	}
	b := t.Bounds
	var wg sync.WaitGroup
	for range t.Scale {
		// Owned by UnreadDownload; exits when its download is judged.
		wg.Go(func() {
			conn, err := t.dial(ctx, t.Addr, 16<<10)
			if err != nil {
				tl.errored()
				return
			}
			defer conn.Close()
			tl.tried()
			if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: shatter\r\n\r\n", t.DownloadPath); err != nil {
				tl.fail("request not taken: %v", err)
				return
			}
			if !sleep(ctx, b.WriteTimeout+b.Slack) {
				return
			}
			// Loopback moves what the kernels hold (a few MiB) in well
			// under this.
			_ = conn.SetReadDeadline(time.Now().Add(max(5*time.Second, 2*b.Slack)))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				tl.pass() // closed before even the headers were read
				return
			}
			n, err := io.Copy(io.Discard, resp.Body)
			var ne net.Error
			switch {
			case resp.StatusCode != http.StatusOK:
				tl.fail("%s answered %d, want 200 (is it a file of the web directory?)", t.DownloadPath, resp.StatusCode)
			case err == nil:
				tl.fail("all %d bytes of %s came after %v unread: the server never gave up on a reader that did not read (write timeout %v)", n, t.DownloadPath, b.WriteTimeout+b.Slack, b.WriteTimeout)
			case errors.As(err, &ne) && ne.Timeout():
				tl.fail("%s: still sending after %v unread and %v of reading", t.DownloadPath, b.WriteTimeout+b.Slack, max(5*time.Second, 2*b.Slack))
			default:
				tl.pass() // cut short: the server gave up
			}
		})
	}
	wg.Wait()
	return tl.report()
}

// JoinFlood asks GET /join MaxConnsPerIP + 4 x Scale times in a row (8 x
// Scale without a per-address limit), each reserving a seat. With a
// per-address limit, at most that many may be reserved; the rest must be
// refused (429 or 503).
func JoinFlood(ctx context.Context, t Target) Report {
	var tl tally
	if err := t.check(); err != nil {
		return Report{Err: err}
	}
	limit := t.Bounds.MaxConnsPerIP
	tries := 8 * t.Scale
	if limit > 0 {
		tries = limit + 4*t.Scale
	}
	seats := 0
	for range tries {
		if ctx.Err() != nil {
			break
		}
		conn, err := t.dial(ctx, t.Addr, 0)
		if err != nil {
			tl.errored()
			continue
		}
		tl.tried()
		status, err := request(conn, "GET /join HTTP/1.1\r\nHost: shatter\r\nConnection: close\r\n\r\n", t.Bounds.Slack+t.Bounds.HeaderTimeout)
		conn.Close()
		switch {
		case err != nil:
			tl.fail("no answer: %v", err)
		case status == http.StatusOK:
			if seats++; limit > 0 && seats > limit {
				tl.fail("/join reserved seat %d from one address, over the per-address limit of %d", seats, limit)
			} else {
				tl.pass()
			}
		case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
			tl.refused()
		default:
			tl.fail("answered %d, want 200, 429 or 503", status)
		}
	}
	return tl.report()
}
