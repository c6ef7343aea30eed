//go:build linux

package floor

import (
	"time"

	"golang.org/x/sys/unix"
)

// ThreadCPU returns the CPU time, user and system, the calling thread has
// used, or 0 if it cannot be read. The caller must hold its thread
// (runtime.LockOSThread) from one reading to the next for their
// difference to mean anything.
func ThreadCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
