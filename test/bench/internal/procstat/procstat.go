// Package procstat reads what the benchmarks measure a process by from
// Linux's /proc, so that the harness, auditrun and slowconns report the
// same quantity under the same name.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Memory is process pid's resident set now (VmRSS) and at its peak
// (VmHWM), in bytes.
func Memory(pid int) (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	var found bool
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss, found = kb<<10, true
		case "VmHWM":
			peak = kb << 10
		}
	}
	if !found {
		// A kernel thread, or a process that exited between open and read.
		return 0, 0, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
	}
	return rss, peak, nil
}
