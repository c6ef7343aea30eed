package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shatter/shatter/net/replayserve"
	"github.com/shatter/shatter/sim"
)

// serveFlags are the flags of replay -serve.
type serveFlags struct {
	addr       string
	webDir     string
	maxViewers int
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "serve", "", "serve the log to browsers on this address (e.g. :4100) instead of checking it")
	fs.StringVar(&f.webDir, "web-dir", "web/dist", "with -serve: directory of the browser client's built files")
	fs.IntVar(&f.maxViewers, "max-viewers", 16, "with -serve: viewers at once (each re-simulates the match)")
}

// serve serves rp until SIGINT or SIGTERM.
func (f *serveFlags) serve(rp *sim.Replay, stderr io.Writer) int {
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	srv, err := replayserve.New(replayserve.Config{Addr: f.addr, WebDir: f.webDir, Replay: rp, MaxViewers: f.maxViewers, Logger: logger})
	if err != nil {
		fmt.Fprintln(stderr, "replay:", err)
		return 2
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	served := make(chan error, 1)
	// Exits when Serve returns: at Shutdown, or on a listener error.
	go func() { served <- srv.Serve() }()
	select {
	case err := <-served:
		fmt.Fprintln(stderr, "replay:", err)
		return 1
	case <-signals:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		fmt.Fprintln(stderr, "replay:", err)
		return 1
	}
	<-served
	return 0
}
