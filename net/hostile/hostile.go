package hostile

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Bounds are the server's limits as the attacks judge it: each attack
// expects the server to end what it does within the matching bound plus
// Slack. A server stricter than its Bounds passes; a looser one fails.
type Bounds struct {
	HeaderTimeout  time.Duration // HTTP: all of a request's headers
	RequestTimeout time.Duration // HTTP: a whole request, its body included
	WriteTimeout   time.Duration // HTTP: writing a whole response
	IdleTimeout    time.Duration // HTTP: a keep-alive connection between requests
	MaxHeaderBytes int           // HTTP: a request's headers, in bytes
	SessionIdle    time.Duration // a session not alive that sends no spawn, input or watch
	StallTimeout   time.Duration // a session whose client stopped reading
	// CloseTimeout is how long the server waits for a client's close frame
	// after sending its own before it closes the socket (1 s).
	CloseTimeout   time.Duration
	RateLimitClose time.Duration // a session over a rate limit this long is closed with 1008
	WSPingsPerSec  float64       // WebSocket pings answered a second
	MaxConnsPerIP  int           // connections, detached seats and /join seats of one address; 0: off
	Grace          time.Duration // how long a dropped player's seat is kept
	// Slack is what every wait allows beyond its bound, for a loaded
	// machine (the race detector, other processes on the same cores).
	Slack time.Duration
}

// DefaultBounds are the loosest limits the issue on hardening allows a
// server with its default flags: headers 5 s, a whole request 30 s, an
// idle keep-alive 60 s, session idle 60 s, a stalled reader 5 s, 5 s over
// a rate limit, 2 WebSocket pings a second, 32 per address. The issue
// names no write timeout or header size: 60 s and net/http's 1 MiB are
// the loosest a server should have.
func DefaultBounds() Bounds {
	return Bounds{
		HeaderTimeout: 5 * time.Second, RequestTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		IdleTimeout: 60 * time.Second, MaxHeaderBytes: 1 << 20,
		SessionIdle: 60 * time.Second, StallTimeout: 5 * time.Second, CloseTimeout: time.Second, RateLimitClose: 5 * time.Second,
		WSPingsPerSec: 2, MaxConnsPerIP: 32, Grace: 10 * time.Second, Slack: time.Second,
	}
}

// Target is a server under attack and how hard to attack it.
type Target struct {
	Addr  string // the public listener, HOST:PORT on loopback
	Admin string // the admin listener, HOST:PORT on loopback; "" to spare it
	// Source is the loopback address the attack dials from; nil lets the
	// kernel choose (127.0.0.1). Run gives each attack its own.
	Source net.IP
	// DownloadPath is a file of the public listener larger than the
	// socket buffers of both ends (tens of MiB), for UnreadDownload; ""
	// skips that attack.
	DownloadPath string
	// Scale sets how much each attack does: its connections at once, or
	// Scale times its base count of tries (see each attack). At least 1.
	Scale  int
	Bounds Bounds
}

// Report is what one attack did and what the server answered.
type Report struct {
	Attack string
	// Tries counts the connections or requests made, Passed those the
	// server handled as its bounds require, Refused those it turned away
	// at the door (HTTP 503 or 429: a limit doing its job), Failed those
	// it handled wrongly, described in Failures (the first few).
	Tries, Passed, Refused, Failed int
	Failures                       []string
	// Errors counts tries the attack itself could not make (a dial that
	// failed): neither a pass nor a failure of the server.
	Errors int
	// Err is why the attack could not run at all (a target off loopback).
	Err error
}

// maxFailures is how many failures a Report describes; the rest are
// only counted.
const maxFailures = 5

// String sums the report up in one line.
func (r Report) String() string {
	s := fmt.Sprintf("%s: %d tries, %d passed, %d refused, %d failed, %d errors", r.Attack, r.Tries, r.Passed, r.Refused, r.Failed, r.Errors)
	if r.Err != nil {
		s += "; could not run: " + r.Err.Error()
	}
	if len(r.Failures) > 0 {
		s += "; " + strings.Join(r.Failures, "; ")
	}
	return s
}

// tally collects one attack's outcomes from its goroutines.
type tally struct {
	mu sync.Mutex
	r  Report
}

func (t *tally) tried() { t.mu.Lock(); t.r.Tries++; t.mu.Unlock() }
func (t *tally) pass()  { t.mu.Lock(); t.r.Passed++; t.mu.Unlock() }

