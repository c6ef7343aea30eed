//go:build race

package sim

// raceEnabled says the tests run under the race detector, which slows the
// long single-goroutine measurements tenfold without finding anything in
// them.
const raceEnabled = true
