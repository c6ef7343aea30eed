package sim_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNetReachesTheSimulationOnlyThroughSim keeps the seam narrow: no
// package under net/ (nor its tests) imports ecs or systems directly;
// everything the network needs of the simulation (commands, configs,
// frames, views, events) comes through sim. `go list -deps` would always
// show ecs through sim, so this reads each package's direct imports.
func TestNetReachesTheSimulationOnlyThroughSim(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	// go test runs with the go command's own directory first on PATH.
	cmd := exec.Command("go", "list", "-f",
		`{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`,
		"github.com/shatter/shatter/net/...")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{"github.com/shatter/shatter/ecs", "github.com/shatter/shatter/systems"}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 5 {
		t.Fatalf("go list found %d net packages, want the whole net tree:\n%s", len(lines), out)
	}
	for _, line := range lines {
		fields := strings.Fields(line)
		for _, imp := range fields[1:] {
			for _, bad := range forbidden {
				if imp == bad {
					t.Errorf("%s imports %s: reach the simulation through sim instead", fields[0], imp)
				}
			}
		}
	}
}
