package webhook

import (
	"io"
	"sync"
	"time"
)

// LogWriterOptions configure a LogWriter; the zero value is strata serve's.
type LogWriterOptions struct {
	// Interval is the longest a line waits for the write that carries it
	// (DefaultLogInterval when zero).
	Interval time.Duration
	// Bytes is how much is held before it is written at once
	// (DefaultLogBytes when zero).
	Bytes int
}

const (
	// DefaultLogInterval: a line reaches the log within 50 ms, as
	// kubectl logs -f shows it, and a crash (never a clean exit) loses at
	// most that much of it.
	DefaultLogInterval = 50 * time.Millisecond
	// DefaultLogBytes is about 30 decision lines of a warm pod.
	DefaultLogBytes = 64 << 10
)

// LogWriter writes the lines written to it (slog's handlers write a record
// in one Write) to out in batches: a write to stdout is a system call,
// which per admission cost more CPU than the decision line it writes (4 to
// 15 µs for a 2 KB line to a file on a 2-core machine). The lines keep
// their order, whole; they are written when the interval has passed since
// the first of them, when Bytes are held, and at Close. Close is for when
// nothing logs any more: a line written after it goes straight to out.
type LogWriter struct {
	out      io.Writer
	interval time.Duration
	max      int

	mu        sync.Mutex
	buf       []byte
	scheduled bool // the timer will write buf
	closed    bool
	timer     *time.Timer
	err       error // the first error of a batch's write
}

// NewLogWriter returns a LogWriter writing to out.
func NewLogWriter(out io.Writer, opts LogWriterOptions) *LogWriter {
	if opts.Interval <= 0 {
		opts.Interval = DefaultLogInterval
	}
	if opts.Bytes <= 0 {
		opts.Bytes = DefaultLogBytes
	}
	w := &LogWriter{out: out, interval: opts.Interval, max: opts.Bytes}
	w.timer = time.AfterFunc(time.Hour, w.Flush)
	w.timer.Stop()
	return w
}

// Write holds p, a line or several, for the next batch. A p that would not
// fit goes out after what is held, in a write of its own.
func (w *LogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.out.Write(p)
	}
	if len(w.buf)+len(p) > w.max {
		w.flushLocked()
		if len(p) > w.max {
			return w.out.Write(p)
		}
	}
	if w.buf == nil {
		w.buf = make([]byte, 0, w.max)
	}
	w.buf = append(w.buf, p...)
	if !w.scheduled {
		w.scheduled = true
		w.timer.Reset(w.interval)
	}
	return len(p), nil
}

// Flush writes what is held.
func (w *LogWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
}

func (w *LogWriter) flushLocked() {
	if w.scheduled {
		w.scheduled = false
		w.timer.Stop()
	}
	if len(w.buf) == 0 {
		return
	}
	if _, err := w.out.Write(w.buf); err != nil && w.err == nil {
		w.err = err
	}
	w.buf = w.buf[:0]
}

// Close writes what is held and makes every later Write go straight to
// out. It returns the first error writing a batch met.
func (w *LogWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
	w.closed = true
	w.buf = nil
	return w.err
}
