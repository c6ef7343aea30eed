package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serverFlag is one flag of shatter-server as its -h lists it.
type serverFlag struct {
	name, kind string // kind: "string", "int", "float", "duration", "bool", ...
	def        string // its default, "" for the zero value
}

var (
	flagLine    = regexp.MustCompile(`^  -(\S+)(?: (\S+))?$`)
	flagDefault = regexp.MustCompile(`\(default (.*)\)$`)
)

// serverFlags runs the server binary with -h and reads its flags.
// package flag prints each flag as "  -name type" and its usage on the
// next line, ending in " (default V)" when V is not the zero value, with
// strings quoted.
func serverFlags(t *testing.T) map[string]serverFlag {
	t.Helper()
	out, err := exec.Command(serverBin, "-h").CombinedOutput() // -h exits 2
	flags := map[string]serverFlag{}
	lines := strings.Split(string(out), "\n")
	for i, line := range lines {
		m := flagLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		f := serverFlag{name: m[1], kind: m[2]}
		if f.kind == "" {
			f.kind = "bool"
		}
		if i+1 < len(lines) {
			if d := flagDefault.FindStringSubmatch(strings.TrimSpace(lines[i+1])); d != nil {
				f.def = d[1]
				if f.kind == "string" {
					// A usage text that itself says "(default ...)"
					// unquoted (-public-url's) is not flag's default.
					if s, err := strconv.Unquote(d[1]); err == nil {
						f.def = s
					} else {
						f.def = ""
					}
				}
			}
		}
		flags[f.name] = f
	}
	if len(flags) < 40 || flags["addr"].def != ":4000" || flags["tick-rate"].def != "30" {
		t.Fatalf("could not read the server's flags from its -h (found %d; %v):\n%s", len(flags), err, out)
	}
	return flags
}

// envName is a flag's environment twin, as cmd/internal/flagenv.EnvName
// makes it (which this package may not import): -tick-rate is
// SHATTER_TICK_RATE.
func envName(flag string) string {
	return "SHATTER_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// flagName is envName's inverse.
func flagName(env string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(env, "SHATTER_"), "_", "-"))
}

// envLine is one setting of an environment file.
type envLine struct {
	key, value string
	set        bool // false: a commented "#KEY=value" showing the default
	line       int
}

var envSetting = regexp.MustCompile(`^(#?)(SHATTER_[A-Z0-9_]+)=(.*)$`)

// readEnvFile reads the settings of an environment file in systemd's
// EnvironmentFile syntax: KEY=value lines, # comments.
func readEnvFile(t *testing.T, path string) []envLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []envLine
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if m := envSetting.FindStringSubmatch(text); m != nil {
			out = append(out, envLine{key: m[2], value: m[3], set: m[1] == "", line: n})
		} else if text != "" && !strings.HasPrefix(text, "#") {
			t.Errorf("%s:%d: not a SHATTER_ setting or a comment: %q", path, n, text)
		}
	}
	return out
}

// sameValue reports whether an environment value means the flag's default.
func sameValue(f serverFlag, value string) bool {
	if value == f.def {
		return true
	}
	switch f.kind {
	case "duration":
		a, err1 := time.ParseDuration(value)
		b, err2 := time.ParseDuration(f.def)
		return err1 == nil && err2 == nil && a == b
	case "float", "int", "uint":
		a, err1 := strconv.ParseFloat(value, 64)
		b, err2 := strconv.ParseFloat(f.def, 64)
		if f.def == "" {
			b, err2 = 0, nil
		}
		return err1 == nil && err2 == nil && a == b
	case "bool":
		a, err := strconv.ParseBool(value)
		return err == nil && a == (f.def == "true")
	}
	return false
}

// TestEnvFileNamesEveryFlag keeps deploy/shatter.env whole and true: every
// flag of the server appears in it exactly once, as its environment twin,
// nothing else does, and every commented line shows the flag's real
// default.
func TestEnvFileNamesEveryFlag(t *testing.T) {
	flags := serverFlags(t)
	byEnv := map[string]serverFlag{}
	for _, f := range flags {
		byEnv[envName(f.name)] = f
	}
	path := filepath.Join(repoRoot, "deploy", "shatter.env")
	seen := map[string]int{}
	for _, l := range readEnvFile(t, path) {
		f, ok := byEnv[l.key]
		switch {
		case !ok:
			t.Errorf("shatter.env:%d: %s is no flag's twin (is it renamed or gone?)", l.line, l.key)
		case seen[l.key] != 0:
			t.Errorf("shatter.env:%d: %s again (first on line %d)", l.line, l.key, seen[l.key])
		case !l.set && !sameValue(f, l.value):
			t.Errorf("shatter.env:%d: #%s=%s, but -%s's default is %q", l.line, l.key, l.value, f.name, f.def)
		}
		seen[l.key] = l.line
	}
	for env, f := range byEnv {
		if seen[env] == 0 {
			t.Errorf("shatter.env lacks %s (-%s, default %q): add it, as #%s=%s if the default stays", env, f.name, f.def, env, f.def)
		}
	}
}

// TestEnvFilesParse starts the server with the settings of shatter.env
// and node.env in its environment (headless, for one tick, so that
// nothing is dialed or listened on): each value must parse as its flag's
// type and the arena rules must validate.
func TestEnvFilesParse(t *testing.T) {
	flags := serverFlags(t)
	env := []string{}
	for _, file := range []string{"shatter.env", "node.env"} {
		for _, l := range readEnvFile(t, filepath.Join(repoRoot, "deploy", file)) {
			if _, ok := flags[flagName(l.key)]; !ok {
				t.Errorf("%s:%d: %s is no flag's twin", file, l.line, l.key)
			}
			if l.set {
				env = append(env, l.key+"="+l.value)
			}
		}
	}
	cmd := exec.Command(serverBin, "-headless", "-ticks", "1", "-zombies", "5", "-fragments", "50", "-record", "")
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the server refused the environment files' settings: %v\n%s", err, out)
	}
}
