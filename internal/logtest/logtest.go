// Package logtest holds what tests of several packages need to read the
// logs strata writes from its own goroutines.
package logtest

import (
	"strings"
	"sync"
	"time"
)

// Buffer is a log sink the race detector accepts: a logger's goroutines
// write while the test reads.
type Buffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Await returns what b holds once it holds substr n times, or whatever it
// holds after five seconds. strata writes an admission's decision line
// just after it sends the answer, so a test that has the answer can be a
// moment ahead of the line.
func (b *Buffer) Await(substr string, n int) string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := b.String()
		if strings.Count(s, substr) >= n || time.Now().After(deadline) {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
}
