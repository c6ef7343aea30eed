package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// progress shows how far a run is: mpb progress bars on a terminal, one
// line per phase otherwise, nothing with -quiet. The zero progress shows
// nothing.
type progress struct {
	out  io.Writer // nil shows nothing
	bars bool      // draw bars on out rather than phase lines

	// The phase being drawn, set by start and cleared by end, which the
	// run's goroutine calls; the updater reads only bar and figures.
	current *mpb.Progress
	bar     *mpb.Bar
	update  func(*mpb.Bar) string  // the phase's figures, given to start
	figures atomic.Pointer[string] // the last figures update returned, drawn after the bar
	stop    chan struct{}          // closed to stop the updater
	updater sync.WaitGroup         // the updater goroutine

	mu     sync.Mutex // guards events
	events []string   // lines of event held back while a bar is drawn
}

// refresh is how often the bars and their figures are updated.
const refresh = 250 * time.Millisecond

// isTerminal reports whether f is a terminal, where bars can be redrawn.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// note prints a line. It is called between phases: a line printed while
// bars are drawn would be drawn over.
func (p *progress) note(format string, args ...any) {
	if p.out != nil {
		fmt.Fprintf(p.out, format+"\n", args...)
	}
}

// event prints a line about something that happened during a phase: at
// once without bars, after the phase's bar otherwise. Safe from any
// goroutine.
func (p *progress) event(format string, args ...any) {
	if p.out == nil {
		return
	}
	line := fmt.Sprintf(format, args...)
	if !p.bars {
		p.note("%s", line)
		return
	}
	p.mu.Lock()
	p.events = append(p.events, line)
	p.mu.Unlock()
}

// startRamp shows the ramp: counts returns the sessions connected and
// failed so far, out of total.
func (p *progress) startRamp(total int, counts func() (ok, failed int)) {
	if !p.bars {
		p.note("ramp: opening %d sessions", total)
		return
	}
	p.start(int64(total), "connect", func(b *mpb.Bar) string {
		ok, failed := counts()
		b.SetCurrent(int64(ok + failed))
		return fmt.Sprintf("%d ok, %d failed", ok, failed)
	})
}

func (p *progress) endRamp(took time.Duration) {
	p.end()
	p.note("ramp: done in %v", took.Round(time.Millisecond))
}

// startPlay shows the window of length d; live describes it so far.
func (p *progress) startPlay(d time.Duration, live func() string) {
	if !p.bars {
		p.note("play: measuring for %v", d)
		return
	}
	began := time.Now()
	p.start(d.Milliseconds(), "play   ", func(b *mpb.Bar) string {
		b.SetCurrent(min(d, time.Since(began)).Milliseconds())
		return live()
	})
}

func (p *progress) endPlay() {
	p.end()
	p.mu.Lock()
	events := p.events
	p.events = nil
	p.mu.Unlock()
	for _, line := range events {
		p.note("%s", line)
	}
	p.note("play: done")
}

// start draws one bar whose figures update calls every refresh, on an
// updater goroutine that end stops.
func (p *progress) start(total int64, name string, update func(*mpb.Bar) string) {
	empty := ""
	p.figures.Store(&empty)
	bars := mpb.New(mpb.WithOutput(p.out), mpb.WithWidth(40), mpb.WithRefreshRate(refresh))
	bar := bars.AddBar(total,
		mpb.PrependDecorators(decor.Name(name+" "), decor.Elapsed(decor.ET_STYLE_GO, decor.WC{W: 5})),
		mpb.AppendDecorators(decor.Percentage(decor.WC{W: 5}), decor.Any(func(decor.Statistics) string { return " " + *p.figures.Load() })),
	)
	p.current, p.bar, p.update, p.stop = bars, bar, update, make(chan struct{})
	stop := p.stop
	// Owned by the phase: exits when end closes stop.
	p.updater.Go(func() {
		t := time.NewTicker(refresh)
		defer t.Stop()
		for {
			line := update(bar)
			p.figures.Store(&line)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
}

// end brings the phase's bar up to date, ends it and waits for it to be
// drawn.
func (p *progress) end() {
	bars, bar, update, stop := p.current, p.bar, p.update, p.stop
	if bars == nil {
		return
	}
	close(stop)
	p.updater.Wait()
	line := update(bar) // Completes the bar if the phase ran its course.
	p.figures.Store(&line)
	// A phase cut short leaves its bar short of its total, which would
	// never complete: abort it where it stands (a no-op on a complete bar).
	bar.Abort(false)
	bars.Wait()
	p.current, p.bar, p.update, p.stop = nil, nil, nil, nil
}
