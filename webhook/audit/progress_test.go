package audit

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// drawnWriter records what is written and tells the test each time, so that
// the test changes the counters only after the line it asked for is drawn.
type drawnWriter struct {
	buf   bytes.Buffer
	wrote chan struct{}
}

func newDrawnWriter() *drawnWriter { return &drawnWriter{wrote: make(chan struct{}, 16)} }

func (w *drawnWriter) Write(b []byte) (int, error) {
	n, err := w.buf.Write(b)
	w.wrote <- struct{}{}
	return n, err
}

// tick sends one tick at start+at and waits for its line.
func tick(ticks chan<- time.Time, w *drawnWriter, start time.Time, at time.Duration) {
	ticks <- start.Add(at)
	<-w.wrote
}

var progressStart = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

// Each tick draws the counters as they stand: without a terminal, one
// summary line per interval; on a terminal, one line redrawn in place (and
// cleared at Stop), never a newline.
func TestProgressDrawsEachTick(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                  string
		terminal              bool
		listedFirst           int
		firstTick, secondTick time.Duration
		evaluated             int
		want                  string
	}{
		{"WithoutTerminalWritesOneSummaryLinePerInterval", false, 1500, 10 * time.Second, 20 * time.Second, 850,
			"strata audit: 10s: listing: 1500 workloads listed\n" +
				"strata audit: 20s: 2000 workloads listed, 850 of 2000 evaluated, 1000 distinct images\n"},
		{"OnTerminalRedrawsOneLineInPlace", true, 500, 200 * time.Millisecond, 400 * time.Millisecond, 1000,
			"\r\x1b[Klisting: 500 workloads listed" +
				"\r\x1b[K[############............] 2000 workloads listed, 1000 of 2000 evaluated, 1000 distinct images" +
				"\r\x1b[K"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newDrawnWriter()
			ticks := make(chan time.Time)
			p := StartProgress(w, ProgressOptions{Terminal: tc.terminal, Ticks: ticks, Now: func() time.Time { return progressStart }})
			p.Listed(tc.listedFirst)
			tick(ticks, w, progressStart, tc.firstTick)
			p.Listed(2000)
			p.Evaluating(2000, 1000)
			for range tc.evaluated {
				p.Evaluated()
			}
			tick(ticks, w, progressStart, tc.secondTick)
			p.Stop()
			if got := w.buf.String(); got != tc.want {
				t.Errorf("progress (terminal %t) wrote:\n%q\nwant:\n%q", tc.terminal, got, tc.want)
			}
			if tc.terminal && strings.Contains(w.buf.String(), "\n") {
				t.Errorf("progress on a terminal wrote a newline: the bar must redraw in place")
			}
		})
	}
}

// A run shorter than the interval writes nothing: a CronJob's log holds
// the preview alone.
func TestProgressWithoutTerminalIsSilentForAShortRun(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	p := StartProgress(&b, ProgressOptions{})
	p.Listed(3)
	p.Evaluating(3, 2)
	p.Evaluated()
	p.Stop()
	if b.Len() != 0 {
		t.Errorf("a run shorter than 10s wrote %q, want nothing", b.String())
	}
}

// Stop is safe to call twice (a deferred Stop after an explicit one) and
// after the ticks ended.
func TestProgressStopTwice(t *testing.T) {
	t.Parallel()
	ticks := make(chan time.Time)
	p := StartProgress(newDrawnWriter(), ProgressOptions{Ticks: ticks})
	close(ticks)
	p.Stop()
	p.Stop()
}
