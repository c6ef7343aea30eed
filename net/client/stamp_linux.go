package client

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// stampControlSize holds one SCM_TIMESTAMPNS control message: its header
// and a struct timespec.
var stampControlSize = unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{})))

// stamper is the message header a stamped read passes to recvmsg(2), kept
// in the reader so that the read allocates nothing.
type stamper struct {
	control []byte
	iov     unix.Iovec
	hdr     unix.Msghdr
}

// enableStamps asks the kernel to timestamp what arrives on the socket of
// raw (SO_TIMESTAMPNS) and reports whether it agreed.
func enableStamps(raw syscall.RawConn) bool {
	ok := false
	raw.Control(func(fd uintptr) {
		ok = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) == nil
	})
	return ok
}

// readStamped reads fd into p as read(2) would, with recvmsg(2), and
// keeps the kernel's receive timestamp of what it read in rr.arrived
// (nanoseconds of the wall clock; a TCP read reports that of the last
// segment it took).
func (rr *rawReader) readStamped(fd uintptr, p []byte) (int, error) {
	if rr.st.control == nil {
		rr.st.control = make([]byte, stampControlSize)
	}
	rr.st.iov.Base = &p[0]
	rr.st.iov.SetLen(len(p))
	rr.st.hdr = unix.Msghdr{Iov: &rr.st.iov, Control: &rr.st.control[0]}
	rr.st.hdr.SetIovlen(1)
	rr.st.hdr.SetControllen(len(rr.st.control))
	n, _, errno := syscall.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&rr.st.hdr)), 0)
	controlLen := rr.st.hdr.Controllen
	// Nothing keeps p past the call: a buffer grown away is let go.
	rr.st.iov, rr.st.hdr = unix.Iovec{}, unix.Msghdr{}
	if errno != 0 {
		return 0, errno
	}
	if n > 0 {
		rr.arrived = stampOf(rr.st.control[:controlLen])
	}
	return int(n), nil
}

// stampOf returns the SCM_TIMESTAMPNS time in a control buffer (8-byte
// aligned, as make gives it), in nanoseconds since the epoch, or 0 when
// it holds none.
func stampOf(control []byte) int64 {
	header := unix.CmsgLen(0)
	for len(control) >= header {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&control[0]))
		size := int(h.Len)
		if size < header || size > len(control) {
			return 0
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && size >= unix.CmsgLen(int(unsafe.Sizeof(unix.Timespec{}))) {
			return (*unix.Timespec)(unsafe.Pointer(&control[header])).Nano()
		}
		control = control[min(len(control), unix.CmsgSpace(size-header)):]
	}
	return 0
}
