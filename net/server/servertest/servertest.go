// Package servertest starts a real Shatter server on loopback for tests of
// the programs that talk to it (the headless client, the load generator).
package servertest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/shatter/shatter/net/server"
	"github.com/shatter/shatter/sim"
)

// Start runs a server on free 127.0.0.1 ports (public and admin) with the
// default rules, seed 1 and quiet logs, after mutate (if not nil) adjusts
// its config. The server is shut down, within 5 s, when the test ends.
func Start(t testing.TB, mutate func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.Config{
		Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", WebDir: t.TempDir(),
		Arena: sim.DefaultConfig(), Seed: 1, MaxArenas: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}
