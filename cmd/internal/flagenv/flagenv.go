// Package flagenv gives every command-line flag an environment variable
// twin and turns the arena Config into flags, so an operator can set any
// rule either way: flags win over the environment, the environment over
// the embedded defaults.
package flagenv

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/shatter/shatter/sim"
)

// EnvName returns the environment variable twin of a flag:
// SHATTER_ followed by the flag name upper-cased with dashes as
// underscores (-tick-rate is SHATTER_TICK_RATE).
func EnvName(flagName string) string {
	return "SHATTER_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// BindConfig registers a flag for every field of cfg, named after the
// field's rule tag with dashes (arena_w is -arena-w), defaulting to the
// field's current value and writing into it when parsed.
func BindConfig(fs *flag.FlagSet, cfg *sim.Config) {
	for _, r := range cfg.Rules() {
		name := strings.ReplaceAll(r.Name, "_", "-")
		usage := fmt.Sprintf("arena rule %s (env %s)", r.Name, EnvName(name))
		if r.Int != nil {
			fs.IntVar(r.Int, name, *r.Int, usage)
		} else {
			fs.Float64Var(r.Float, name, *r.Float, usage)
		}
	}
}

// Parse parses args into fs, then sets every flag not given on the command
// line from its environment twin, if that is set. An environment value
// that does not parse is an error naming the variable.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] {
			return
		}
		if val, ok := os.LookupEnv(EnvName(f.Name)); ok {
			if e := fs.Set(f.Name, val); e != nil {
				err = fmt.Errorf("environment %s=%q: %w", EnvName(f.Name), val, e)
			}
		}
	})
	return err
}
