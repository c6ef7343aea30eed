//go:build linux

package session

import (
	"io"
	"testing"
	"time"
)

// countReads makes c's kernel queue count its readings.
func countReads(c *Conn) *int {
	n := new(int)
	read := c.live.queue.read
	c.live.queue.read = func(fd uintptr) { *n++; read(fd) }
	return n
}

// TestKernelQueueReadWhenItMatters: a session whose client reads reads
// its kernel queue before one snap in queueEvery, and before each snap
// from a ping until the ping is seen leaving the queue (not before every
// snap, as it used to); one whose queue is over half its bound reads it
// before every snap, and skips them.
func TestKernelQueueReadWhenItMatters(t *testing.T) {
	peer, server := tcpPair(t)
	go func() { _, _ = io.Copy(io.Discard, peer) }() // the client reads everything
	c := newOnTCP(t, newEnv(t, Config{StallTimeout: 900 * time.Millisecond}), server)
	reads := countReads(c)
	var acked kernelQueue // read apart from the session's count
	acked.init(c.conn)    // New took server over (net/detach)
	now := time.Now()
	var answer [8]byte
	const snaps = 240
	pings := 0
	for range snaps {
		now = now.Add(33 * time.Millisecond)
		if !c.checkLiveness(now, true) || c.backlogged(now) {
			t.Fatal("a reading client's session was stopped or backlogged")
		}
		c.live.wrote(300, now)
		if c.live.ping != answer {
			pings++
			answer = c.live.ping
			// As in the 33 ms to the next snap, the client reads and
			// acknowledges the ping.
			for deadline := time.Now().Add(time.Second); ; {
				if n, _ := acked.queued(); n == 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
		c.pong(answer[:])
	}
	// A ping costs two readings at most: at the snap it goes out with,
	// and at the next, which sees it gone.
	if most := snaps/queueEvery + 2*pings; *reads < snaps/queueEvery || *reads > most {
		t.Fatalf("%d readings of the kernel queue for %d snaps and %d pings, want %d to %d", *reads, snaps, pings, snaps/queueEvery, most)
	}

	_, stuck := tcpPair(t) // its peer never reads
	s := newOnTCP(t, newEnv(t, Config{}), stuck)
	reads = countReads(s)
	_ = s.conn.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	_, _ = s.conn.Write(make([]byte, 32<<20))
	for i := range 3 * queueEvery {
		if !s.backlogged(time.Now()) {
			t.Fatalf("snap %d: not backlogged with the queue over its bound", i)
		}
	}
	if *reads != 3*queueEvery {
		t.Fatalf("%d readings of a high kernel queue for %d snaps, want one each", *reads, 3*queueEvery)
	}
}
