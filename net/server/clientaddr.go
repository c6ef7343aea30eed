package server

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/shatter/shatter/net/lobby"
	"github.com/shatter/shatter/net/session"
)

// DefaultMaxConnsPerIP is Config.MaxConnsPerIP's default.
const DefaultMaxConnsPerIP = 32

// addrKey is the key one client's address is counted under: an IPv4
// address, or the /64 of an IPv6 address, since one host (one home or
// one cloud machine) is usually given a whole /64 and could otherwise
// count as 2^64 clients. IPv4-mapped IPv6 addresses count as IPv4. The
// zero Prefix for an invalid address.
func addrKey(a netip.Addr) netip.Prefix {
	a = a.Unmap().WithZone("")
	bits := 64
	if a.Is4() {
		bits = 32
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// clientAddr is the address of the client that sent r: the TCP peer, or,
// when the peer is a trusted proxy, the rightmost address of the
// ClientIPHeader that is not itself a trusted proxy. Each proxy appends
// the address it received the request from, so the entries right of the
// first untrusted one were written by our proxies, and the entries left
// of it by whoever the client is: those are never believed. A malformed
// entry ends the walk at the last trusted address; if every entry is a
// trusted proxy, the leftmost one is the client.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	client := peer.Addr().Unmap()
	if !s.trusted(client) {
		return client
	}
	values := r.Header.Values(s.cfg.ClientIPHeader)
	for i := len(values) - 1; i >= 0; i-- {
		entries := strings.Split(values[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a, ok := parseForwarded(entries[j])
			if !ok {
				return client
			}
			client = a
			if !s.trusted(a) {
				return a
			}
		}
	}
	return client
}

// parseForwarded parses one entry of a client address header: an address,
// maybe with a port ("203.0.113.7:5123", "[2001:db8::1]:443").
func parseForwarded(entry string) (netip.Addr, bool) {
	entry = strings.TrimSpace(entry)
	if a, err := netip.ParseAddr(entry); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(entry); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// trusted reports whether a is one of the trusted proxies.
func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// addrLimit counts what each client address holds of the server (open
// WebSocket connections, detached seats, /join reservations) against a
// bound. Its lock is a leaf: nothing is called while it is held.
type addrLimit struct {
	max  int // below 1: no bound, and nothing is counted
	mu   sync.Mutex
	held map[netip.Prefix]int // guarded by mu; no zero entries
}

func newAddrLimit(max int) *addrLimit {
	return &addrLimit{max: max, held: map[netip.Prefix]int{}}
}

// acquire counts one more for k, unless k holds its bound already.
func (a *addrLimit) acquire(k netip.Prefix) bool {
	if a.max < 1 {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.held[k] >= a.max {
		return false
	}
	a.held[k]++
	return true
}

// add counts one more for k whatever it holds: a seat that detaches
// cannot be refused.
func (a *addrLimit) add(k netip.Prefix) {
	if a.max < 1 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.held[k]++
}

// release gives back one of k's.
func (a *addrLimit) release(k netip.Prefix) {
	if a.max < 1 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.held[k]--; a.held[k] <= 0 {
		delete(a.held, k)
	}
}

// releaseAfter gives back one of k's after ttl: a /join reservation
// counts until it expires, even if it is claimed earlier, since the claim
// may come on another node.
func (a *addrLimit) releaseAfter(k netip.Prefix, ttl time.Duration) {
	if a.max < 1 {
		return
	}
	time.AfterFunc(ttl, func() { a.release(k) })
}

// holdSeat implements lobby.Config.Hold: a detached seat counts against
// the address of the connection that dropped it. The session calls
// Leave before the server forgets its connection, so the connection is
// still in conns. Called with the lobby's lock held.
func (s *Server) holdSeat(c lobby.Conn) func() {
	sc, ok := c.(*session.Conn)
	if !ok {
		return func() {}
	}
	s.mu.Lock()
	k, ok := s.conns[sc]
	s.mu.Unlock()
	if !ok {
		return func() {}
	}
	s.perAddr.add(k)
	return func() { s.perAddr.release(k) }
}

// JoinRate bounds GET /join per client address: a token bucket of Burst
// requests refilled at PerSecond.
type JoinRate struct {
	PerSecond float64 // 1 if zero; negative: no bound
	Burst     int     // 5 if zero
}

// maxJoinAddrs bounds the addresses the /join limiter remembers: a flood
// from many addresses (a whole IPv6 /48, or a proxy's header) costs a
// bounded map.
const maxJoinAddrs = 10000

// joinLimiter is a token bucket per client address. An address whose
// bucket has filled up again is as good as new and may be forgotten; when
// the map is full the full buckets are swept (at most once a second),
// and if none is, an arbitrary address is forgotten, which at worst gives
// it a fresh burst.
type joinLimiter struct {
	limit rate.Limit // 0: no bound
	burst int

	mu        sync.Mutex // guards the fields below
	buckets   map[netip.Prefix]*rate.Limiter
	lastSweep time.Time
}

func newJoinLimiter(r JoinRate) *joinLimiter {
	if r.PerSecond == 0 {
		r.PerSecond = 1
	}
	if r.Burst <= 0 {
		r.Burst = 5
	}
	j := &joinLimiter{burst: r.Burst, buckets: map[netip.Prefix]*rate.Limiter{}}
	if r.PerSecond > 0 {
		j.limit = rate.Limit(r.PerSecond)
	}
	return j
}

// allow takes a token of k's bucket at now; if there is none, it says
// how long until there is.
func (j *joinLimiter) allow(k netip.Prefix, now time.Time) (ok bool, retryAfter time.Duration) {
	if j.limit == 0 {
		return true, 0
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	b := j.buckets[k]
	if b == nil {
		if len(j.buckets) >= maxJoinAddrs {
			j.makeRoom(now)
		}
		b = rate.NewLimiter(j.limit, j.burst)
		j.buckets[k] = b
	}
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// makeRoom forgets at least one address. Called with mu held.
func (j *joinLimiter) makeRoom(now time.Time) {
	if now.Sub(j.lastSweep) >= time.Second {
		j.lastSweep = now
		for k, b := range j.buckets {
			if b.TokensAt(now) >= float64(j.burst) {
				delete(j.buckets, k)
			}
		}
	}
	for k := range j.buckets {
		if len(j.buckets) < maxJoinAddrs {
			return
		}
		delete(j.buckets, k)
	}
}

// originSet parses Config.AllowedOrigins into the set of allowed Origin
// header values, in lower case.
func originSet(origins []string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, o := range origins {
		o = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(o), "/"))
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("allowed origin %q: want scheme://host[:port], as a browser sends it", o)
		}
		set[o] = true
	}
	return set, nil
}

// originAllowed reports whether r may open a WebSocket: it carries no
// Origin (a client that is not a browser, which could send any Origin
// anyway), or one on the allowlist, or there is no allowlist.
func (s *Server) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return len(s.origins) == 0 || o == "" || s.origins[strings.ToLower(o)]
}
