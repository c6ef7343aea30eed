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
//
// It reads CLOCK_THREAD_CPUTIME_ID, which counts the thread's running
// slice up to now. getrusage(RUSAGE_THREAD) does not: it counts up to the
// scheduler's last update of the thread (its last tick, switch, or a
// wake-up on its CPU), so a reading taken after a burst of writes that
// began after a sleep missed up to a tick of the burst, a microsecond or
// more a write.
func ThreadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
