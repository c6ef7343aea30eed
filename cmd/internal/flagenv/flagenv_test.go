package flagenv

import (
	"flag"
	"io"
	"testing"

	"github.com/shatter/shatter/sim"
)

func TestFlagsWinOverEnvironmentOverDefaults(t *testing.T) {
	t.Setenv("SHATTER_TICK_RATE", "60")
	t.Setenv("SHATTER_ARENA_W", "5000")
	t.Setenv("SHATTER_NAME", "from-env")
	cfg := sim.DefaultConfig()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	BindConfig(fs, &cfg)
	name := fs.String("name", "default", "")
	if err := Parse(fs, []string{"-arena-w", "4000"}); err != nil {
		t.Fatal(err)
	}
	if cfg.TickRate != 60 || cfg.ArenaWidth != 4000 || cfg.ArenaHeight != 3000 || *name != "from-env" {
		t.Fatalf("tick rate %d, arena %vx%v, name %q; want 60 (env), 4000 (flag), 3000 (default), from-env", cfg.TickRate, cfg.ArenaWidth, cfg.ArenaHeight, *name)
	}
}

func TestBadEnvironmentValueIsAnError(t *testing.T) {
	t.Setenv("SHATTER_TICK_RATE", "fast")
	cfg := sim.DefaultConfig()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	BindConfig(fs, &cfg)
	if err := Parse(fs, nil); err == nil {
		t.Fatal("SHATTER_TICK_RATE=fast parsed without error")
	}
}
