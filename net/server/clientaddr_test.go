package server

import (
	"net/http"
	"net/netip"
	"testing"
	"time"
)

func TestAddrKey(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"203.0.113.7", "203.0.113.7/32"},
		{"::ffff:203.0.113.7", "203.0.113.7/32"}, // IPv4-mapped counts as IPv4
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
	}
	for _, tt := range tests {
		if got := addrKey(netip.MustParseAddr(tt.addr)); got.String() != tt.want {
			t.Errorf("addrKey(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
	if got := addrKey(netip.Addr{}); got.IsValid() {
		t.Errorf("addrKey(invalid) = %v, want the zero prefix", got)
	}
}

func TestClientAddr(t *testing.T) {
	s := &Server{cfg: Config{
		ClientIPHeader: "X-Forwarded-For",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")},
	}}
	tests := []struct {
		name, peer string
		header     []string
		want       string
	}{
		{"untrusted peer: header ignored", "203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"trusted peer without header", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"trusted peer", "10.1.2.3:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client's own entries left of ours are not believed", "10.1.2.3:5000", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"proxies of ours are skipped", "10.1.2.3:5000", []string{"1.1.1.1, 198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"several header lines read as one list", "10.1.2.3:5000", []string{"1.1.1.1, 198.51.100.1", "10.9.9.9"}, "198.51.100.1"},
		{"entries with ports", "10.1.2.3:5000", []string{"198.51.100.1:4242"}, "198.51.100.1"},
		{"IPv6 entries", "[fd00::1]:5000", []string{"[2001:db8::7]:443, fd00::2"}, "2001:db8::7"},
		{"every entry trusted: the leftmost", "10.1.2.3:5000", []string{"10.0.0.5, 10.0.0.6"}, "10.0.0.5"},
		{"malformed entry: the last trusted hop", "10.1.2.3:5000", []string{"198.51.100.1, unknown"}, "10.1.2.3"},
		{"mapped peer", "[::ffff:10.1.2.3]:5000", []string{"198.51.100.1"}, "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tt.peer, Header: http.Header{}}
			for _, v := range tt.header {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := s.clientAddr(r); got.String() != tt.want {
				t.Errorf("clientAddr = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestJoinLimiterIsBounded: a bucket refills at the rate; addresses whose
// buckets are full again are forgotten; and however many addresses ask
// at once, the limiter remembers at most maxJoinAddrs.
func TestJoinLimiterIsBounded(t *testing.T) {
	j := newJoinLimiter(JoinRate{})
	now := time.Unix(1000, 0)
	k := addrKey(netip.MustParseAddr("203.0.113.7"))
	for i := range 5 {
		if ok, _ := j.allow(k, now); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := j.allow(k, now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("6th request: allowed %v, retry after %v; want refused, within 1 s", ok, wait)
	}
	if ok, _ := j.allow(k, now.Add(time.Second)); !ok {
		t.Fatal("refused a second later")
	}
	// A flood of distinct addresses.
	base := netip.MustParseAddr("2001:db8::").As16()
	for i := range maxJoinAddrs + 500 {
		a := base
		a[4], a[5], a[6], a[7] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		j.allow(addrKey(netip.AddrFrom16(a)), now)
	}
	if n := len(j.buckets); n > maxJoinAddrs {
		t.Fatalf("%d addresses remembered, want at most %d", n, maxJoinAddrs)
	}
	// Once their buckets have refilled, the next new address sweeps them.
	j.allow(addrKey(netip.MustParseAddr("198.51.100.1")), now.Add(10*time.Second))
	if n := len(j.buckets); n > 10 {
		t.Fatalf("%d addresses remembered after the sweep, want only the recent ones", n)
	}
	if ok, _ := newJoinLimiter(JoinRate{PerSecond: -1}).allow(k, now); !ok {
		t.Fatal("a negative rate still limits")
	}
}

func TestOriginSet(t *testing.T) {
	set, err := originSet([]string{"https://Play.Example.com/", " http://localhost:4000", ""})
	if err != nil || len(set) != 2 || !set["https://play.example.com"] || !set["http://localhost:4000"] {
		t.Fatalf("originSet = %v, %v", set, err)
	}
	for _, bad := range []string{"play.example.com", "https://play.example.com/game", "https://"} {
		if _, err := originSet([]string{bad}); err == nil {
			t.Errorf("originSet(%q): no error", bad)
		}
	}
}
