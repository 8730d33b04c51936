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

// get finds input's violations; a nil cache holds nothing.
func (c *resultCache) get(input ast.Value) ([]Violation, bool) {
	if c == nil {
		return nil, false
	}
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

// put remembers input's violations; a nil cache remembers nothing.
func (c *resultCache) put(input ast.Value, vs []Violation) {
	if c == nil {
		return
	}
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
func inputKeys(refs []ast.Ref, whole bool) []string {
	if whole {
		return nil
	}
	keys := map[string]bool{}
	for _, r := range refs {
		s, ok := refKey(r)
		if !ok {
			return nil
		}
		keys[s] = true
	}
	return slices.Sorted(maps.Keys(keys))
}

// updateProof are the parts of the input an update that changes no
// container cannot change: the container (name, type, image, OS, effective
// security context), what the registry says of its image, and the
// workload's identity. The labels, the annotations and the request (its
// operation, user, dry run) are not.
var updateProof = map[string][]string{
	"apiVersion": nil,
	"container":  nil,
	"image":      nil,
	"lineage":    nil,
	"workload":   {"kind", "name", "namespace"},
}

// readsOnlyContainerFacts reports whether every reference into input stays
// within updateProof.
func readsOnlyContainerFacts(refs []ast.Ref, whole bool) bool {
	if whole {
		return false
	}
	for _, r := range refs {
		key, ok := refKey(r)
		if !ok {
			return false
		}
		fields, ok := updateProof[key]
		if !ok {
			return false
		}
		if fields == nil {
			continue
		}
		if len(r) < 3 {
			return false // the whole workload object
		}
		field, ok := r[2].Value.(ast.String)
		if !ok || !slices.Contains(fields, string(field)) {
			return false
		}
	}
	return true
}

// inputRefs returns every reference into input the modules make; whole is
// true when some module uses input other than as the head of a reference.
func inputRefs(modules map[string]*ast.Module) (refs []ast.Ref, whole bool) {
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
				refs = append(refs, v)
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
	return refs, whole
}

// nondeterministicCalls returns the non-deterministic built-ins (as OPA
// marks them) the modules refer to, sorted. Any reference counts, a call
// through a helper function or a `with` replacement included.
func nondeterministicCalls(modules map[string]*ast.Module, caps *ast.Capabilities) []string {
	impure := map[string]bool{}
	for _, b := range caps.Builtins {
		if b.Nondeterministic {
			impure[b.Name] = true
		}
	}
	found := map[string]bool{}
	for _, m := range modules {
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if name := r.String(); impure[name] {
				found[name] = true
			}
			return false
		})
	}
	return slices.Sorted(maps.Keys(found))
}

// refKey is the top-level key of a reference into input, when it is a constant.
func refKey(r ast.Ref) (string, bool) {
	if len(r) < 2 {
		return "", false
	}
	s, ok := r[1].Value.(ast.String)
	return string(s), ok
}
