package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestUnitWaitsForTheDrain checks that systemd gives a stopping node the
// time its drain and shutdown may take (docs/FLEET.md: -drain-timeout
// plus 5 s) before it kills it.
func TestUnitWaitsForTheDrain(t *testing.T) {
	flags := serverFlags(t)
	drain, err := time.ParseDuration(flags["drain-timeout"].def)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range readEnvFile(t, filepath.Join(repoRoot, "deploy", "shatter.env")) {
		if l.key == "SHATTER_DRAIN_TIMEOUT" && l.set {
			if drain, err = time.ParseDuration(l.value); err != nil {
				t.Fatal(err)
			}
		}
	}
	unit, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "shatter@.service"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^TimeoutStopSec=(\d+)s$`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("shatter@.service sets no TimeoutStopSec=<n>s")
	}
	stop, _ := strconv.Atoi(string(m[1]))
	if need := drain + 5*time.Second; time.Duration(stop)*time.Second < need {
		t.Fatalf("shatter@.service: TimeoutStopSec=%ds, but a drain (%v) and a shutdown (5s) may take %v", stop, drain, need)
	}
	if !strings.Contains(string(unit), "\nKillSignal=SIGTERM\n") {
		t.Fatal("shatter@.service must stop the node with SIGTERM, which drains it")
	}
}

// TestUnitsVerify has systemd-analyze check the units: every setting
// must be one this systemd knows, in the right section, with a value it
// parses (an unknown or misplaced one is only a warning to systemd, which
// would run the service without it: a hardening line that does nothing).
// What depends on the machine (the binary installed, the users made) is
// not judged. Skipped where systemd-analyze is missing.
func TestUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian's systemd package has it)")
	}
	dir := t.TempDir()
	units := map[string]string{"shatter@.service": "shatter@node-1.service", "shatter-redis.service": "shatter-redis.service"}
	var args []string
	for from, to := range units {
		data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), data, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, filepath.Join(dir, to))
	}
	out, _ := exec.Command(analyze, append([]string{"verify", "--man=no"}, args...)...).CombinedOutput()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" || strings.Contains(line, "is not executable") { // the server is not installed here
			continue
		}
		t.Errorf("systemd-analyze verify: %s", line)
	}
	// systemd's own measure of the sandbox, 0 (tight) to 10 (none), in
	// tenths: each unit's bound is just above what it scores (1.2 and
	// 1.5), so a hardening setting lost or loosened fails here.
	for _, unit := range []struct {
		file        string
		maxExposure int
	}{{"shatter@node-1.service", 13}, {"shatter-redis.service", 16}} {
		out, err := exec.Command(analyze, "security", "--offline=true", "--no-pager",
			"--threshold="+strconv.Itoa(unit.maxExposure), filepath.Join(dir, unit.file)).CombinedOutput()
		if err != nil {
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			t.Errorf("systemd-analyze security %s: %v; want an exposure of at most %.1f:\n%s", unit.file, err, float64(unit.maxExposure)/10, lines[len(lines)-1])
		}
	}
}
