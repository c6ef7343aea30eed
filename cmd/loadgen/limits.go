package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/shatter/shatter/net/client"
)

// fdHeadroom is how many descriptors beyond one per client the process
// needs: the admin scrapes, a server it started, stdio, the Go runtime.
const fdHeadroom = 256

// raiseOpenFiles lifts the soft limit on open files to fit clients
// connections, up to the hard limit, or past it where the process may
// (root). It returns the limit in force afterwards; the run goes on below
// the need, and dials that hit EMFILE are counted as failed.
func raiseOpenFiles(clients int) (uint64, error) {
	need := uint64(clients + fdHeadroom)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur >= need {
		return lim.Cur, nil
	}
	want := lim
	want.Cur = min(need, lim.Max)
	if lim.Max < need {
		want.Cur, want.Max = need, need // Needs CAP_SYS_RESOURCE; fall back below.
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		want = lim
		want.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return lim.Cur, fmt.Errorf("raise open files limit from %d: %w", lim.Cur, err)
		}
	}
	return want.Cur, nil
}

// dialFailure names why a dial failed, for the failure counts: one short
// phrase per cause, so that a thousand failures make a few lines.
func dialFailure(err error) string {
	var refused *client.RefusedError
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files (EMFILE)"
	case errors.As(err, &refused):
		return "refused: " + string(refused.Code)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local port left (EADDRNOTAVAIL)"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "handshake timeout"
	case errors.Is(err, context.Canceled), errors.Is(err, errRunOver):
		return "run stopped during the handshake"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "server hung up during the handshake"
	}
	return err.Error()
}

// endReason names how a connection ended, for the close counts.
func endReason(err error) string {
	var closed client.CloseError
	var moveErr *client.MoveError
	switch {
	case err == nil:
		return "still open"
	case errors.As(err, &moveErr):
		return "move failed"
	case errors.Is(err, client.ErrClosed), errors.Is(err, errRunOver):
		return "1000 closed by loadgen"
	case errors.As(err, &closed):
		return fmt.Sprintf("%d %s (server)", closed.Code, closed.Reason)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "run interrupted"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF without close frame"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	}
	return err.Error()
}
