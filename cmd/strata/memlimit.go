package main

import (
	"os"
	"runtime/debug"
	"strconv"
)

// memoryLimitEnv names the container's memory limit in bytes, which the
// chart sets from the downward API (resourceFieldRef limits.memory).
const memoryLimitEnv = "STRATA_MEMORY_LIMIT"

// softMemoryLimit is Go's soft memory limit for a container limited to
// STRATA_MEMORY_LIMIT bytes: 90 % of it, so that the collector works
// harder before the kernel kills, with room left for what is not Go heap
// (stacks, the runtime, the binary's pages). GOMEMLIMIT, when set, is the
// operator's own choice and wins; so does no limit at all.
func softMemoryLimit(getenv func(string) string) (int64, bool) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	limit, err := strconv.ParseInt(getenv(memoryLimitEnv), 10, 64)
	if err != nil || limit <= 0 {
		return 0, false
	}
	return limit - limit/10, true
}

func applySoftMemoryLimit() {
	if limit, ok := softMemoryLimit(os.Getenv); ok {
		debug.SetMemoryLimit(limit)
	}
}
