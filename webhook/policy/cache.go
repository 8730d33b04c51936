package policy

import (
	"maps"
	"slices"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// resultCacheSize bounds the inputs remembered per policy set: enough for
// the templates a cluster admits repeatedly, at a few KiB each.
const resultCacheSize = 1024

// resultCache remembers the violations of recent inputs. Policies are pure
// functions of input and data, so an equal input has equal violations. The
// key is OPA's value hash, which is not collision-resistant, and tenants
// write most of the input: a hit counts only when the stored input is equal
// to the new one, value for value.
type resultCache struct {
	mu      sync.Mutex
	max     int
	entries map[int]resultEntry
	// keys are the top-level input keys the policies read; nil means all.
	// Two pods of one ReplicaSet differ only in their names, which no
	// built-in policy reads: keyed on what is read, they share a result.
	keys []string
}

type resultEntry struct {
	input      ast.Value
	violations []Violation
}

func newResultCache(max int, keys []string) *resultCache {
	return &resultCache{max: max, entries: make(map[int]resultEntry, max), keys: keys}
}

// relevant is the part of input the policies read.
func (c *resultCache) relevant(input ast.Value) ast.Value {
	obj, ok := input.(ast.Object)
	if !ok || c.keys == nil {
		return input
	}
	out := ast.NewObjectWithCapacity(len(c.keys))
	for _, k := range c.keys {
		if v := obj.Get(ast.StringTerm(k)); v != nil {
			out.Insert(ast.StringTerm(k), v)
		}
	}
	return out
}

func (c *resultCache) get(input ast.Value) ([]Violation, bool) {
	input = c.relevant(input)
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
	input = c.relevant(input)
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

// inputKeys returns the top-level input keys the modules refer to, sorted;
// nil when some module uses input as a whole (json.marshal(input)) or with a
// computed key, so that the cache then keys on everything.
func inputKeys(modules map[string]*ast.Module) []string {
	keys := map[string]bool{}
	whole := false
	var visit func(x any) bool
	visit = func(x any) bool {
		t, ok := x.(*ast.Term)
		if !ok {
			return false
		}
		switch v := t.Value.(type) {
		case ast.Var:
			if v.Equal(ast.InputRootDocument.Value) {
				whole = true // input not as the head of a reference
			}
		case ast.Ref:
			if v[0].Equal(ast.InputRootDocument) {
				if s, ok := refKey(v); ok {
					keys[s] = true
				} else {
					whole = true
				}
			} else {
				ast.NewGenericVisitor(visit).Walk(v[0])
			}
			for _, el := range v[1:] {
				ast.NewGenericVisitor(visit).Walk(el)
			}
			return true
		}
		return false
	}
	for _, m := range modules {
		ast.NewGenericVisitor(visit).Walk(m)
	}
	if whole {
		return nil
	}
	return slices.Sorted(maps.Keys(keys))
}

// refKey is the top-level key of a reference into input, when it is a constant.
func refKey(r ast.Ref) (string, bool) {
	if len(r) < 2 {
		return "", false
	}
	s, ok := r[1].Value.(ast.String)
	return string(s), ok
}
