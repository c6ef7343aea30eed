//go:build !linux

package redistest

import "os/exec"

// setParentDeathSignal does nothing where the kernel offers no parent death
// signal: a test binary that dies without its cleanups leaves the server
// running.
func setParentDeathSignal(*exec.Cmd) {}
