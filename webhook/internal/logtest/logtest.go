// Package logtest holds what tests of several packages need to read the
// logs strata writes from its own goroutines.
package logtest

import (
	"strings"
	"sync"
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
