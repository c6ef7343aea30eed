package deploy

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/client"
)

// The production test: Debian's nginx with deploy/nginx-shatter.conf
// (TLS with a certificate made here, the node routes, X-Forwarded-For) in
// front of two nodes that share a redis-server run with deploy/redis.conf
// (its ACL user included), everything on loopback. Players dial nginx
// from 127.0.0.2, 127.0.0.3 and 127.0.0.4, so that the nodes' per-address
// limit (2 here) can be seen to count them and not nginx (127.0.0.1, the
// trusted proxy).
const (
	perAddr     = 2
	redisUser   = "shatter"
	redisSecret = "CHANGE-ME" // deploy/redis.conf's placeholder, unchanged here
	// e2eWait bounds each wait of the test; the whole test takes about
	// 20 s.
	e2eWait = 20 * time.Second
)

// nginxBin finds Debian's nginx; without it the test is skipped with a
// message, except on CI, where that is a failure.
func nginxBin(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("nginx is not installed; scripts/install-deps.sh installs Debian's")
	}
	t.Skip("nginx is not installed: run scripts/install-deps.sh (as root) to install Debian's, then test again")
	return ""
}

// cert is a self-signed certificate for 127.0.0.1 and localhost.
type cert struct {
	certFile, keyFile string
	pool              *x509.CertPool
	spki              string // base64 of the SHA-256 of its public key, as Chromium's flag wants it
}

