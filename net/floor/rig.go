package floor

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"
)

// Rig is a set of loopback TCP connections to write frames to,
// round-robin, each drained by a reader goroutine of its own, as a
// server's sessions are by their clients.
//
// Write is for one goroutine at a time; Close may be called once, from
// any goroutine, when no Write runs.
type Rig struct {
	// Static after Open.
	writers []net.Conn // the accepted ends: the server's side
	readers []net.Conn // the dialled ends, each read by its own goroutine
	frame   []byte

	next    int // the writer to write to next; owned by Write's caller
	reading sync.WaitGroup
}

// Open opens conns connections on 127.0.0.1 for frames of frameSize bytes,
// and starts their readers. Each reader exits when Close closes its
// connection. On error, what was opened is closed. Panics if conns or
// frameSize is not positive.
func Open(conns, frameSize int) (*Rig, error) {
	if conns < 1 || frameSize < 1 {
		panic(fmt.Sprintf("floor: Open(%d, %d): want at least one connection and one byte", conns, frameSize))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	defer ln.Close()
	r := &Rig{frame: make([]byte, frameSize)}
	for range conns {
		rd, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("floor: dial: %w", err)
		}
		wr, err := ln.Accept()
		if err != nil {
			rd.Close()
			r.Close()
			return nil, fmt.Errorf("floor: accept: %w", err)
		}
		r.writers, r.readers = append(r.writers, wr), append(r.readers, rd)
		// Owned by the rig: exits when Close closes rd.
		r.reading.Go(func() { drain(rd, frameSize) })
	}
	return r, nil
}

// drain reads conn until it fails, as when it is closed.
func drain(conn net.Conn, frameSize int) {
	buf := make([]byte, max(4096, frameSize))
	for {
		if _, err := conn.Read(buf); err != nil {
			return
		}
	}
}

// Conns returns the number of connections.
func (r *Rig) Conns() int { return len(r.writers) }

// Write writes one frame to the next connection.
func (r *Rig) Write() error {
	w := r.writers[r.next]
	if r.next++; r.next == len(r.writers) {
		r.next = 0
	}
	_, err := w.Write(r.frame)
	return err
}

// Close closes every connection and waits for the readers to exit.
func (r *Rig) Close() error {
	var errs []error
	for _, c := range r.writers {
		errs = append(errs, c.Close())
	}
	for _, c := range r.readers {
		errs = append(errs, c.Close())
	}
	r.reading.Wait()
	return errors.Join(errs...)
}

// Result is what Measure measured.
type Result struct {
	Conns     int
	FrameSize int
	Writes    int
	Wall      time.Duration // over all the writes
	// CPU is the writing thread's own CPU time, user and system, over all
	// the writes: on loopback the kernel delivers each segment to the
	// peer's socket within the writer's system call, so this holds the
	// whole cost of the write, the reader's side excepted. 0 where
	// ThreadCPU cannot measure it.
	CPU time.Duration
}

// WallPerWrite returns the wall time per write.
func (r Result) WallPerWrite() time.Duration { return r.Wall / time.Duration(max(1, r.Writes)) }

// CPUPerWrite returns the writer's CPU time per write.
func (r Result) CPUPerWrite() time.Duration { return r.CPU / time.Duration(max(1, r.Writes)) }

// checkEvery is how many writes Measure makes between looks at the clock.
const checkEvery = 1000

// Measure opens a Rig of conns connections, writes one frame to each to
// warm them, then writes frames of frameSize bytes round-robin for about
// d on a thread of its own, and closes the rig. Panics as Open does.
func Measure(conns, frameSize int, d time.Duration) (Result, error) {
	return measure(conns, frameSize, 0, d)
}

// MeasurePaced is Measure with the writes in bursts, as a fan-out makes
// them: one frame to every connection, then nothing until period has
// passed since the burst began, and so on for about d. Between two
// bursts the readers go back to sleep and the connections' kernel state
// leaves the CPU's caches, so that each burst's writes wake their
// readers and find their sockets cold, as a server's do each tick; on a
// 2-CPU VM that costs about 1.7 times a write of the round-robin floor.
// Result.Wall is the bursts' time, the pauses left out.
func MeasurePaced(conns, frameSize int, period, d time.Duration) (Result, error) {
	if period <= 0 {
		panic(fmt.Sprintf("floor: MeasurePaced period %v: want a positive one", period))
	}
	return measure(conns, frameSize, period, d)
}

// measure is Measure, with writes in bursts every period when it is not
// zero.
func measure(conns, frameSize int, period, d time.Duration) (Result, error) {
	rig, err := Open(conns, frameSize)
	if err != nil {
		return Result{}, err
	}
	res := Result{Conns: conns, FrameSize: frameSize}
	err = func() error {
		// The thread's CPU time is the writes' only while this goroutine
		// alone runs on it; it does not run while the goroutine sleeps.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for range conns {
			if err := rig.Write(); err != nil {
				return err
			}
		}
		cpu0, start := ThreadCPU(), time.Now()
		t0 := start
		for time.Since(start) < d {
			burst := checkEvery
			if period > 0 {
				// A burst every period: the next begins period after
				// the last began.
				time.Sleep(period - time.Since(t0))
				burst = conns
			}
			t0 = time.Now()
			for range burst {
				if err := rig.Write(); err != nil {
					return err
				}
			}
			res.Writes += burst
			res.Wall += time.Since(t0)
		}
		if cpu0 > 0 {
			res.CPU = ThreadCPU() - cpu0
		}
		return nil
	}()
	if cerr := rig.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Result{}, fmt.Errorf("floor: write: %w", err)
	}
	return res, nil
}
