package fleet_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/net/fleet/fleettest"
	"github.com/shatter/shatter/net/fleet/redistest"
)

// TestRedis runs the conformance suite on the Redis directory against a
// real redis-server. Each case has its own key prefix, so cases cannot see
// each other's keys; the restart case empties the whole server, so cases
// run one at a time.
func TestRedis(t *testing.T) {
	srv := redistest.Start(t)
	fleettest.Run(t, func(t *testing.T) fleet.Directory {
		return newRedis(t, srv, 0)
	}, fleettest.Config{
		TTL:     400 * time.Millisecond,
		Restart: func(t *testing.T, d fleet.Directory) { srv.FlushAll() },
	})
}

// newRedis is a Redis directory on srv with the test's name as its prefix
// (0 timeout: the default).
func newRedis(t *testing.T, srv *redistest.Server, timeout time.Duration) fleet.Directory {
	t.Helper()
	d, err := fleet.NewRedis(fleet.RedisOptions{URL: srv.URL(), Prefix: t.Name(), Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRedisOptions: NewRedis checks its options but does not connect, so a
// node starts while Redis is down; its calls then fail with ErrUnavailable.
func TestRedisOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    fleet.RedisOptions
		wantErr bool
	}{
		{"plain", fleet.RedisOptions{URL: "redis://127.0.0.1:1"}, false},
		{"tls with user, password and db", fleet.RedisOptions{URL: "rediss://fleet:secret@127.0.0.1:1/2"}, false},
		{"prefix and timeout", fleet.RedisOptions{URL: "redis://127.0.0.1:1", Prefix: "fleet-b", Timeout: time.Second}, false},
		{"no url", fleet.RedisOptions{}, true},
		{"not a redis url", fleet.RedisOptions{URL: "http://127.0.0.1:1"}, true},
		{"brace in prefix", fleet.RedisOptions{URL: "redis://127.0.0.1:1", Prefix: "a{b}"}, true},
		{"negative timeout", fleet.RedisOptions{URL: "redis://127.0.0.1:1", Timeout: -time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := fleet.NewRedis(tt.opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewRedis(%+v): err = %v, want error %v", tt.opts, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer d.Close()
			// Nothing listens on port 1.
			if _, err := d.Nodes(context.Background()); !errors.Is(err, fleet.ErrUnavailable) {
				t.Errorf("Nodes with no server: err = %v, want %v", err, fleet.ErrUnavailable)
			}
		})
	}
}

// TestRedisFrozen: a Redis that stops answering (SIGSTOP) makes every call
// fail with ErrUnavailable within the directory's timeout, even with no
// deadline of the caller's and on new connections; once it answers again
// (SIGCONT) the same directory works.
func TestRedisFrozen(t *testing.T) {
	const timeout = 200 * time.Millisecond
	srv := redistest.Start(t)
	d := newRedis(t, srv, timeout)
	defer d.Close()
	ctx := context.Background()
	if err := d.Heartbeat(ctx, fleet.Lease{Node: "a", State: fleet.Ready, Capacity: 10}, time.Minute); err != nil {
		t.Fatal(err)
	}

	srv.Freeze()
	// More callers than idle connections: some dial a new one, which the
	// kernel accepts but the frozen server never greets.
	const callers = 12
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			start := time.Now()
			var err error
			switch i % 4 {
			case 0:
				_, err = d.Nodes(ctx)
			case 1:
				err = d.Heartbeat(ctx, fleet.Lease{Node: "a", State: fleet.Ready, Capacity: 10}, time.Minute)
			case 2:
				err = d.Admit(ctx, "a")
			default:
				_, err = d.LookupResume(ctx, "t")
			}
			if took := time.Since(start); took > timeout+time.Second {
				t.Errorf("caller %d: a call to a frozen Redis took %v, timeout %v", i, took, timeout)
			}
			if !errors.Is(err, fleet.ErrUnavailable) {
				t.Errorf("caller %d: err = %v, want %v", i, err, fleet.ErrUnavailable)
			}
		})
	}
	wg.Wait()

	srv.Thaw()
	if err := d.Heartbeat(ctx, fleet.Lease{Node: "b", State: fleet.Ready, Capacity: 10}, time.Minute); err != nil {
		t.Fatalf("Heartbeat after SIGCONT: %v", err)
	}
	ls, err := d.Nodes(ctx)
	if err != nil || len(ls) != 2 {
		t.Fatalf("Nodes after SIGCONT = %v, %v; want a and b", ls, err)
	}
}

