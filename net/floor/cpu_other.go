//go:build !linux

package floor

import "time"

// ThreadCPU returns 0: only Linux has a thread's own CPU time
// (CLOCK_THREAD_CPUTIME_ID), so elsewhere Measure reports wall time alone.
func ThreadCPU() time.Duration { return 0 }
