package policy

import (
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// resultCacheSize bounds the inputs remembered per policy set: a few
// thousand pod templates, a few megabytes.
const resultCacheSize = 4096

// resultCache remembers the violations of recent inputs. Policies are pure
// functions of input and data, so an equal input has equal violations. The
// key is OPA's value hash, which is not collision-resistant, and tenants
// write most of the input: a hit counts only when the stored input is equal
// to the new one, value for value.
type resultCache struct {
	mu      sync.Mutex
	max     int
	entries map[int]resultEntry
}

type resultEntry struct {
	input      ast.Value
	violations []Violation
}

func newResultCache(max int) *resultCache {
	return &resultCache{max: max, entries: make(map[int]resultEntry, max)}
}

func (c *resultCache) get(input ast.Value) ([]Violation, bool) {
	h := input.Hash()
	c.mu.Lock()
	e, ok := c.entries[h]
	c.mu.Unlock()
	if !ok || ast.Compare(e.input, input) != 0 {
		return nil, false
	}
	return e.violations, true
}

func (c *resultCache) put(input ast.Value, vs []Violation) {
	h := input.Hash()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Dropping everything keeps the bound without bookkeeping on the
		// hot path; the working set refills within a few admissions.
		clear(c.entries)
	}
	c.entries[h] = resultEntry{input: input, violations: vs}
}
