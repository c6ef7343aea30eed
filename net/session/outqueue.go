package session

import "sync"

// outQueue is a session's bounded queue of reliable messages. It grows
// from nothing as messages come and gives its room back once drained, so
// an idle session, whose few messages (a feed a tick at most, a board a
// second) are written as they come, holds a few entries instead of a whole
// ReliableQueue of them.
type outQueue struct {
	mu    sync.Mutex
	msgs  []outMsg // msgs[head:] wait, oldest first
	head  int
	limit int
}

// keptRoom is the room a drained queue keeps: enough for a tick's usual
// messages without growing again.
const keptRoom = 4

// push appends m, or reports false when limit messages wait already.
func (q *outQueue) push(m outMsg) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.msgs)-q.head >= q.limit {
		return false
	}
	if q.head > 0 && len(q.msgs) == cap(q.msgs) {
		// Slide the waiting ones to the front instead of growing.
		n := copy(q.msgs, q.msgs[q.head:])
		clear(q.msgs[n:])
		q.msgs, q.head = q.msgs[:n], 0
	}
	q.msgs = append(q.msgs, m)
	return true
}

// empty reports whether no message waits.
func (q *outQueue) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.head == len(q.msgs)
}

// pop takes the oldest message, reporting false when none waits.
func (q *outQueue) pop() (outMsg, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.msgs) {
		return outMsg{}, false
	}
	m := q.msgs[q.head]
	q.msgs[q.head] = outMsg{} // keep nothing alive
	q.head++
	if q.head == len(q.msgs) {
		q.head = 0
		q.msgs = q.msgs[:0]
		if cap(q.msgs) > keptRoom {
			q.msgs = nil
		}
	}
	return m, true
}
