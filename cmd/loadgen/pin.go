package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// pinning is how a knee search splits the machine: the server on one CPU
// (taskset), the load generator on another (sched_setaffinity on each of
// its threads), so that neither takes the other's core and the server's
// capacity is one core's.
type pinning struct {
	On              bool
	Server, Loadgen int         // the CPUs, with On
	Taskset         string      // the taskset binary, with On
	Note            string      // what was done, or why not, for the report
	orig            unix.CPUSet // the load generator's mask before any pinning
}

// planPinning picks the first two CPUs the load generator may run on, or
// says why the search must run unpinned: fewer than two CPUs, or no
// taskset (util-linux).
func planPinning() pinning {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return pinning{Note: fmt.Sprintf("none: the CPU mask could not be read (%v), so the server and the load generator share every CPU", err)}
	}
	var cpus []int
	for cpu := 0; cpu < len(set)*64 && len(cpus) < 2; cpu++ {
		if set.IsSet(cpu) {
			cpus = append(cpus, cpu)
		}
	}
	if len(cpus) < 2 {
		return pinning{Note: fmt.Sprintf("none: only %d CPU is online for the load generator, so the server and it share it", set.Count())}
	}
	path, err := exec.LookPath("taskset")
	if err != nil {
		return pinning{Note: "none: taskset (util-linux) is not installed, so the server and the load generator share every CPU"}
	}
	return pinning{
		On: true, Server: cpus[0], Loadgen: cpus[1], Taskset: path, orig: set,
		Note: fmt.Sprintf("the load generator may run on %d CPUs; each probe's server ran under `taskset -c %d` and every thread of the load generator on CPU %d for the probe "+
			"(sched_setaffinity on each thread of /proc/self/task, GOMAXPROCS 1; its mask restored after); "+
			"the write floor's writing thread ran on CPU %d, where the server would, its readers and the rest of the load generator on CPU %d",
			set.Count(), cpus[0], cpus[1], cpus[0], cpus[1]),
	}
}

// launch returns the command line that starts bin on the server's CPU, or
// bin alone unpinned.
func (p *pinning) launch(bin string) []string {
	if !p.On {
		return []string{bin}
	}
	return []string{p.Taskset, "-c", strconv.Itoa(p.Server), bin}
}

// pinLoadgen puts every thread of the load generator on its CPU and sets
// GOMAXPROCS to 1, which is what the runtime would choose for one CPU;
// the function it returns undoes both. Unpinned, both do nothing.
func (p *pinning) pinLoadgen() (restore func(), err error) {
	if !p.On {
		return func() {}, nil
	}
	prev := runtime.GOMAXPROCS(1)
	restore = func() {
		setThreads(&p.orig, 0)
		restoreProcs(prev)
	}
	if err := setThreads(cpuSet(p.Loadgen), 0); err != nil {
		restore()
		return nil, err
	}
	return restore, nil
}

// measureFloor measures the write floor pinned as a probe's server and
// load generator will be: the goroutine that writes, locked to its
// thread (floor.Measure locks it too, and the locks nest), on the
// server's CPU, every other thread, the readers' among them, on the load
// generator's. GOMAXPROCS is held at its value meanwhile: the runtime
// would otherwise lower it to the one CPU its own threads now see, and
// the readers would wait for the writer's processor.
func (p *pinning) measureFloor() *floorResult {
	if !p.On {
		return measureFloor()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	prev := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(prev) // set explicitly: no automatic updates
	defer restoreProcs(prev)
	self := unix.Gettid()
	defer setThreads(&p.orig, 0)
	if err := unix.SchedSetaffinity(self, cpuSet(p.Server)); err != nil {
		return &floorResult{Err: fmt.Errorf("pin the writer to CPU %d: %w", p.Server, err)}
	}
	if err := setThreads(cpuSet(p.Loadgen), self); err != nil {
		return &floorResult{Err: fmt.Errorf("pin the readers to CPU %d: %w", p.Loadgen, err)}
	}
	return measureFloor()
}

// cpuSet is the mask of one CPU.
func cpuSet(cpu int) *unix.CPUSet {
	var set unix.CPUSet
	set.Set(cpu)
	return &set
}

// setThreadsPasses bounds setThreads' passes over /proc/self/task.
const setThreadsPasses = 10

// setThreads sets the CPU mask of every thread of this process but
// except (0: none). A thread inherits the mask of the thread that creates
// it, so one created during a pass by a thread not yet set would escape
// it: setThreads lists the threads again until a pass finds none it has
// not set.
func setThreads(set *unix.CPUSet, except int) error {
	done := map[int]bool{except: true}
	for range setThreadsPasses {
		entries, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		fresh := false
		for _, e := range entries {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || done[tid] {
				continue
			}
			fresh, done[tid] = true, true
			// A thread may exit between the listing and here.
			if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("set the CPU mask of thread %d: %w", tid, err)
			}
		}
		if !fresh {
			return nil
		}
	}
	return nil
}

// restoreProcs undoes an explicit GOMAXPROCS: back to the runtime's own
// choice, which follows the CPU mask, or to prev where the GOMAXPROCS
// variable set it.
func restoreProcs(prev int) {
	if os.Getenv("GOMAXPROCS") != "" {
		runtime.GOMAXPROCS(prev)
		return
	}
	runtime.SetDefaultGOMAXPROCS()
}
