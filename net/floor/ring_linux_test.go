package floor

import (
	"fmt"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file measures the one lever on the floor that stays within TCP:
// handing the kernel a tick's writes in batches through io_uring(7)
// instead of one write(2) each. The module proxy this project reaches
// serves no io_uring library, so sendRing is the least of one, for this
// benchmark alone: it answers how much of a fan-out's write batching
// would save, against the TCP stack's work that stays
// (docs/PERFORMANCE.md, "The seventh stop on it").

// The kernel's ABI (include/uapi/linux/io_uring.h).
const (
	ringOffSQ      = 0
	ringOffCQ      = 0x8000000
	ringOffSQEs    = 0x10000000
	ringOpSend     = 26 // IORING_OP_SEND
	ringGetEvents  = 1  // IORING_ENTER_GETEVENTS
	ringSQESize    = 64
	ringCQESize    = 16
	ringSQArrayOff = 6 // io_sqring_offsets.array, in uint32s
	ringCQEsOff    = 5 // io_cqring_offsets.cqes, in uint32s
)

// ringParams is struct io_uring_params.
type ringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  [8]uint32 // head, tail, ring_mask, ring_entries, flags, dropped, array, resv1
	sqUserAddr                                                             uint64
	cqOff                                                                  [8]uint32 // head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1
	cqUserAddr                                                             uint64
}

// ringSQE is struct io_uring_sqe, as a send uses it.
type ringSQE struct {
	opcode, flags uint8
	ioprio        uint16
	fd            int32
	off, addr     uint64
	len, msgFlags uint32
	userData      uint64
	_             [3]uint64
}

// ringCQE is struct io_uring_cqe.
type ringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

// sendRing submits sends to many sockets with one io_uring_enter(2) a
// batch and waits for their completions, as a fan-out's pass could.
type sendRing struct {
	fd                     int
	maps                   [3][]byte // the SQ ring, the CQ ring, the SQEs
	sqTail, cqHead, cqTail *uint32
	sqMask, cqMask         uint32 // fixed by the kernel at setup
	sqes, cqes             unsafe.Pointer
	entries                int
}

// newSendRing sets up a ring of entries submissions, or says why not
// (io_uring disabled by sysctl or a seccomp filter, an old kernel).
func newSendRing(entries uint32) (*sendRing, error) {
	var p ringParams
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	r := &sendRing{fd: int(fd), entries: int(p.sqEntries)}
	sizes := [3]int{
		int(p.sqOff[ringSQArrayOff] + p.sqEntries*4),
		int(p.cqOff[ringCQEsOff] + p.cqEntries*ringCQESize),
		int(p.sqEntries * ringSQESize),
	}
	for i, off := range [3]int64{ringOffSQ, ringOffCQ, ringOffSQEs} {
		m, err := unix.Mmap(r.fd, off, sizes[i], unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("io_uring mmap: %w", err)
		}
		r.maps[i] = m
	}
	sq, cq := unsafe.Pointer(&r.maps[0][0]), unsafe.Pointer(&r.maps[1][0])
	at := func(base unsafe.Pointer, off uint32) *uint32 { return (*uint32)(unsafe.Add(base, off)) }
	r.sqTail, r.sqMask = at(sq, p.sqOff[1]), *at(sq, p.sqOff[2])
	r.cqHead, r.cqTail, r.cqMask = at(cq, p.cqOff[0]), at(cq, p.cqOff[1]), *at(cq, p.cqOff[2])
	r.sqes, r.cqes = unsafe.Pointer(&r.maps[2][0]), unsafe.Add(cq, p.cqOff[ringCQEsOff])
	// The SQ array maps ring slots to SQEs one to one, once for all.
	for i := range p.sqEntries {
		*at(sq, p.sqOff[ringSQArrayOff]+i*4) = i
	}
	return r, nil
}