func makeCert(t *testing.T, dir string) cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "shatter e2e"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := cert{certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"), pool: x509.NewCertPool()}
	if err := os.WriteFile(c.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	c.pool.AddCert(parsed)
	sum := sha256.Sum256(parsed.RawSubjectPublicKeyInfo)
	c.spki = base64.StdEncoding.EncodeToString(sum[:])
	return c
}

// startRedis runs redis-server with deploy/redis.conf, its address, port
// and directory replaced by loopback ones, and waits until its ACL user
// can log in.
func startRedis(t *testing.T, dir string) int {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is not on PATH: run scripts/install-deps.sh")
	}
	port := freePort(t)
	p := start(t, "redis-server", nil, filepath.Join(repoRoot, "deploy", "redis.conf"),
		"--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--dir", dir)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(e2eWait)
	for {
		reply, err := redisAuthPing(addr)
		if err == nil && reply == "+OK\r\n+PONG\r\n" {
			return port
		}
		select {
		case <-p.exited:
			t.Fatalf("redis-server with deploy/redis.conf exited (%v):\n%s", p.err, p.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server with deploy/redis.conf: AUTH and PING got %q, %v:\n%s", reply, err, p.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func redisAuthPing(addr string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := fmt.Fprintf(conn, "AUTH %s %s\r\nPING\r\n", redisUser, redisSecret); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	a, err := r.ReadString('\n')
	if err != nil {
		return a, err
	}
	b, err := r.ReadString('\n')
	return a + b, err
}

// node is one shatter-server process behind nginx.
type node struct {
	*proc
	id, addr, admin string
}

var servingLine = regexp.MustCompile(`^node (\S+) serving (\S+) admin (\S+) \(public URL (\S+)\)`)

// startNode runs a node as deploy/ sets one up: its public URL is nginx's
// route for it, nginx (127.0.0.1) is its trusted proxy, its Redis user is
// redis.conf's; with short fleet leases and a per-address limit of 2.
func startNode(t *testing.T, id string, port, redisPort int, public string) *node {
	t.Helper()
	p := start(t, serverBin, []string{"SHATTER_LOG_LEVEL=info"},
		"-addr", fmt.Sprintf("127.0.0.1:%d", port), "-admin-addr", "127.0.0.1:0",
		"-node-id", id, "-public-url", public+"/n/"+id+"/ws",
		"-redis", fmt.Sprintf("redis://%s:%s@127.0.0.1:%d", redisUser, redisSecret, redisPort),
		"-trusted-proxies", "127.0.0.1/32", "-max-conns-per-ip", fmt.Sprint(perAddr),
		"-allowed-origins", strings.Replace(public, "wss:", "https:", 1),
		"-web-dir", filepath.Join(repoRoot, "web", "dist"),
		"-fleet-heartbeat", "200ms", "-fleet-lease", "1s", "-min-population", "2")
	m := servingLine.FindStringSubmatch(p.waitLine(t, "node ", e2eWait))
	if m == nil || m[1] != id {
		t.Fatalf("node %s: unexpected serving line:\n%s", id, p.log())
	}
	return &node{proc: p, id: id, addr: m[2], admin: m[3]}
}

// adminJSON GETs one of n's admin endpoints into v.
func (n *node) adminJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get("http://" + n.admin + path)
	if err != nil {
		t.Fatalf("node %s %s: %v", n.id, path, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("node %s %s: %v", n.id, path, err)
	}
}

// sessions counts n's players, over its arenas.
func (n *node) sessions(t *testing.T) int {
	var a struct{ Arenas []struct{ Sessions int } }
	n.adminJSON(t, "/arenas", &a)
	total := 0
	for _, ar := range a.Arenas {
		total += ar.Sessions
	}
	return total
}

// metric returns the value of one series of n's /metrics (0 if absent).
func (n *node) metric(t *testing.T, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + n.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}

// nginxSite is deploy/nginx-shatter.conf made to run here: its fleet
// block names the test's nodes, its redirect server is left out (port 80
// is not ours), it listens on a loopback port, with the test's
// certificate. The rest, every location and header, is the file as
// shipped.
func nginxSite(t *testing.T, port int, c cert, nodes map[string]int) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "nginx-shatter.conf"))
	if err != nil {
		t.Fatal(err)
	}
	site := string(data)
	var fleet strings.Builder
	fleet.WriteString("upstream shatter-any {\n")
	ids := []string{"node-a", "node-b"}
	for _, id := range ids {
		fmt.Fprintf(&fleet, "    server 127.0.0.1:%d;\n", nodes[id])
	}
	fleet.WriteString("}\n")
	for _, id := range ids {
		fmt.Fprintf(&fleet, "upstream shatter-node-%s { server 127.0.0.1:%d; }\n", id, nodes[id])
	}
	replace := func(pattern, with string) {
		t.Helper()
		re := regexp.MustCompile(pattern)
		if n := len(re.FindAllStringIndex(site, -1)); n != 1 {
			t.Fatalf("deploy/nginx-shatter.conf: %d matches of %q, want 1 (the test adapts the file by it)", n, pattern)
		}
		site = re.ReplaceAllLiteralString(site, with)
	}
	replace(`(?s)# BEGIN fleet.*?# END fleet\n`, fleet.String())
	replace(`(?s)# BEGIN redirect.*?# END redirect\n`, "")
	replace(`(?m)^\s*listen 443 ssl;\n`, fmt.Sprintf("    listen 127.0.0.1:%d ssl;\n", port))
	replace(`(?m)^\s*listen \[::\]:443 ssl;\n`, "")
	replace(`(?m)^\s*ssl_certificate\s.*\n`, "    ssl_certificate "+c.certFile+";\n")
	replace(`(?m)^\s*ssl_certificate_key\s.*\n`, "    ssl_certificate_key "+c.keyFile+";\n")
	return site
}

