package fleet

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// NewSeatID returns a new seat id: 128 random bits in hex, as PROTOCOL.md
// "Fleet" asks.
func NewSeatID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics instead)
	return hex.EncodeToString(b[:])
}

// The checks below are shared by both directories, so that a bad argument
// fails the same way on each, before anything is stored. Their errors are
// programmer errors: they wrap none of the sentinels.

func checkNode(node string) error {
	if node == "" {
		return errors.New("fleet: empty node id")
	}
	if strings.ContainsRune(node, 0) {
		return fmt.Errorf("fleet: node id %q holds a NUL byte", node)
	}
	return nil
}

func checkTTL(ttl time.Duration) error {
	if ttl < time.Millisecond {
		return fmt.Errorf("fleet: ttl %v is under a millisecond", ttl)
	}
	return nil
}

func checkLease(l Lease, ttl time.Duration) error {
	if err := checkNode(l.Node); err != nil {
		return err
	}
	if l.State != Ready && l.State != Draining {
		return fmt.Errorf("fleet: node %s: unknown state %q", l.Node, l.State)
	}
	if l.Capacity < 0 || l.Players < 0 {
		return fmt.Errorf("fleet: node %s: negative capacity %d or players %d", l.Node, l.Capacity, l.Players)
	}
	if l.Admitted > 1<<53 {
		// Redis's Lua counts in float64.
		return fmt.Errorf("fleet: node %s: admitted %d over 2^53", l.Node, l.Admitted)
	}
	return checkTTL(ttl)
}

func checkSeat(s Seat, ttl time.Duration) error {
	if s.ID == "" {
		return errors.New("fleet: empty seat id")
	}
	switch s.Why {
	case WhyFull, WhyResume, WhyDrain:
	default:
		return fmt.Errorf("fleet: seat %s: unknown why %q", s.ID, s.Why)
	}
	if math.IsNaN(s.Mass) || math.IsInf(s.Mass, 0) {
		return fmt.Errorf("fleet: seat %s: mass %v", s.ID, s.Mass)
	}
	return checkTTL(ttl)
}

func checkResumes(recs []Resume, ttl time.Duration) error {
	for _, r := range recs {
		if r.Token == "" {
			return errors.New("fleet: resume record with an empty token")
		}
		if math.IsNaN(r.Mass) || math.IsInf(r.Mass, 0) {
			return fmt.Errorf("fleet: resume record of session %d: mass %v", r.Session, r.Mass)
		}
	}
	return checkTTL(ttl)
}

func checkRows(node string, rows []BoardRow, ttl time.Duration) error {
	if err := checkNode(node); err != nil {
		return err
	}
	for _, r := range rows {
		if math.IsNaN(r.Mass) || math.IsInf(r.Mass, 0) {
			return fmt.Errorf("fleet: board row %q of node %s: mass %v", r.Name, node, r.Mass)
		}
	}
	return checkTTL(ttl)
}

// unavailable wraps err, a failure to reach the directory, so that callers
// find both ErrUnavailable and the cause (context.DeadlineExceeded, a
// *net.OpError…) with errors.Is and errors.As.
func unavailable(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

// boardMember is a row's member in the board's sorted set (Redis) and its
// tie-break key (memory): the node, the row's index and the name, which
// keeps a node's rows distinct even when two players share a name. Node ids
// hold no NUL byte (checkNode), so the name is everything after the second.
func boardMember(node string, i int, name string) string {
	return fmt.Sprintf("%s\x00%d\x00%s", node, i, name)
}

// boardName is the name in a boardMember.
func boardName(member string) string {
	_, rest, _ := strings.Cut(member, "\x00")
	_, name, _ := strings.Cut(rest, "\x00")
	return name
}
