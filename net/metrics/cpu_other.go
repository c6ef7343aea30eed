//go:build !unix

package metrics

import "github.com/prometheus/client_golang/prometheus"

// cpuModeCollectors returns none where getrusage(2) is not to be had.
func cpuModeCollectors() []prometheus.Collector { return nil }
