//go:build unix

package metrics

import (
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
)

// cpuModeCollectors return shatter_process_cpu_seconds_total split by
// mode: the CPU time the process spent in its own code (user) and in the
// kernel on its behalf (system, its system calls: for a game server
// mostly the sockets' writes and reads). The process collector's
// process_cpu_seconds_total adds the two; their split says how much of a
// snapshot's cost the server's code can still save.
func cpuModeCollectors() []prometheus.Collector {
	mode := func(name string, of func(*syscall.Rusage) syscall.Timeval) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "shatter_process_cpu_seconds_total",
			Help:        "CPU time of the process in seconds, by mode: user (its own code) and system (the kernel's work on its behalf, its system calls).",
			ConstLabels: prometheus.Labels{"mode": name},
		}, func() float64 {
			var ru syscall.Rusage
			if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
				return 0
			}
			tv := of(&ru)
			return float64(tv.Nano()) / 1e9
		})
	}
	return []prometheus.Collector{
		mode("user", func(ru *syscall.Rusage) syscall.Timeval { return ru.Utime }),
		mode("system", func(ru *syscall.Rusage) syscall.Timeval { return ru.Stime }),
	}
}
