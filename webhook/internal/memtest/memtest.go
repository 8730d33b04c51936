// Package memtest measures what a process keeps, for the tests that bound
// strata's memory by what tenants send.
package memtest

import "runtime"

// HeapInUse is the live heap after two collections (the second frees what
// finalizers of the first released): what the process keeps.
func HeapInUse() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
