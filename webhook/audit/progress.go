package audit

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ProgressOptions configure a Progress.
type ProgressOptions struct {
	// Terminal redraws one line in place (the writer is a terminal);
	// otherwise a summary line is written every Interval, and none for a
	// run shorter than that.
	Terminal bool
	// Interval between summary lines when not on a terminal. Default: 10s.
	Interval time.Duration
	// Redraw is the time between redraws on a terminal. Default: 200ms.
	Redraw time.Duration
	// Ticks, when set, replaces the ticker: each value received is a
	// redraw or a summary line at that time (tests drive it).
	Ticks <-chan time.Time
	// Now is the clock the elapsed time is measured on. Default: time.Now.
	Now func() time.Time
}

// Progress shows a long scan's progress on stderr: workloads listed, then
// evaluated out of those to evaluate, and the distinct images they name.
// Its counters are safe for concurrent use.
type Progress struct {
	w     io.Writer
	opts  ProgressOptions
	start time.Time

	listed, total, evaluated, images atomic.Int64

	stopOnce sync.Once
	done     chan struct{}
	stopped  chan struct{}
	ticker   *time.Ticker
	// drawn is the width of the line last drawn on a terminal, to erase.
	drawn int
}

// StartProgress starts showing progress on w until Stop.
func StartProgress(w io.Writer, opts ProgressOptions) *Progress {
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Second
	}
	if opts.Redraw <= 0 {
		opts.Redraw = 200 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := &Progress{w: w, opts: opts, start: opts.Now(), done: make(chan struct{}), stopped: make(chan struct{})}
	ticks := opts.Ticks
	if ticks == nil {
		every := opts.Interval
		if opts.Terminal {
			every = opts.Redraw
		}
		p.ticker = time.NewTicker(every)
		ticks = p.ticker.C
	}
	go p.run(ticks)
	return p
}

// Listed is told how many workloads have been listed so far
// (inventory.ListOptions.Listed).
func (p *Progress) Listed(n int) { p.listed.Store(int64(n)) }

// Evaluating says how many workloads are to be evaluated and how many
// distinct images they name, once listing is done.
func (p *Progress) Evaluating(workloads, images int) {
	p.total.Store(int64(workloads))
	p.images.Store(int64(images))
}

// Evaluated counts one workload evaluated (inventory.Options.Evaluated).
func (p *Progress) Evaluated() { p.evaluated.Add(1) }

// Stop stops the ticker and, on a terminal, erases the bar so that what is
// printed next starts on a clean line. It waits for the last redraw.
func (p *Progress) Stop() {
	p.stopOnce.Do(func() {
		close(p.done)
		<-p.stopped
		if p.ticker != nil {
			p.ticker.Stop()
		}
		if p.opts.Terminal && p.drawn > 0 {
			fmt.Fprint(p.w, "\r\x1b[K")
		}
	})
}

func (p *Progress) run(ticks <-chan time.Time) {
	defer close(p.stopped)
	for {
		select {
		case <-p.done:
			return
		case now, ok := <-ticks:
			if !ok {
				<-p.done
				return
			}
			if p.opts.Terminal {
				line := p.bar()
				fmt.Fprintf(p.w, "\r\x1b[K%s", line)
				p.drawn = len(line)
			} else {
				fmt.Fprintf(p.w, "strata audit: %s: %s\n", now.Sub(p.start).Round(time.Second), p.summary())
			}
		}
	}
}

// summary is one line of counts: what is known so far.
func (p *Progress) summary() string {
	listed, total := p.listed.Load(), p.total.Load()
	if total == 0 {
		return fmt.Sprintf("listing: %d workloads listed", listed)
	}
	return fmt.Sprintf("%d workloads listed, %d of %d evaluated, %d distinct images", listed, p.evaluated.Load(), total, p.images.Load())
}

// barWidth is the number of cells of the bar.
const barWidth = 24

// bar is the summary behind a bar of the workloads evaluated.
func (p *Progress) bar() string {
	total := p.total.Load()
	if total == 0 {
		return p.summary()
	}
	filled := int(p.evaluated.Load() * barWidth / total)
	filled = min(filled, barWidth)
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", barWidth-filled) + "] " + p.summary()
}
