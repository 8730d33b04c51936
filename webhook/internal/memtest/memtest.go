// Package memtest measures what a process keeps, for the tests that bound
// strata's memory by what tenants send.
package memtest

import (
	"fmt"
	"runtime"
	"testing"
)

// HeapInUse is the live heap after two collections (the second frees what
// finalizers of the first released): what the process keeps.
func HeapInUse() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// Bound is what a cache may keep of what tenants send.
type Bound struct {
	// What is what the flood stored, for the messages ("1000 lineages
	// claiming 1024 KiB names").
	What string
	// Budget is the cache's byte budget; Slack what the runtime and the
	// code around the cache may keep beside it.
	Budget, Slack int64
}

// HeldWithin runs flood and fails t when the live heap is then more than
// b.Budget+b.Slack larger than before it. keep is what holds the cache
// (and anything live before the flood that flood's garbage must not be
// confused with): it stays alive until the heap has been read. It returns
// the heap before and after, for callers that log more.
func HeldWithin(t testing.TB, b Bound, flood func(), keep ...any) (before, after int64) {
	t.Helper()
	before = HeapInUse()
	flood()
	after = HeapInUse()
	runtime.KeepAlive(keep)
	if grew := after - before; grew > b.Budget+b.Slack {
		t.Errorf("%s left the heap %s larger, want at most the %s budget + %s", b.What, size(grew), size(b.Budget), size(b.Slack))
	}
	t.Logf("%s: heap %d KiB before, %d KiB after", b.What, before>>10, after>>10)
	return before, after
}

// size is n in MiB, or in KiB below 16 MiB where MiB would round too much
// to tell a small budget from its slack.
func size(n int64) string {
	if n < 16<<20 && n > -16<<20 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d MiB", n>>20)
}