// sendAll sends frame to each of fds and fails unless each send took all
// of it. After an error the ring is not to be used again: sends may be
// left in it.
//
// The sends carry MSG_DONTWAIT, as the server's writes are non-blocking:
// a full socket completes at once with -EAGAIN (an error here) instead of
// being retried later or handed to an io-wq thread, so every send runs
// inline in io_uring_enter, on the calling thread, whose CPU time then
// holds them all.
func (r *sendRing) sendAll(fds []int32, frame []byte) error {
	// The kernel reads the frame by an address held in ring memory, which
	// the garbage collector does not see.
	var pin runtime.Pinner
	pin.Pin(&frame[0])
	defer pin.Unpin()
	for done := 0; done < len(fds); {
		n := min(len(fds)-done, r.entries)
		tail := atomic.LoadUint32(r.sqTail)
		for k := range n {
			sqe := (*ringSQE)(unsafe.Add(r.sqes, uintptr((tail+uint32(k))&r.sqMask)*ringSQESize))
			*sqe = ringSQE{opcode: ringOpSend, fd: fds[done+k], addr: uint64(uintptr(unsafe.Pointer(&frame[0]))),
				len: uint32(len(frame)), msgFlags: unix.MSG_DONTWAIT, userData: uint64(done + k)}
		}
		atomic.StoreUint32(r.sqTail, tail+uint32(n))
		// One call submits the batch and waits for its completions; should
		// the wait end early, the next calls only wait.
		var err error
		for submit, got := n, 0; got < n; {
			took, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(submit), uintptr(n-got), ringGetEvents, 0, 0)
			if errno == unix.EINTR {
				continue // nothing was taken: a call that took sends says so
			}
			if errno != 0 {
				return fmt.Errorf("io_uring_enter: %w", errno)
			}
			if int(took) != submit {
				return fmt.Errorf("io_uring_enter took %d of %d sends", took, submit)
			}
			submit = 0
			head, ctail := atomic.LoadUint32(r.cqHead), atomic.LoadUint32(r.cqTail)
			for ; head != ctail; head++ {
				cqe := (*ringCQE)(unsafe.Add(r.cqes, uintptr(head&r.cqMask)*ringCQESize))
				if cqe.res != int32(len(frame)) && err == nil {
					err = fmt.Errorf("send to connection %d: %d of %d bytes", cqe.userData, cqe.res, len(frame))
				}
				got++
			}
			atomic.StoreUint32(r.cqHead, head)
		}
		if err != nil {
			return err
		}
		done += n
	}
	return nil
}

// close unmaps the ring and closes its descriptor.
func (r *sendRing) close() {
	for _, m := range r.maps {
		if m != nil {
			unix.Munmap(m)
		}
	}
	unix.Close(r.fd)
}

// rawFD returns the descriptor of conn, a TCP connection. It stays
// conn's: closing conn closes it.
func rawFD(conn net.Conn) (int32, error) {
	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		return 0, err
	}
	var fd int32
	if err := raw.Control(func(d uintptr) { fd = int32(d) }); err != nil {
		return 0, err
	}
	return fd, nil
}

// TestSendRing checks that the benchmark's ring delivers a frame to every
// connection, byte for byte, across more than one batch.
func TestSendRing(t *testing.T) {
	if p, sqe, cqe := unsafe.Sizeof(ringParams{}), unsafe.Sizeof(ringSQE{}), unsafe.Sizeof(ringCQE{}); p != 120 || sqe != ringSQESize || cqe != ringCQESize {
		t.Fatalf("io_uring_params, _sqe, _cqe of %d, %d, %d bytes: want the kernel's 120, %d, %d", p, sqe, cqe, ringSQESize, ringCQESize)
	}
	var p ringParams
	var sqe ringSQE
	var cqe ringCQE
	for _, f := range []struct {
		name      string
		got, want uintptr
	}{
		{"io_uring_params.sq_off", unsafe.Offsetof(p.sqOff), 40},
		{"io_uring_params.cq_off", unsafe.Offsetof(p.cqOff), 80},
		{"io_uring_sqe.addr", unsafe.Offsetof(sqe.addr), 16},
		{"io_uring_sqe.msg_flags", unsafe.Offsetof(sqe.msgFlags), 28},
		{"io_uring_sqe.user_data", unsafe.Offsetof(sqe.userData), 32},
		{"io_uring_cqe.res", unsafe.Offsetof(cqe.res), 8},
	} {
		if f.got != f.want {
			t.Errorf("%s at byte %d: want the kernel's %d", f.name, f.got, f.want)
		}
	}
	ring, err := newSendRing(8)
	if err != nil {
		t.Skipf("no io_uring here: %v", err)
	}
	defer ring.close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var readers []net.Conn
	var writers []int32
	for range 20 {
		rd, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		wr, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer wr.Close()
		fd, err := rawFD(wr)
		if err != nil {
			t.Fatal(err)
		}
		readers, writers = append(readers, rd), append(writers, fd)
	}
	frame := []byte("a frame of the fan-out")
	if err := ring.sendAll(writers, frame); err != nil {
		t.Fatal(err)
	}
	for i, rd := range readers {
		got := make([]byte, len(frame))
		rd.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(rd, got); err != nil || string(got) != string(frame) {
			t.Fatalf("connection %d read %q, %v: want %q", i, got, err, frame)
		}
	}
}

