package session

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Sessions are actors scheduled on a small pool of snapshot workers
// instead of each holding a writer goroutine: a tick then costs one
// wake-up per worker, not one per session.
//
// Every event that gives the writer side work (a frame ready, a reliable
// message queued, a client ping to answer, the session finishing) calls
// schedule. A session is in one of the states below; schedule moves an
// idle one onto its shard's queue, so a session is queued at most once
// and a queue never holds more than its shard's sessions. A worker that
// takes it services it (pass: reliable messages, pongs, the latest
// frame's snap), then makes it idle again, or queues it once more when
// work came during the pass: no wake-up is lost, and one goroutine at
// most services a session at any moment, so its View, encoder and snap
// need no lock.
//
// A worker never blocks on a client: its writes are one non-blocking
// attempt each (see tryWrite). When one cannot finish at once, the
// session leaves the pool for a goroutine of its own (runOwn) that
// finishes that frame under the write deadline, keeps servicing the
// session with blocking writes until it has nothing left to write, and
// then hands it back. The close sequence always runs there too, and so
// does every pass of a connection that is not a socket the pool can
// write without blocking (net.Pipe in tests, a TLS wrapper).
const (
	stIdle    int32 = iota // no work known; on no queue
	stQueued               // on its shard's queue
	stRunning              // being serviced, by a worker or by its own goroutine
	stAgain                // being serviced, and work came during the pass
	stDone                 // the writer side ended: nothing is serviced any more
)

// pool is the snapshot workers of an Env: one shard per worker, each a
// queue of sessions with work. A shard's worker is started by the push
// that finds the shard without one and exits when its queue is empty:
// no worker is parked while no session has work, so nothing has to stop
// them when the server shuts down (they end with the last pass of the
// last session) and tests in testing/synctest bubbles end cleanly.
// Starting a goroutine costs about what waking a parked one does, and
// it happens once per shard per burst of work (a tick), not per session.
type pool struct {
	shards []shard
}

// shard is one worker's queue.
type shard struct {
	mu sync.Mutex
	// queue is the sessions waiting for the worker; spare is the
	// worker's last batch, kept to be the next queue, so that steady
	// pushes allocate nothing. Guarded by mu.
	queue, spare []*Conn
	// reads is the polled sessions with something to read (read.go), a
	// session at most once; spareReads as spare. Guarded by mu.
	reads, spareReads []*Conn
	working           bool // a worker goroutine is running for the shard; guarded by mu
	// sessions counts the sessions that live on this shard, to place new
	// ones on the least loaded.
	sessions atomic.Int32
	// readPass and writePass are a session's read and write passes
	// ((*Conn).readPass and serviceOnPool); a test of the order in which
	// work services them sets its own.
	readPass, writePass func(*Conn)
}

// workers returns the Env's pool, made at its first use with
// Env.Workers shards (GOMAXPROCS if not set).
func (e *Env) workers() *pool {
	e.poolOnce.Do(func() {
		n := e.Workers
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		e.pool = &pool{shards: make([]shard, n)}
		for i := range e.pool.shards {
			e.pool.shards[i].readPass, e.pool.shards[i].writePass = (*Conn).readPass, (*Conn).serviceOnPool
		}
	})
	return e.pool
}

// place returns the shard with the fewest sessions and counts one more
// on it. Sessions end in any order, so placing by count rather than in
// turn keeps the shards even.
func (p *pool) place() *shard {
	best := &p.shards[0]
	for i := 1; i < len(p.shards); i++ {
		if s := &p.shards[i]; s.sessions.Load() < best.sessions.Load() {
			best = s
		}
	}
	best.sessions.Add(1)
	return best
}

// push queues c, which its caller has just made stQueued, and starts the
// shard's worker if none is running.
func (s *shard) push(c *Conn) {
	s.mu.Lock()
	s.queue = append(s.queue, c)
	s.startLocked()
}

// pushRead queues a read pass of c, which its caller has just made
// rdQueued, and starts the shard's worker if none is running.
func (s *shard) pushRead(c *Conn) {
	s.mu.Lock()
	s.reads = append(s.reads, c)
	s.startLocked()
}

// startLocked starts the shard's worker if none is running, and unlocks
// mu, which its caller holds.
func (s *shard) startLocked() {
	start := !s.working
	s.working = true
	s.mu.Unlock()
	if start {
		// Owned by the shard; exits when the queue is empty.
		go s.work()
	}
}

// yieldEvery is how many sessions a worker services between two yields
// of its processor. A tick's batch can keep a worker busy for
// milliseconds; yielding every half millisecond or so lets the readers
// and the arenas' ticks run in between (instead of waiting for the
// runtime to preempt the worker after 10 ms, which it does with signals
// that keep coming while the worker is inside runtime code such as map
// look-ups, at a cost that showed in profiles).
const yieldEvery = 16

