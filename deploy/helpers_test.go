package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serverBin is the shatter-server binary the tests run: SHATTER_SERVER_BIN
// (make test builds bin/shatter-server first), or one TestMain builds.
var serverBin string

// repoRoot is the repository's top directory (this package's parent).
var repoRoot string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Dir(filepath.Dir(file))
	if bin := os.Getenv("SHATTER_SERVER_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "deploy: SHATTER_SERVER_BIN (a relative path is taken from deploy/): %v\n", err)
			return 1
		}
		serverBin = abs
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "shatter-deploy-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	serverBin = filepath.Join(dir, "shatter-server")
	build := exec.Command("go", "build", "-o", serverBin, "./cmd/server")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "deploy: building the server: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// freePort returns a loopback TCP port that was free a moment ago, for a
// program that must be told its port before it starts (nginx, and the
// nodes, whose addresses nginx's configuration names).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proc is a program a test runs: its output is kept for failure messages
// and it is stopped by its pid when the test ends. The kernel kills it if
// the test binary dies first.
type proc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // cmd.Wait's; read after exited

	mu  sync.Mutex
	out bytes.Buffer // stdout and stderr, guarded by mu
	// lines receives stdout's lines as they come, for a test that waits
	// for one; lines that nobody reads are dropped past its buffer.
	lines chan string
}

// start runs name with args (and env added to the test's environment).
func start(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	return startCmd(t, exec.Command(name, args...), env...)
}

// startCmd runs cmd, which has its path, arguments and maybe its stdin
// set, with env added to the test's environment.
func startCmd(t *testing.T, cmd *exec.Cmd, env ...string) *proc {
	t.Helper()
	p := &proc{name: filepath.Base(cmd.Path), cmd: cmd, exited: make(chan struct{}), lines: make(chan string, 64)}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = (*lockedWriter)(p)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	// Copies stdout into the log and the lines channel; exits at EOF,
	// that is when the process ends, and then reaps it.
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.out.WriteString(line + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- line:
			default:
			}
		}
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop(t, syscall.SIGKILL, 5*time.Second) })
	return p
}

type lockedWriter proc

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(b)
}

// log returns what the process printed so far.
func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// stop sends sig to the process, unless it has exited, and waits up to
// wait for it to exit (then kills it and fails t). It returns the
// process's exit error.
func (p *proc) stop(t *testing.T, sig syscall.Signal, wait time.Duration) error {
	select {
	case <-p.exited:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
		return p.err
	case <-time.After(wait):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Errorf("%s still running %v after %v; killed it. Its output:\n%s", p.name, wait, sig, p.log())
		return p.err
	}
}

// waitLine waits up to d for a stdout line with the prefix and returns it.
func (p *proc) waitLine(t *testing.T, prefix string, d time.Duration) string {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case line := <-p.lines:
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-p.exited:
			for len(p.lines) > 0 { // printed just before it exited
				if line := <-p.lines; strings.HasPrefix(line, prefix) {
					return line
				}
			}
			t.Fatalf("%s exited (%v) before printing %q:\n%s", p.name, p.err, prefix, p.log())
		case <-deadline:
			t.Fatalf("%s printed no %q in %v:\n%s", p.name, prefix, d, p.log())
		}
	}
}