// refused counts a try turned away at the door.
func (t *tally) refused() { t.mu.Lock(); t.r.Refused++; t.mu.Unlock() }

// errored counts a try the attack could not make.
func (t *tally) errored() { t.mu.Lock(); t.r.Errors++; t.mu.Unlock() }

// fail counts a wrong answer of the server and describes the first few.
func (t *tally) fail(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.r.Failed++
	if len(t.r.Failures) < maxFailures {
		t.r.Failures = append(t.r.Failures, fmt.Sprintf(format, args...))
	}
}

func (t *tally) report() Report {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.r
	r.Failures = append([]string(nil), r.Failures...)
	return r
}

// Attack is one hostile behaviour. Run returns once it has stopped, every
// connection closed and every goroutine it started ended.
type Attack struct {
	Name string
	Run  func(ctx context.Context, t Target) Report
}

// All returns every attack of the package.
func All() []Attack {
	return []Attack{
		{"failed_upgrades", FailedUpgrades},
		{"slow_headers", SlowHeaders},
		{"slow_body", SlowBody},
		{"idle_keepalive", IdleKeepAlive},
		{"big_headers", BigHeaders},
		{"unread_download", UnreadDownload},
		{"join_flood", JoinFlood},
		{"ping_flood", PingFlood},
		{"bad_close", BadClose},
		{"fragment_close", FragmentThenClose},
		{"never_reader", NeverReader},
		{"spawn_drop", SpawnDrop},
		{"silent_spectators", SilentSpectators},
	}
}

// Run runs the attacks at once against t, attack i from the loopback
// source address 127.0.0.(firstSource+i), and returns their reports in
// the order of attacks once all have stopped.
func Run(ctx context.Context, t Target, attacks []Attack, firstSource int) []Report {
	reports := make([]Report, len(attacks))
	var wg sync.WaitGroup
	for i, a := range attacks {
		at := t
		at.Source = net.IPv4(127, 0, 0, byte(firstSource+i))
		// Owned by Run; exits when the attack has stopped.
		wg.Go(func() {
			reports[i] = a.Run(ctx, at)
			reports[i].Attack = a.Name
		})
	}
	wg.Wait()
	return reports
}

// errNotLoopback refuses a target or source address off loopback.
var errNotLoopback = errors.New("hostile: attacks run against loopback addresses only")

// check validates t before an attack: loopback addresses only.
func (t *Target) check() error {
	for _, addr := range []string{t.Addr, t.Admin} {
		if addr == "" {
			continue
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("hostile: address %q: %w", addr, err)
		}
		ip := net.ParseIP(host)
		if host == "localhost" {
			ip = net.IPv4(127, 0, 0, 1)
		}
		if ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("%w: %q", errNotLoopback, addr)
		}
	}
	if t.Source != nil && !t.Source.IsLoopback() {
		return fmt.Errorf("%w: source %v", errNotLoopback, t.Source)
	}
	if t.Scale < 1 {
		t.Scale = 1
	}
	if t.Bounds.Slack <= 0 {
		t.Bounds.Slack = time.Second
	}
	return nil
}

// dialTimeout bounds every connect of an attack: loopback answers at once.
const dialTimeout = 5 * time.Second

// dial connects to addr from t.Source. rcvbuf, if positive, sets the
// socket's receive buffer before the connection is made (where it decides
// the TCP window the client offers).
func (t *Target) dial(ctx context.Context, addr string, rcvbuf int) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	if t.Source != nil {
		d.LocalAddr = &net.TCPAddr{IP: t.Source}
	}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			})
			return errors.Join(err, serr)
		}
	}
	return d.DialContext(ctx, "tcp", addr)
}

// listeners are the addresses of t's HTTP listeners: public, and admin
// when set.
func (t *Target) listeners() []string {
	if t.Admin == "" {
		return []string{t.Addr}
	}
	return []string{t.Addr, t.Admin}
}

// closedWithin waits up to d for the server to end conn, reading and
// discarding whatever comes, and reports whether it did (EOF or a reset)
// and after how long. ctx cuts the wait short (reported as not closed).
func closedWithin(ctx context.Context, conn net.Conn, d time.Duration) (bool, time.Duration) {
	start := time.Now()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	_ = conn.SetReadDeadline(start.Add(d))
	var buf [4096]byte
	for {
		_, err := conn.Read(buf[:])
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return false, time.Since(start)
		}
		return true, time.Since(start) // EOF or a reset: the server closed
	}
}

// sleep waits d or until ctx is done, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// round shows a duration to the millisecond.
func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
