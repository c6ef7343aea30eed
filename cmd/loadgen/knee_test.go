package main

import (
	"errors"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shatter/shatter/net/floor"
	"golang.org/x/sys/unix"
)

// searchWith runs a knee search with a fake probe that passes up to
// capacity clients, and returns the counts it probed and what it found.
func searchWith(t *testing.T, start, limit, maxProbes, capacity int) (probed []int, knee int, bracketed bool) {
	t.Helper()
	s := newKneeSearch(start, limit, maxProbes)
	err := runKneeSearch(s, func(clients int) (bool, error) {
		probed = append(probed, clients)
		return clients <= capacity, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	knee, bracketed = s.knee()
	return probed, knee, bracketed
}

func TestKneeSearchGrowsThenBisects(t *testing.T) {
	probed, knee, bracketed := searchWith(t, 500, 8000, 7, 1400)
	// 2000 fails: bisect 1000..2000 to 1500 (fails), 1250 (passes), then
	// 1400 (passes), leaving 1400..1500, within 100.
	if want := []int{500, 1000, 2000, 1500, 1250, 1400}; !slices.Equal(probed, want) {
		t.Errorf("probed %v, want %v", probed, want)
	}
	if knee != 1400 || !bracketed {
		t.Errorf("knee %d (bracketed %v), want 1400, bracketed", knee, bracketed)
	}
}

func TestKneeSearchBisectsToFourPercent(t *testing.T) {
	// 8000 fails after 4000 passed: 6000 passes, 7000 fails, 6500 passes,
	// 6750 fails, leaving 6500..6750, within 4% of 6750 (270).
	probed, knee, bracketed := searchWith(t, 500, 8000, 10, 6600)
	if want := []int{500, 1000, 2000, 4000, 8000, 6000, 7000, 6500, 6750}; !slices.Equal(probed, want) {
		t.Errorf("probed %v, want %v", probed, want)
	}
	if knee != 6500 || !bracketed {
		t.Errorf("knee %d (bracketed %v), want 6500, bracketed", knee, bracketed)
	}
}

func TestKneeSearchAllFail(t *testing.T) {
	// The first probe fails: bisect between 0 and 500 down to 100 apart.
	probed, knee, bracketed := searchWith(t, 500, 8000, 7, 0)
	if want := []int{500, 250, 150, 100}; !slices.Equal(probed, want) {
		t.Errorf("probed %v, want %v", probed, want)
	}
	if knee != 0 || !bracketed {
		t.Errorf("knee %d (bracketed %v), want 0, bracketed", knee, bracketed)
	}
}

func TestKneeSearchAllPassUpToLimit(t *testing.T) {
	// Doubling stops at the limit, which it probes itself.
	probed, knee, bracketed := searchWith(t, 500, 3000, 7, 1<<30)
	if want := []int{500, 1000, 2000, 3000}; !slices.Equal(probed, want) {
		t.Errorf("probed %v, want %v", probed, want)
	}
	if knee != 3000 || bracketed {
		t.Errorf("knee %d (bracketed %v), want 3000, not bracketed", knee, bracketed)
	}
}

func TestKneeSearchProbeCap(t *testing.T) {
	probed, knee, bracketed := searchWith(t, 500, 8000, 3, 1<<30)
	if want := []int{500, 1000, 2000}; !slices.Equal(probed, want) {
		t.Errorf("probed %v, want %v", probed, want)
	}
	if knee != 2000 || bracketed {
		t.Errorf("knee %d (bracketed %v), want 2000, not bracketed", knee, bracketed)
	}
	// Out of probes while bisecting: the knee is the last pass, a lower bound.
	probed, knee, bracketed = searchWith(t, 500, 8000, 4, 1400)
	if want := []int{500, 1000, 2000, 1500}; !slices.Equal(probed, want) {
		t.Errorf("probed %v, want %v", probed, want)
	}
	if knee != 1000 || bracketed {
		t.Errorf("knee %d (bracketed %v), want 1000, not bracketed", knee, bracketed)
	}
}

func TestKneeSearchStopsOnProbeError(t *testing.T) {
	boom := errors.New("server did not start")
	s := newKneeSearch(500, 8000, 7)
	calls := 0
	err := runKneeSearch(s, func(clients int) (bool, error) {
		calls++
		if clients == 1000 {
			return false, boom
		}
		return true, nil
	})
	if !errors.Is(err, boom) || calls != 2 {
		t.Errorf("err %v after %d probes, want %v after 2", err, calls, boom)
	}
}

func TestParseKneeScenario(t *testing.T) {
	got, err := parseScenarios("knee,knee250-4000, 1000")
	want := []scenario{
		{Knee: true, Clients: kneeDefaultStart, KneeLimit: kneeDefaultLimit},
		{Knee: true, Clients: 250, KneeLimit: 4000},
		{Clients: 1000},
	}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("parseScenarios = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"knee0-100", "knee500", "knee500-", "knee-100", "knee800-400", "kneex-y", "idleknee", "knee100-200-300"} {
		if _, err := parseScenarios(bad); err == nil {
			t.Errorf("parseScenarios(%q): no error", bad)
		}
	}
}

func TestJudgeProbe(t *testing.T) {
	ok := &result{
		Config: loadConfig{Clients: 1000}, Connected: 1000, TickRate: 30,
		Gaps: 1000, OnTime: 950, Acks: 10, AckP99: 66 * time.Millisecond,
	}
	if pass, why := judgeProbe(ok); !pass {
		t.Errorf("judgeProbe(95%% on time, p99 66 ms) fails: %v", why)
	}
	late := *ok
	late.OnTime, late.AckP99 = 949, 67*time.Millisecond
	if pass, why := judgeProbe(&late); pass || len(why) != 2 {
		t.Errorf("judgeProbe(94.9%% on time, p99 67 ms) = %v, %v; want a fail on both", pass, why)
	}
	short := *ok
	short.Connected = 999
	if pass, _ := judgeProbe(&short); pass {
		t.Error("judgeProbe passes a probe where a bot did not connect")
	}
	noWelcome := *ok
	noWelcome.TickRate = 0
	if pass, _ := judgeProbe(&noWelcome); pass {
		t.Error("judgeProbe passes a probe without a tick rate")
	}
}

func TestKneeBound(t *testing.T) {
	probe := func(clients int, cpuPerWrite time.Duration) kneeProbe {
		return kneeProbe{Clients: clients, Pass: clients <= 1000, Res: &result{
			TickRate: 30,
			Floor: &floorResult{
				Many:  floor.Result{Writes: 1000, CPU: 1000 * cpuPerWrite},
				Paced: floor.Result{Writes: 1000, CPU: 2000 * cpuPerWrite},
			},
		}}
	}
	kr := &kneeResult{Limit: 8000, Knee: 1000, Bracketed: true, Probes: []kneeProbe{
		probe(500, 5*time.Microsecond), probe(1000, 4*time.Microsecond), probe(2000, 3*time.Microsecond),
	}}
	if fl := kr.floor(); fl != 4*time.Microsecond {
		t.Errorf("floor %v, want the median, 4µs", fl)
	}
	// 1 s ÷ 30 ÷ 4 µs = 8333 clients; 1000 is 12% of it.
	if b := kr.bound(); b < 8333 || b > 8334 {
		t.Errorf("bound %.1f, want 8333.3", b)
	}
	if line := kr.kneeLine(); !strings.Contains(line, "Knee: 1000 clients") || !strings.Contains(line, "12.0%") || !strings.Contains(line, "**misses**") {
		t.Errorf("knee line %q: want the knee, 12.0%% and a miss", line)
	}
	// The paced floor's median is 8 µs: a bound of 4167 clients, 24.0%.
	if line := kr.kneeLine(); !strings.Contains(line, "paced floor, 8.00 µs") || !strings.Contains(line, "4167 clients and knee ÷ bound 24.0%") {
		t.Errorf("knee line %q: want the paced floor's bound beside", line)
	}
}

// threadMasks returns the CPU mask of every thread of this process.
func threadMasks(t *testing.T) map[int]unix.CPUSet {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	masks := map[int]unix.CPUSet{}
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &set); err == nil {
			masks[tid] = set
		}
	}
	return masks
}

func TestPinLoadgenRestores(t *testing.T) {
	p := planPinning()
	if !p.On {
		t.Skip(p.Note)
	}
	procs := runtime.GOMAXPROCS(0)
	restore, err := p.pinLoadgen()
	if err != nil {
		t.Fatal(err)
	}
	for tid, set := range threadMasks(t) {
		if set != *cpuSet(p.Loadgen) {
			t.Errorf("pinned: thread %d may run on %d CPUs, want only CPU %d", tid, set.Count(), p.Loadgen)
		}
	}
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Errorf("pinned: GOMAXPROCS %d, want 1", n)
	}
	restore()
	for tid, set := range threadMasks(t) {
		if set != p.orig {
			t.Errorf("restored: thread %d may run on %d CPUs, want the original %d", tid, set.Count(), p.orig.Count())
		}
	}
	if n := runtime.GOMAXPROCS(0); n != procs {
		t.Errorf("restored: GOMAXPROCS %d, want %d", n, procs)
	}
	if launch := p.launch("srv"); len(launch) != 4 || launch[1] != "-c" || launch[3] != "srv" {
		t.Errorf("launch = %q, want taskset -c CPU srv", launch)
	}
}
