// Package redistest runs a real redis-server for tests: on a free loopback
// port (never 6379), in the test's temporary directory, with persistence
// off, stopped when the test ends. It can freeze the server (SIGSTOP),
// thaw it (SIGCONT) and restart it empty on the same port, the faults the
// fleet must ride out.
//
// It needs Debian's redis-server (7.x) on PATH; scripts/install-deps.sh
// installs it. A test that finds none fails rather than skips, so that a
// missing server never passes for a green run.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds the wait for a new server to answer PING.
const startTimeout = 10 * time.Second

// Server is one redis-server process, restarted in place by Restart.
// Its methods are safe for concurrent use and fail the test on error.
type Server struct {
	t    testing.TB
	dir  string // static after Start
	port int    // static after Start

	mu   sync.Mutex // guards proc; held across a restart
	proc *process
}

// process is one run of redis-server. Its waiter goroutine, started with
// it, owns cmd.Wait and exits when the process does; done is closed then.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // cmd.Wait's; read after done
}

// Start runs a redis-server for t and stops it (SIGKILL, which also ends a
// frozen one) when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is not on PATH: run scripts/install-deps.sh (as root; it installs Debian's redis-server), then test again")
	}
	s := &Server{t: t, dir: t.TempDir()}
	// A free port may be taken between our probe and the server's bind:
	// try a few.
	var lastErr error
	for range 5 {
		s.port = freePort(t)
		p, err := s.spawn()
		if err == nil {
			s.proc = p
			t.Cleanup(s.Stop)
			return s
		}
		lastErr = err
	}
	t.Fatalf("redistest: cannot start redis-server: %v", lastErr)
	return nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("redistest: free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port != 6379 { // the system service's, if one runs
			return port
		}
	}
}

// spawn starts a server on s.port and waits for it to answer PING.
func (s *Server) spawn() (*process, error) {
	logPath := filepath.Join(s.dir, "redis.log")
	cmd := exec.Command("redis-server",
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--logfile", logPath,
		"--daemonize", "no",
	)
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		if reply, err := s.command("PING"); err == nil && reply == "+PONG" {
			return p, nil
		}
		select {
		case <-p.done:
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("redis-server on port %d exited (%v): %s", s.port, p.err, lastLines(string(log), 5))
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("redis-server on port %d did not answer PING within %v", s.port, startTimeout)
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// kill ends the process and waits for it.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// command sends one inline command on a new connection and returns the
// first line of the answer.
func (s *Server) command(cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// PID is the running server's process id.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc.cmd.Process.Pid
}

// signal sends sig to the running server.
func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		s.t.Fatalf("redistest: signal %v: server stopped", sig)
	}
	if err := s.proc.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redistest: signal %v: %v", sig, err)
	}
}

// Freeze stops the server with SIGSTOP: connections stay open, and nothing
// answers, as with a Redis stuck on a slow disk or a lost network.
func (s *Server) Freeze() { s.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server with SIGCONT.
func (s *Server) Thaw() { s.signal(syscall.SIGCONT) }

// FlushAll empties the server (FLUSHALL), as a restart with nothing saved
// would, but keeps its connections and its script cache.
func (s *Server) FlushAll() {
	s.t.Helper()
	if reply, err := s.command("FLUSHALL"); err != nil || reply != "+OK" {
		s.t.Fatalf("redistest: FLUSHALL: %q, %v", reply, err)
	}
}

// Restart kills the server and starts a new one, empty, on the same port:
// clients' connections break and their scripts are no longer cached.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.proc.kill()
		s.proc = nil
	}
	// The old socket is gone once the process is, but retry a bind that
	// races with the kernel's cleanup.
	var lastErr error
	for range 20 {
		p, err := s.spawn()
		if err == nil {
			s.proc = p
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("redistest: restart on port %d: %v", s.port, lastErr)
}

// Stop kills the server (frozen or not) and waits for it. Idempotent; the
// test's cleanup calls it.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.proc.kill()
		s.proc = nil
	}
}
