package main

import (
	"os"
	"runtime/debug"
	"strconv"
)

// memoryLimitEnv names the container's memory limit in bytes, which the
// chart sets from the downward API (resourceFieldRef limits.memory).
const memoryLimitEnv = "STRATA_MEMORY_LIMIT"

// Where Go's soft memory limit comes from, as strata serve logs it.
const (
	limitFromContainer = "90 % of the container's memory limit (STRATA_MEMORY_LIMIT)"
	limitFromCache     = "twice cache.maxBytes plus 8 MiB, at least 64 MiB: no container limit given (STRATA_MEMORY_LIMIT or GOMEMLIMIT sets another)"
)

// softMemoryLimit is Go's soft memory limit for strata, and where it comes
// from. GOMEMLIMIT, when set, is the operator's own choice and wins: Go
// applies it, and strata sets nothing.
//
// A container limit of STRATA_MEMORY_LIMIT bytes gives 90 % of it, so that
// the collector works harder before the kernel kills, with room left for
// what is not Go's (the binary's pages).
//
// Without one, and given the cache budget cacheBytes (strata serve's
// cache.maxBytes), the limit is twice that budget plus 8 MiB, at least
// 64 MiB. Go's collector lets the heap grow to twice what is live
// (GOGC=100); the caches hold at most their budget (each entry is charged
// at least what it holds), the catalog and the compiled policies some MiB
// more (about 16 MiB with a 10,000-image catalog). So the collector keeps
// most of its usual room, while what strata holds from the system follows
// its configuration instead of what was live at the last collection: the
// full-size memory scenario of test/bench/RESULTS.md held 223 MiB resident
// without it. The limit is soft: when more is live, the heap grows past it
// and Go caps the collector's CPU at half, rather than failing. cacheBytes
// 0: no limit (the commands that keep no caches).
func softMemoryLimit(getenv func(string) string, cacheBytes int64) (limit int64, from string, ok bool) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, "", false
	}
	if container, err := strconv.ParseInt(getenv(memoryLimitEnv), 10, 64); err == nil && container > 0 {
		return container - container/10, limitFromContainer, true
	}
	if cacheBytes > 0 {
		return max(2*cacheBytes+8<<20, 64<<20), limitFromCache, true
	}
	return 0, "", false
}

// applySoftMemoryLimit sets Go's soft memory limit as softMemoryLimit says,
// and returns it (0: none set by strata).
func applySoftMemoryLimit(cacheBytes int64) (int64, string) {
	limit, from, ok := softMemoryLimit(os.Getenv, cacheBytes)
	if !ok {
		return 0, ""
	}
	debug.SetMemoryLimit(limit)
	return limit, from
}
