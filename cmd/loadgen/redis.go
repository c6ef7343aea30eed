package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// redisProcess is the redis-server a fleet scenario starts: on a free
// loopback port, persistence off, in a temporary directory, as
// net/fleet/redistest starts one for tests (that package needs a
// testing.TB, so the few lines are repeated here).
type redisProcess struct {
	cmd    *exec.Cmd
	addr   string // 127.0.0.1:PORT
	dir    string // its working directory and log, removed by stop
	exited chan struct{}
	err    error // cmd.Wait's; set before exited is closed
}

// redisStartTimeout bounds the wait for a new redis-server to answer PING.
const redisStartTimeout = 10 * time.Second

// startRedis starts a redis-server for a scenario. A free port may be taken
// between the probe and the server's bind, so it tries a few.
func startRedis(ctx context.Context) (*redisProcess, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, errors.New("redis-server is not on PATH: run scripts/install-deps.sh (it installs Debian's redis-server)")
	}
	var lastErr error
	for range 5 {
		p, err := spawnRedis(ctx)
		if err == nil {
			return p, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("start redis-server: %w", lastErr)
}

func spawnRedis(ctx context.Context) (*redisProcess, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	if port == "6379" { // the system service's, if one runs
		return nil, errors.New("free port probe returned 6379")
	}
	dir, err := os.MkdirTemp("", "shatter-loadtest-redis-")
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "redis.log")
	cmd := exec.Command("redis-server",
		"--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", logPath, "--daemonize", "no")
	// A load generator killed without a chance to stop it takes it along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &redisProcess{cmd: cmd, addr: addr, dir: dir, exited: make(chan struct{})}
	// Owned by the redisProcess: exits when the process does.
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	deadline := time.Now().Add(redisStartTimeout)
	for {
		if reply, err := redisCommand(p.addr, "PING"); err == nil && reply == "+PONG" {
			return p, nil
		}
		select {
		case <-p.exited:
			log, _ := os.ReadFile(logPath)
			os.RemoveAll(dir)
			return nil, fmt.Errorf("redis-server on %s exited (%v): %s", addr, p.err, strings.TrimSpace(string(log)))
		case <-ctx.Done():
			p.stop()
			return nil, context.Cause(ctx)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("redis-server on %s did not answer PING within %v", addr, redisStartTimeout)
		}
	}
}

// url is the redis:// URL the nodes are given.
func (p *redisProcess) url() string { return "redis://" + p.addr }

// stop ends the server by its pid (SIGTERM, then SIGKILL after 5 s),
// waits for it and removes its directory.
func (p *redisProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	os.RemoveAll(p.dir)
}

// redisCommand sends one inline command on a new connection and returns
// the first line of the answer.
func redisCommand(addr, cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}

// redisStats is one reading of INFO commandstats and cpu.
type redisStats struct {
	At    time.Time
	Calls map[string]uint64 // by command, the INFO calls of the load generator left out
	CPU   float64           // used_cpu_sys + used_cpu_user, seconds
}

// total returns the commands counted.
func (s redisStats) total() uint64 {
	var n uint64
	for _, c := range s.Calls {
		n += c
	}
	return n
}

// readRedisStats reads INFO commandstats and cpu (Redis 7 takes several
// sections) on a connection of its own.
func readRedisStats(addr string) (redisStats, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return redisStats{}, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "INFO commandstats cpu\r\n"); err != nil {
		return redisStats{}, err
	}
	at := time.Now()
	br := bufio.NewReader(c)
	head, err := br.ReadString('\n')
	if err != nil {
		return redisStats{}, err
	}
	size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(head, "$")))
	if !strings.HasPrefix(head, "$") || err != nil || size < 0 {
		return redisStats{}, fmt.Errorf("redis INFO: unexpected answer %q", strings.TrimSpace(head))
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(br, body); err != nil {
		return redisStats{}, err
	}
	return parseRedisInfo(string(body), at), nil
}

// parseRedisInfo reads the lines "cmdstat_NAME:calls=N,..." and
// "used_cpu_sys:S" / "used_cpu_user:S" of an INFO answer.
func parseRedisInfo(body string, at time.Time) redisStats {
	s := redisStats{At: at, Calls: map[string]uint64{}}
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(key, "cmdstat_"):
			name := strings.TrimPrefix(key, "cmdstat_")
			calls, _, _ := strings.Cut(strings.TrimPrefix(value, "calls="), ",")
			n, err := strconv.ParseUint(calls, 10, 64)
			if err == nil && name != "info" {
				s.Calls[name] = n
			}
		case key == "used_cpu_sys", key == "used_cpu_user":
			if v, err := strconv.ParseFloat(value, 64); err == nil {
				s.CPU += v
			}
		}
	}
	return s
}
