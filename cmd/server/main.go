// Command server runs Shatter. With -headless it runs one arena without
// sockets and prints its tick statistics.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shatter/shatter/cmd/internal/flagenv"
	"github.com/shatter/shatter/ecs"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	cfg := ecs.DefaultConfig()
	flagenv.BindConfig(fs, &cfg)
	var h headlessOptions
	headless := fs.Bool("headless", false, "run one arena without sockets and print tick statistics")
	fs.IntVar(&h.zombies, "zombies", 150, "headless: zombies to fill the arena with")
	fs.IntVar(&h.fragments, "fragments", 1200, "headless: fragments in the arena")
	fs.IntVar(&h.obstacles, "obstacles", 30, "headless: spike balls in the arena")
	fs.DurationVar(&h.duration, "duration", 30*time.Second, "headless: how long to run, paced at the tick rate")
	fs.IntVar(&h.ticks, "ticks", 0, "headless: run this many ticks as fast as possible instead of -duration")
	fs.Uint64Var(&h.seed, "seed", 1, "headless: arena seed")
	fs.StringVar(&h.cpuProfile, "cpuprofile", "", "headless: write a CPU profile (pprof labels system=<name>) to this file")
	fs.StringVar(&h.recordDir, "record", "", "write a replay log of every arena into this directory")
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *headless {
		return runHeadless(ctx, cfg, h, os.Stdout)
	}
	return fmt.Errorf("the network server is not built yet: run with -headless")
}
