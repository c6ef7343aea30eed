//go:build !linux

package session

import "net"

// kernelQueue would read a socket's send queue; only Linux has it here
// (see queue_linux.go), so elsewhere only the pings tell a stalled client.
type kernelQueue struct{}

func (q *kernelQueue) init(net.Conn) {}

func (q *kernelQueue) queued() (n int, ok bool) { return 0, false }

func (q *kernelQueue) readable() bool { return false }