// BenchmarkPacedSend compares three ways to make a fan-out's writes:
// bursts of one 300-byte frame to each of 1,000 loopback connections, a
// burst begun every 1/30 s as a fan-out's ticks and the paced floor
// (MeasurePaced) write them. conn writes through net.Conn, as the paced
// floor does; write makes one write(2) a connection on its descriptor,
// past Go's poller, as the server's writes do; io_uring submits the same
// sends 256 at a time (sendRing). An op is a burst; cpu-ns/send is the
// writing thread's CPU time a send, the figure to compare (a batch is one
// long system call, during which the runtime may hand the thread's
// processor to another, which shows in the wall time); ns/send is the
// wall time a send within the bursts. To alternate them, run one at a
// time (-bench 'PacedSend/write$' and so on) with -benchtime 90x or so.
func BenchmarkPacedSend(b *testing.B) {
	const conns = 1000
	for _, mode := range []string{"conn", "write", "io_uring"} {
		b.Run(mode, func(b *testing.B) {
			rig, err := Open(conns, 300)
			if err != nil {
				b.Fatal(err)
			}
			defer rig.Close()
			var send func() error
			switch mode {
			case "conn":
				send = func() error {
					for range conns {
						if err := rig.Write(); err != nil {
							return err
						}
					}
					return nil
				}
			case "write":
				fds := rigFDs(b, rig)
				send = func() error {
					for _, fd := range fds {
						if n, err := unix.Write(int(fd), rig.frame); err != nil {
							return fmt.Errorf("write: %w", err)
						} else if n != len(rig.frame) {
							return fmt.Errorf("write: %d of %d bytes", n, len(rig.frame))
						}
					}
					return nil
				}
			case "io_uring":
				ring, err := newSendRing(256)
				if err != nil {
					b.Skipf("no io_uring here: %v", err)
				}
				defer ring.close()
				fds := rigFDs(b, rig)
				send = func() error { return ring.sendAll(fds, rig.frame) }
			}
			runtime.LockOSThread() // The thread's CPU time is the sends'.
			defer runtime.UnlockOSThread()
			if err := send(); err != nil { // Warm every connection first.
				b.Fatal(err)
			}
			var cpu time.Duration
			burst := time.Now()
			for b.Loop() {
				b.StopTimer()
				time.Sleep(time.Second/30 - time.Since(burst))
				burst = time.Now()
				b.StartTimer()
				cpu0 := ThreadCPU()
				if err := send(); err != nil {
					b.Fatal(err)
				}
				cpu += ThreadCPU() - cpu0
			}
			sends := float64(b.N * conns)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/sends, "ns/send")
			b.ReportMetric(float64(cpu.Nanoseconds())/sends, "cpu-ns/send")
		})
	}
}

// rigFDs returns the descriptors of the rig's writing ends.
func rigFDs(b *testing.B, rig *Rig) []int32 {
	b.Helper()
	fds := make([]int32, len(rig.writers))
	for i, w := range rig.writers {
		var err error
		if fds[i], err = rawFD(w); err != nil {
			b.Fatal(err)
		}
	}
	return fds
}
