//go:build !unix

package session

import "net"

// rawWriter would write a socket without waiting; only Unix systems have
// it here (see rawwrite_unix.go), so elsewhere every pass of a session
// runs on its own goroutine, with blocking writes.
type rawWriter struct{}

func (w *rawWriter) init(net.Conn) {}

func (w *rawWriter) ok() bool { return false }

func (w *rawWriter) try(b []byte) int { return 0 }
