//go:build !linux

package client

import (
	"errors"
	"syscall"
)

// stamper holds nothing where reads are not stamped.
type stamper struct{}

// enableStamps reports false: only Linux's sockets are timestamped here
// (stamp_linux.go), and elsewhere snaps are timed when read.
func enableStamps(syscall.RawConn) bool { return false }

// readStamped is never called where enableStamps is false.
func (rr *rawReader) readStamped(uintptr, []byte) (int, error) {
	return 0, errors.New("client: no receive timestamps on this system")
}