// work services the shard's queues in batches until both are empty:
// read passes first, since inputs are what the next tick needs, then
// write passes, between which, at each yield, the read passes queued
// meanwhile: a tick's fan-out to thousands of sessions takes
// milliseconds, and an input read only after it may miss the next tick.
func (s *shard) work() {
	for {
		s.mu.Lock()
		batch, reads := s.queue, s.reads
		s.queue, s.spare = s.spare[:0], nil
		s.reads, s.spareReads = s.spareReads[:0], nil
		if len(batch) == 0 && len(reads) == 0 {
			s.spare, s.spareReads, s.working = batch, reads, false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		reads = s.readAll(reads)
		n := 0
		for i, c := range batch {
			batch[i] = nil
			s.writePass(c)
			if n++; n%yieldEvery == 0 {
				runtime.Gosched()
				reads = s.readAll(s.takeReads(reads))
			}
		}
		s.mu.Lock()
		s.spare, s.spareReads = batch[:0], reads[:0]
		s.mu.Unlock()
	}
}

// takeReads swaps the read passes queued since for reads, an emptied
// list of the worker's.
func (s *shard) takeReads(reads []*Conn) []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	queued := s.reads
	s.reads = reads[:0]
	return queued
}

// readAll runs the read passes of reads, yielding as work does, and
// returns the list emptied.
func (s *shard) readAll(reads []*Conn) []*Conn {
	for i, c := range reads {
		reads[i] = nil
		s.readPass(c)
		if (i+1)%yieldEvery == 0 {
			runtime.Gosched()
		}
	}
	return reads[:0]
}

// schedule tells the writer side that it has work. Safe from any
// goroutine, and cheap when the session is queued or running already.
func (c *Conn) schedule() {
	for {
		switch c.run.Load() {
		case stIdle:
			if c.shard == nil {
				if c.run.CompareAndSwap(stIdle, stRunning) {
					go c.runOwn() // see runOwn for its owner and exit
					return
				}
				continue
			}
			if c.run.CompareAndSwap(stIdle, stQueued) {
				c.shard.push(c)
				return
			}
		case stRunning:
			if c.run.CompareAndSwap(stRunning, stAgain) {
				return
			}
		default: // queued or again: a pass will see the work; done: none will
			return
		}
	}
}

// passResult is how a pass left the session.
type passResult uint8

const (
	passDone  passResult = iota // everything known so far was written
	passOwn                     // what is left needs blocking writes: the session's own goroutine
	passEnded                   // the writer side is over: the close sequence was sent, or a write failed
)

// serviceOnPool runs one pass of c on a worker, then makes c idle, queues
// it again for work that came during the pass, or hands it to its own
// goroutine.
func (c *Conn) serviceOnPool() {
	c.run.Store(stRunning)
	c.blocking = false
	switch c.guardedPass() {
	case passEnded:
		c.endWriter()
		return
	case passOwn:
		go c.runOwn() // see runOwn for its owner and exit
		return
	}
	if c.run.CompareAndSwap(stRunning, stIdle) {
		return
	}
	// Work came during the pass: behind the others of the shard.
	c.run.Store(stQueued)
	c.shard.push(c)
}

// runOwn services c on a goroutine of its own, with blocking writes under
// the write deadline: first the rest of a frame a worker could not
// finish, then passes until nothing is left to write. Owned by the Conn;
// it exits when the session has no work left (a pooled session goes back
// to the pool, whose next push services it), after the close sequence,
// or at a failed write.
func (c *Conn) runOwn() {
	c.blocking = true
	for {
		switch c.guardedPass() {
		case passEnded:
			if c.writerPanic {
				c.conn.Close()
			}
			c.endWriter()
			return
		case passDone:
			if c.shard != nil && !c.isClosing() {
				// The pool's writes do not wait, and an expired deadline
				// would refuse them all.
				_ = c.conn.SetWriteDeadline(time.Time{})
			}
			if c.run.CompareAndSwap(stRunning, stIdle) {
				return
			}
		}
		c.run.Store(stRunning)
	}
}

// endWriter ends the writer side: nothing is scheduled any more, and
// the session may end (Serve, or sideEnded for a polled session).
func (c *Conn) endWriter() {
	c.run.Store(stDone)
	if c.shard != nil {
		c.shard.sessions.Add(-1)
	}
	close(c.writerDone)
	if c.rd.pollable {
		// A reader waiting for the client must see a socket the writer
		// closed: no event comes from a closed socket.
		c.scheduleRead()
		c.sideEnded()
	}
}
