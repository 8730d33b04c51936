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

// boundedGCPercent is the GOGC strata runs with under the soft memory limit
// it sets: the collector starts when the heap is 5 times what was live at
// the last collection (Go's default is twice), or at the limit, whichever
// comes first.
//
// A warm admission leaves nothing live behind it, and what is live between
// admissions is small (8 MiB in test/bench's TestProfile), so at Go's
// default the collector ran every few hundred admissions and took an eighth
// of strata's CPU. Without a limit a higher GOGC would let the heap grow
// with what is live, unbounded; with one, the heap cannot grow past the
// limit whatever GOGC says, so the price is memory strata has already
// declared it may hold. Counted in docs/images.md ("The memory limit"):
// 400 runs the collector a fifth as often as 100 on warm admissions, and
// leaves the full-size memory scenario's resident set as it was.
const boundedGCPercent = 400

// Where GOGC comes from, as strata serve logs it.
const (
	gcPercentFromLimit    = "strata's: 400 while its soft memory limit bounds the heap (GOGC sets another)"
	gcPercentFromOperator = "the operator's GOGC"
)

// memorySetting is what strata set of Go's memory management, as strata
// serve logs it.
type memorySetting struct {
	limit    int64  // Go's soft memory limit in bytes; 0: strata set none
	from     string // where the limit comes from
	gogc     string // GOGC in force, as GOGC is written ("400", "off")
	gogcFrom string // where GOGC comes from
}

// memorySettings is what strata sets of Go's memory management: the soft
// memory limit (softMemoryLimit), and, under that limit, GOGC
// (boundedGCPercent) unless the operator set GOGC. ok is false when strata
// sets no limit: then it sets no GOGC either, since nothing would bound the
// heap it allows; GOMEMLIMIT leaves both to the operator (and Go).
func memorySettings(getenv func(string) string, cacheBytes int64) (s memorySetting, ok bool) {
	limit, from, ok := softMemoryLimit(getenv, cacheBytes)
	if !ok {
		return memorySetting{}, false
	}
	s = memorySetting{limit: limit, from: from, gogc: strconv.Itoa(boundedGCPercent), gogcFrom: gcPercentFromLimit}
	if v := getenv("GOGC"); v != "" {
		s.gogc, s.gogcFrom = v, gcPercentFromOperator
	}
	return s, true
}

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
// 64 MiB. The caches hold at most their budget (each entry is charged at
// least what it holds), the catalog and the compiled policies some MiB
// more (about 16 MiB with a 10,000-image catalog). So the collector keeps
// room to work (GOGC 100 would let the heap grow to twice what is live),
// while what strata holds from the system follows its configuration
// instead of what was live at the last collection: the full-size memory
// scenario of test/bench/RESULTS.md held 223 MiB resident without it. The
// limit is soft: when more is live, the heap grows past it and Go caps the
// collector's CPU at half, rather than failing. cacheBytes 0: no limit (the
// commands that keep no caches).
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

// applyMemorySettings sets Go's soft memory limit and GOGC as
// memorySettings says, and returns what it set (limit 0: nothing).
func applyMemorySettings(cacheBytes int64) memorySetting {
	s, ok := memorySettings(os.Getenv, cacheBytes)
	if !ok {
		return memorySetting{}
	}
	debug.SetMemoryLimit(s.limit)
	if s.gogcFrom == gcPercentFromLimit {
		debug.SetGCPercent(boundedGCPercent)
	}
	return s
}
