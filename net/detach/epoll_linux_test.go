//go:build linux

package detach

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// epollWithEvent returns an epoll instance watching an eventfd, and the
// eventfd; both are closed when the test ends.
func epollWithEvent(t *testing.T) (epfd, efd int) {
	t.Helper()
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(epfd) })
	efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(efd) })
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(efd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &ev); err != nil {
		t.Fatal(err)
	}
	return epfd, efd
}

func signal(t *testing.T, efd int) {
	t.Helper()
	if _, err := unix.Write(efd, []byte{1, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
}

// signalEnds signals efd and checks that it ends the wait done reports.
func signalEnds(t *testing.T, efd int, done <-chan waitResult) {
	t.Helper()
	signal(t, efd)
	select {
	case r := <-done:
		if r.n != 1 || r.err != nil {
			t.Fatalf("Wait = %d, %v; want the eventfd's event", r.n, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the event did not end the wait")
	}
}

type waitResult struct {
	n   int
	err error
}

func waitInBackground(w *EpollWaiter, timeout time.Duration) <-chan waitResult {
	done := make(chan waitResult, 1)
	go func() {
		n, err := w.Wait(make([]unix.EpollEvent, 8), timeout)
		done <- waitResult{n, err}
	}()
	return done
}

// waiterState returns the runtime's state of the goroutine in
// EpollWaiter.Wait ("IO wait" when parked in the runtime's poller,
// "syscall" in a system call), or "" while there is none.
func waiterState() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if !strings.Contains(g, "detach.(*EpollWaiter).Wait") {
			continue
		}
		header, _, _ := strings.Cut(g, "\n")
		_, state, _ := strings.Cut(header, "[")
		state, _, _ = strings.Cut(state, "]")
		state, _, _ = strings.Cut(state, ",")
		return state
	}
	return ""
}

// TestEpollWaiterParks: a wait for an instance with nothing ready parks
// the goroutine in the runtime's poller (it holds no thread and no
// processor: epoll_wait(2) would show as "syscall"), and ends with the
// event that comes.
func TestEpollWaiterParks(t *testing.T) {
	epfd, efd := epollWithEvent(t)
	done := waitInBackground(NewEpollWaiter(epfd), -1)
	// On its way to parking the wait makes a few short system calls; a
	// wait in epoll_wait(2) would stay in "syscall" for good.
	deadline := time.Now().Add(5 * time.Second)
	state := ""
	for state != "IO wait" && time.Now().Before(deadline) {
		state = waiterState()
		time.Sleep(time.Millisecond)
	}
	if state != "IO wait" {
		t.Fatalf("the waiting goroutine is %q, want parked in IO wait", state)
	}
	select {
	case r := <-done:
		t.Fatalf("Wait returned %d, %v with nothing ready", r.n, r.err)
	default:
	}
	signalEnds(t, efd, done)
}

// TestEpollWaiterTimesOut: a wait with a timeout returns no event once it
// has passed, and a readiness from before a wait ends it at once.
func TestEpollWaiterTimesOut(t *testing.T) {
	epfd, efd := epollWithEvent(t)
	w := NewEpollWaiter(epfd)
	events := make([]unix.EpollEvent, 8)
	start := time.Now()
	if n, err := w.Wait(events, 30*time.Millisecond); n != 0 || err != nil {
		t.Fatalf("Wait = %d, %v; want 0, nil", n, err)
	}
	if waited := time.Since(start); waited < 30*time.Millisecond {
		t.Fatalf("Wait returned after %v, before its timeout", waited)
	}
	signal(t, efd)
	if n, err := w.Wait(events, -1); n != 1 || err != nil || events[0].Fd != int32(efd) {
		t.Fatalf("Wait = %d, %v (fd %d); want the eventfd's event", n, err, events[0].Fd)
	}
	if n, err := w.Wait(events, 0); n != 1 || err != nil {
		t.Fatalf("a look = %d, %v; want the eventfd, still readable", n, err)
	}
}

// TestEpollWaiterWithoutADescriptorToSpare: where the duplicate cannot be
// opened, a wait is made in epoll_wait(2), timeout and event alike.
func TestEpollWaiterWithoutADescriptorToSpare(t *testing.T) {
	epfd, efd := epollWithEvent(t)
	was := dup
	dup = func(int) (int, error) { return -1, unix.EMFILE }
	t.Cleanup(func() { dup = was })
	w := NewEpollWaiter(epfd)
	if n, err := w.Wait(make([]unix.EpollEvent, 8), 20*time.Millisecond); n != 0 || err != nil {
		t.Fatalf("Wait = %d, %v; want 0, nil", n, err)
	}
	done := waitInBackground(w, -1)
	time.Sleep(20 * time.Millisecond)
	signalEnds(t, efd, done)
}
