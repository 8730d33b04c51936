package webhook

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-project/strata/internal/logtest"
)

// countingWriter counts the writes that reach it.
type countingWriter struct {
	logtest.Buffer
	mu     sync.Mutex
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	return c.Buffer.Write(p)
}

func (c *countingWriter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// TestLogWriterKeepsEveryLineWholeAndInOrder: lines written from many
// goroutines, some larger than the batch, reach the log whole, each
// goroutine's in its order, none lost at Close, in fewer writes than lines.
func TestLogWriterKeepsEveryLineWholeAndInOrder(t *testing.T) {
	t.Parallel()
	out := &countingWriter{}
	// Only Bytes and Close write: the test does not depend on a timer.
	w := NewLogWriter(out, LogWriterOptions{Interval: time.Hour, Bytes: 4 << 10})
	const writers, lines = 8, 200
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				pad := 10
				if i%50 == 49 {
					pad = 5 << 10 // past Bytes: written on its own, after what is held
				}
				if _, err := fmt.Fprintf(w, "g%d line%d %s\n", g, i, strings.Repeat("x", pad)); err != nil {
					t.Errorf("Write: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("the log holds %d lines, want %d", len(got), writers*lines)
	}
	next := make([]int, writers)
	for _, line := range got {
		var g, i int
		var pad string
		if _, err := fmt.Sscanf(line, "g%d line%d %s", &g, &i, &pad); err != nil {
			t.Fatalf("line %.40q is not whole: %v", line, err)
		}
		if i != next[g] {
			t.Fatalf("goroutine %d's line %d follows its line %d, want its lines in order", g, i, next[g]-1)
		}
		next[g]++
	}
	if n := out.count(); n >= writers*lines/2 {
		t.Errorf("%d lines reached the log in %d writes, want batches", writers*lines, n)
	}
}

// TestLogWriterWritesHeldLinesWithoutClose: a held line reaches the log
// after the interval, with nothing else written.
func TestLogWriterWritesHeldLinesWithoutClose(t *testing.T) {
	t.Parallel()
	out := &logtest.Buffer{}
	w := NewLogWriter(out, LogWriterOptions{Interval: time.Millisecond})
	t.Cleanup(func() { _ = w.Close() })
	slog.New(slog.NewJSONHandler(w, nil)).Info("admission decision", "uid", "u1")
	if got := out.Await(`"uid":"u1"`, 1); !strings.Contains(got, `"uid":"u1"`) {
		t.Errorf("the log holds %q, want the line written without Close", got)
	}
}

// TestLogWriterAfterCloseWritesThrough: a line logged after Close (a
// goroutine still ending) is not held where nothing would write it.
func TestLogWriterAfterCloseWritesThrough(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := NewLogWriter(&out, LogWriterOptions{Interval: time.Hour})
	_, _ = io.WriteString(w, "before\n")
	if err := w.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	_, _ = io.WriteString(w, "after\n")
	if got := out.String(); got != "before\nafter\n" {
		t.Errorf("the log holds %q, want %q", got, "before\nafter\n")
	}
}