// startNginx runs nginx in the foreground, one process (stopped by its
// pid with the test), with everything it writes in dir, and waits until
// it answers TLS.
func startNginx(t *testing.T, bin, dir, site string, port int, c cert) *proc {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "site.conf"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 512; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/site.conf;
}
`, dir)
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, bin, nil, "-p", dir, "-c", confFile, "-e", filepath.Join(dir, "error.log"))
	tlsConf := &tls.Config{RootCAs: c.pool}
	deadline := time.Now().Add(e2eWait)
	for {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", port), tlsConf)
		if err == nil {
			conn.Close()
			return p
		}
		select {
		case <-p.exited:
			errLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited (%v):\n%s%s\nsite:\n%s", p.err, p.log(), errLog, site)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not answer TLS on %d: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// from returns a dial function that opens TCP connections from the
// loopback address ip, as if from another machine.
func from(ip string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return d.DialContext
}

// httpsFrom is an HTTPS client trusting c that dials from ip.
func httpsFrom(ip string, c cert) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext:     from(ip),
		TLSClientConfig: &tls.Config{RootCAs: c.pool},
	}}
}

// player is a Go client playing through nginx, with the moves it
// followed.
type player struct {
	*client.Client
	ip    string
	mu    sync.Mutex
	moves []client.Move
}

func (p *player) moved() []client.Move {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]client.Move(nil), p.moves...)
}

// dial connects a player from ip to url over wss://, trusting c.
func dial(ctx context.Context, url, ip, name string, c cert) (*player, error) {
	p := &player{ip: ip}
	cl, err := client.Dial(ctx, url, client.Options{
		Name: name, TLSConfig: &tls.Config{RootCAs: c.pool}, NetDial: from(ip),
		OnMove: func(_ *client.Client, m client.Move) {
			p.mu.Lock()
			p.moves = append(p.moves, m)
			p.mu.Unlock()
		},
	})
	if err != nil {
		return nil, err
	}
	p.Client = cl
	return p, nil
}

// playFor spawns p's marble if it has none and steers it round for d,
// and reports whether snaps kept coming (a third of the tick rate's at
// least: a slow machine is not a failure) with its marble alive in them.
func (p *player) playFor(d time.Duration) error {
	before := p.Stats().SnapsReceived
	end := time.Now().Add(d)
	sawAlive := false
	for i := 0; time.Now().Before(end); i++ {
		var s client.Snapshot
		p.Snapshot(&s)
		sawAlive = sawAlive || s.Alive
		if !s.Alive {
			if err := p.SendSpawn(); err != nil && !errors.Is(err, client.ErrMoving) {
				return err
			}
		} else if _, err := p.SendInput(float64(i)*0.2, false); err != nil && !errors.Is(err, client.ErrMoving) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := p.Stats().SnapsReceived - before; got < uint64(d.Seconds()*10) || !sawAlive {
		return fmt.Errorf("%d snaps in %v, the marble alive in them: %v", got, d, sawAlive)
	}
	return nil
}

// rawUpgrade opens a WebSocket from ip to url with extra headers, without
// a hello: a connection that counts against the node's per-address limit.
func rawUpgrade(ctx context.Context, url, ip string, c cert, header http.Header) (net.Conn, error) {
	d := ws.Dialer{TLSConfig: &tls.Config{RootCAs: c.pool}, NetDial: from(ip), Header: ws.HandshakeHeaderHTTP(header)}
	conn, _, _, err := d.Dial(ctx, url)
	return conn, err
}

// eventually polls cond every 50 ms until it holds or e2eWait passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", e2eWait, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// browser is the browser client in Chromium (web/test/tls-page.mjs),
// driven over its stdin and stdout.
type browser struct {
	*proc
	stdin io.WriteCloser
}

// startBrowser opens the game page at url in Chromium, which trusts c by
// its public key hash and nothing else, and waits until it plays.
func startBrowser(t *testing.T, url string, c cert) (*browser, map[string]any) {
	t.Helper()
	web := filepath.Join(repoRoot, "web")
	for _, need := range []string{"node_modules/playwright-core", "dist/index.html"} {
		if _, err := os.Stat(filepath.Join(web, need)); err != nil {
			t.Fatalf("web/%s is missing: run `make web` (npm ci and the bundle) first; `make test` does", need)
		}
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not on PATH: the browser test runs playwright-core under Node")
	}
	cmd := exec.Command(nodeBin, filepath.Join(web, "test", "tls-page.mjs"))
	cmd.Dir = web
	b := &browser{}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	b.stdin = stdin
	b.proc = startCmd(t, cmd, "SHATTER_TLS_URL="+url, "SHATTER_TLS_SPKI="+c.spki)
	return b, b.event(t, "playing")
}

// event waits for the browser script's next JSON line and checks its
// event name.
func (b *browser) event(t *testing.T, name string) map[string]any {
	t.Helper()
	line := b.waitLine(t, "{", 2*e2eWait)
	var ev map[string]any
	if err := json.Unmarshal([]byte(line), &ev); err != nil || ev["event"] != name {
		t.Fatalf("browser: got %s, want a %q event (%v):\n%s", line, name, err, b.log())
	}
	return ev
}

// TestProductionSetup plays through deploy/'s nginx site over wss://.
func TestProductionSetup(t *testing.T) {
	nginx := nginxBin(t)
	dir := t.TempDir()
	c := makeCert(t, dir)
	redisPort := startRedis(t, dir)
	port := freePort(t)
	public := fmt.Sprintf("wss://127.0.0.1:%d", port)   // the nodes' public URLs start so
	origin := fmt.Sprintf("https://127.0.0.1:%d", port) // and the page's
	ports := map[string]int{"node-a": freePort(t), "node-b": freePort(t)}
	// Node b starts later, so that every player is on node a first and
	// its drain moves them all.
	a := startNode(t, "node-a", ports["node-a"], redisPort, public)
	startNginx(t, nginx, dir, nginxSite(t, port, c, ports), port, c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// HTTPS through nginx to any node: /healthz, and /join, which names
	// the node's own route (its public URL) for the player to dial.
	web := httpsFrom("127.0.0.4", c)
	resp, err := web.Get(origin + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("GET /healthz through nginx: %d %q", resp.StatusCode, body)
	}
	resp, err = web.Get(origin + "/join")
	if err != nil {
		t.Fatal(err)
	}
	var join struct{ URL, Seat string }
	err = json.NewDecoder(resp.Body).Decode(&join)
	resp.Body.Close()
	if err != nil || join.URL != public+"/n/node-a/ws" || join.Seat == "" {
		t.Fatalf("GET /join through nginx: %d %+v %v; want node-a's route %s/n/node-a/ws", resp.StatusCode, join, err, public)
	}

	// The per-address limit counts the players' addresses: two from
	// 127.0.0.2 get in, a third is refused, while 127.0.0.3 still gets in
	// (nginx, 127.0.0.1, carries all of them).
	atA := public + "/n/node-a/ws"
	p1, err := dial(ctx, atA, "127.0.0.2", "Ann", c)
	if err != nil {
		t.Fatal(err)
	}
	defer p1.Close()
	p2, err := dial(ctx, atA, "127.0.0.2", "Bob", c)
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	if p3, err := dial(ctx, atA, "127.0.0.2", "Cat", c); err == nil {
		p3.Close()
		t.Fatal("a third connection from 127.0.0.2 got in; the limit is 2 per address")
	} else if !strings.Contains(err.Error(), "503") {
		t.Fatalf("a third connection from 127.0.0.2: %v; want HTTP 503", err)
	}
	p4, err := dial(ctx, atA, "127.0.0.3", "Dan", c)
	if err != nil {
		t.Fatalf("127.0.0.3 refused while 127.0.0.2 is at its limit: %v", err)
	}
	defer p4.Close()
	if got := a.metric(t, `shatter_session_closes_total{reason="max_conns_per_ip"}`); got != 1 {
		t.Errorf("node-a counted %v max_conns_per_ip refusals, want 1", got)
	}
	if err := p1.playFor(2 * time.Second); err != nil {
		t.Fatalf("playing over wss:// through nginx: %v", err)
	}

	// The browser client, in Chromium, plays over wss:// too, through the
	// page's own /ws: on node a, the only node so far.
	br, ev := startBrowser(t, origin+"/", c)
	t.Logf("browser: %v", ev)
	if ev["server"] != public+"/ws" || ev["alive"] != true {
		t.Fatalf("the page: %v; want it playing at %s/ws", ev, public)
	}

	// Node b joins; node a is stopped as systemd stops it (SIGTERM) and
	// drains: every player is moved to node b through its nginx route,
	// alive, and none is lost.
	b := startNode(t, "node-b", ports["node-b"], redisPort, public)
	eventually(t, "node-a sees node-b ready", func() bool {
		var fleet struct{ Nodes []struct{ ID, State string } }
		a.adminJSON(t, "/fleet", &fleet)
		for _, n := range fleet.Nodes {
			if n.ID == "node-b" && n.State == "ready" {
				return true
			}
		}
		return false
	})
	if got := a.sessions(t); got != 4 {
		t.Fatalf("node-a has %d players before its drain, want 4 (three Go clients and the browser)", got)
	}
	drainStart := time.Now()
	if err := a.stop(t, syscall.SIGTERM, 25*time.Second); err != nil {
		t.Fatalf("node-a after SIGTERM: %v\n%s", err, a.log())
	}
	t.Logf("node-a drained and stopped in %v", time.Since(drainStart).Round(time.Millisecond))
	atB := public + "/n/node-b/ws"
	for _, p := range []*player{p1, p2, p4} {
		eventually(t, "a Go client arrives at node-b", func() bool { return len(p.moved()) > 0 })
		m := p.moved()[0]
		if m.Moved.Why != "drain" || m.To != atB || m.FellBack {
			t.Errorf("move from %s: %+v; want a drain to %s", p.ip, m, atB)
		}
	}
	if _, err := io.WriteString(br.stdin, "moved "+atB+"\n"); err != nil {
		t.Fatal(err)
	}
	ev = br.event(t, "moved")
	t.Logf("browser: %v", ev)
	if ev["server"] != atB || ev["moves"] != 1.0 || ev["connection"] != "open" {
		t.Fatalf("the page after the drain: %v; want it playing at %s after one move", ev, atB)
	}
	if err := p1.playFor(2 * time.Second); err != nil {
		t.Fatalf("playing on node-b after the move: %v", err)
	}
	if got := b.sessions(t); got != 4 {
		t.Fatalf("node-b has %d players after node-a's drain, want all 4", got)
	}

	// On node b too the limit counts the address each player came from,
	// moved players included (two from 127.0.0.2: full), and a client
	// cannot pick its address by writing X-Forwarded-For itself: nginx
	// appends the real one, which the node takes.
	if p5, err := dial(ctx, atB, "127.0.0.2", "Eve", c); err == nil {
		p5.Close()
		t.Fatal("node-b let a third connection from 127.0.0.2 in")
	}
	spoof := http.Header{"X-Forwarded-For": {"127.0.0.9"}}
	first, err := rawUpgrade(ctx, atB, "127.0.0.3", c, spoof)
	if err != nil {
		t.Fatalf("a second connection from 127.0.0.3: %v", err)
	}
	defer first.Close()
	if conn, err := rawUpgrade(ctx, atB, "127.0.0.3", c, spoof); err == nil {
		conn.Close()
		t.Fatal("a third connection from 127.0.0.3 got in by claiming X-Forwarded-For: 127.0.0.9")
	}
	if got := b.metric(t, `shatter_session_closes_total{reason="max_conns_per_ip"}`); got != 2 {
		t.Errorf("node-b counted %v max_conns_per_ip refusals, want 2", got)
	}
	select {
	case <-br.exited:
		if br.err != nil {
			t.Errorf("browser script: %v\n%s", br.err, br.log())
		}
	case <-time.After(e2eWait):
		t.Errorf("browser script still running after its last check:\n%s", br.log())
	}
}