// TestRedisRestart: a Redis that goes away makes calls fail with
// ErrUnavailable at once; back empty on the same port, with its script
// cache empty too, the same directory works again and is rebuilt by
// heartbeats.
func TestRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	d := newRedis(t, srv, 0)
	defer d.Close()
	ctx := context.Background()
	a := fleet.Lease{Node: "a", State: fleet.Ready, Capacity: 10, Players: 4, Admitted: 4}
	if err := d.Heartbeat(ctx, a, time.Minute); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	start := time.Now()
	if err := d.Heartbeat(ctx, a, time.Minute); !errors.Is(err, fleet.ErrUnavailable) {
		t.Errorf("Heartbeat with Redis down: err = %v, want %v", err, fleet.ErrUnavailable)
	}
	if took := time.Since(start); took > fleet.DefaultTimeout+time.Second {
		t.Errorf("Heartbeat with Redis down took %v", took)
	}

	srv.Restart()
	ls, err := d.Nodes(ctx)
	if err != nil || len(ls) != 0 {
		t.Fatalf("Nodes after a restart = %v, %v; want none", ls, err)
	}
	if err := d.Admit(ctx, "a"); !errors.Is(err, fleet.ErrNodeGone) {
		t.Errorf("Admit after a restart: err = %v, want %v", err, fleet.ErrNodeGone)
	}
	if err := d.Heartbeat(ctx, a, time.Minute); err != nil {
		t.Fatalf("Heartbeat after a restart: %v", err)
	}
	if err := d.Admit(ctx, "a"); err != nil {
		t.Fatalf("Admit after a's heartbeat: %v", err)
	}
	ls, err = d.Nodes(ctx)
	if err != nil || len(ls) != 1 || ls[0].Players != 5 {
		t.Fatalf("Nodes after a's heartbeat and an Admit = %+v, %v; want a with 5 players", ls, err)
	}
}

// TestRedisKeys checks the layout: every key is under the fleet's hash tag,
// the per-node, per-seat and per-token ones expire by themselves, and once
// a node is dead and reaped and its seats, records and rows have lapsed,
// nothing at all is left.
func TestRedisKeys(t *testing.T) {
	srv := redistest.Start(t)
	d := newRedis(t, srv, 0)
	defer d.Close()
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rc.Close()
	ctx := context.Background()
	const ttl = 300 * time.Millisecond
	if err := d.Heartbeat(ctx, fleet.Lease{Node: "a", State: fleet.Ready, Capacity: 10}, ttl); err != nil {
		t.Fatal(err)
	}
	seat := fleet.Seat{ID: fleet.NewSeatID(), Node: "a", Why: fleet.WhyFull, Name: "ann"}
	if err := d.Reserve(ctx, seat, ttl); err != nil {
		t.Fatal(err)
	}
	if err := d.Checkpoint(ctx, []fleet.Resume{{Token: "tok", Node: "a", Name: "ann"}}, ttl); err != nil {
		t.Fatal(err)
	}
	if err := d.PublishBoard(ctx, "a", []fleet.BoardRow{{Name: "ann", Mass: 10}}, ttl); err != nil {
		t.Fatal(err)
	}
	tag := "{" + t.Name() + "}"
	keys := []struct {
		key     string
		expires bool
	}{
		{tag + ":lease:a", true},
		{tag + ":pending:a", true},
		{tag + ":seat:" + seat.ID, true},
		{tag + ":resume:tok", true},
		{tag + ":expiry", false},
		{tag + ":room", false},
		{tag + ":board", false},
		{tag + ":boardexp", false},
		{tag + ":boardrows:a", false},
	}
	if n := rc.DBSize(ctx).Val(); n != int64(len(keys)) {
		t.Errorf("DBSIZE = %d, want %d", n, len(keys))
	}
	for _, k := range keys {
		pttl, err := rc.PTTL(ctx, k.key).Result()
		switch {
		case err != nil:
			t.Errorf("PTTL %s: %v", k.key, err)
		case pttl == -2:
			t.Errorf("key %s missing", k.key)
		case k.expires && (pttl <= 0 || pttl > ttl):
			t.Errorf("PTTL %s = %v, want at most %v", k.key, pttl, ttl)
		case !k.expires && pttl != -1:
			t.Errorf("PTTL %s = %v, want none (Reap removes it)", k.key, pttl)
		}
	}
	time.Sleep(ttl + 100*time.Millisecond)
	if dead, err := d.Reap(ctx); err != nil || len(dead) != 1 {
		t.Fatalf("Reap = %v, %v; want [a]", dead, err)
	}
	if n := rc.DBSize(ctx).Val(); n != 0 {
		t.Errorf("DBSIZE after Reap = %d, want 0", n)
	}
}

// TestRedisMovesFilesPastItsTimeout: an answer's file of 96 MiB travels
// both ways through a directory whose timeout for small records (20 ms)
// is far shorter than the file takes, and an answer is taken once.
func TestRedisMovesFilesPastItsTimeout(t *testing.T) {
	srv := redistest.Start(t)
	d := newRedis(t, srv, 20*time.Millisecond)
	defer d.Close()
	ctx := context.Background()
	file := make([]byte, 96<<20)
	file[len(file)-1] = 9
	if err := d.Answer(ctx, "c1", fleet.Answer{Status: 200, Body: `{}`, Node: "a", Data: file}, time.Minute); err != nil {
		t.Fatalf("Answer with a 96 MiB file: %v", err)
	}
	got, err := d.TakeAnswer(ctx, "c1")
	if err != nil || len(got.Data) != len(file) || got.Data[len(file)-1] != 9 {
		t.Fatalf("TakeAnswer: %d bytes, %v; want the whole file", len(got.Data), err)
	}
	if _, err := d.TakeAnswer(ctx, "c1"); !errors.Is(err, fleet.ErrNotFound) {
		t.Errorf("TakeAnswer again: %v, want %v", err, fleet.ErrNotFound)
	}
}
