package policy

import (
	"bufio"
	"crypto/sha256"
	"hash"
	"maps"
	"slices"
	"sync"
	"unsafe"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/strata-project/strata/webhook/internal/lru"
)

// DefaultResultCacheBytes is the result cache's budget when the options
// give none: its share of the chart's cache.maxBytes (64Mi), at about 500
// bytes an entry some 16,000 inputs. strata serve passes its share of
// cache.maxBytes.
const DefaultResultCacheBytes = 8 << 20

// resultCache remembers the violations of recent inputs. Policies are pure
// functions of input and data, so an equal input has equal violations.
// Tenants write most of the input, and an image config can carry megabytes
// of labels: the cache keeps a SHA-256 of the input, never the input, so
// an entry costs its violations and not what the input weighs, and a hit
// needs a collision of SHA-256, not of a fast hash. Eviction is least
// recently used, within a byte budget.
type resultCache struct {
	entries *lru.Cache[[sha256.Size]byte, []Violation]
	// keys are the top-level input keys the policies read; nil means all.
	// Two pods of one ReplicaSet differ only in their names, which no
	// built-in policy reads: keyed on what is read, they share a result.
	keys []string
}

func newResultCache(maxBytes int64, keys []string) *resultCache {
	return &resultCache{entries: lru.New[[sha256.Size]byte, []Violation](0, maxBytes), keys: keys}
}

// key is the SHA-256 of the part of input the policies read. A top-level
// value that is one of in's parts is written as its digest, computed once
// when the part was built ('h' tells the two forms apart, so an input whose
// image is a part and an equal one whose image is not only miss each other).
func (c *resultCache) key(in Input) [sha256.Size]byte {
	return Digest(func(w *bufio.Writer) { c.writeKey(w, in) })
}

func (c *resultCache) writeKey(w *bufio.Writer, in Input) {
	if c.keys != nil && c.writePartsKey(w, in) {
		return
	}
	obj, ok := in.Value().(ast.Object)
	switch {
	case !ok:
		writeCanonical(w, in.Value())
	case c.keys == nil:
		writeLength(w, 'o', obj.Len())
		obj.Foreach(func(key, t *ast.Term) {
			writeCanonical(w, key.Value)
			name, _ := key.Value.(ast.String)
			writeTop(w, in, string(name), t)
		})
	default:
		// The object of the keys the policies read, as writeCanonical
		// would write it, without building it: the keys input has, in
		// c.keys's sorted order, which is the order of an object's keys.
		var present [16]*ast.Term
		terms := present[:0]
		for _, key := range c.keys {
			terms = append(terms, obj.Get(ast.StringTerm(key)))
		}
		n := 0
		for _, t := range terms {
			if t != nil {
				n++
			}
		}
		writeLength(w, 'o', n)
		for i, t := range terms {
			if t != nil {
				writeText(w, 's', c.keys[i]) // writeCanonical of the ast.String, without boxing it
				writeTop(w, in, c.keys[i], t)
			}
		}
	}
}

// writePartsKey writes the key of an input of ObjectOf whose every key the
// policies read is a part, without building the input: the bytes writeKey
// writes for the built object, whose values at those keys are the parts. It
// writes nothing and returns false for any other input.
func (c *resultCache) writePartsKey(w *bufio.Writer, in Input) bool {
	var found [16]Part
	parts := found[:0]
	for _, key := range c.keys {
		p, ok := in.part(key)
		if !ok {
			return false
		}
		parts = append(parts, p)
	}
	writeLength(w, 'o', len(parts))
	for i, p := range parts {
		writeText(w, 's', c.keys[i]) // writeCanonical of the ast.String, without boxing it
		_ = w.WriteByte('h')
		WriteDigest(w, p.digest)
	}
	return true
}

// writeTop writes a top-level value of in: its digest when it is a part.
func writeTop(w *bufio.Writer, in Input, key string, t *ast.Term) {
	if d, ok := in.digestOf(key, t); ok {
		_ = w.WriteByte('h')
		WriteDigest(w, d)
		return
	}
	writeCanonical(w, t.Value)
}

func writeLength(w *bufio.Writer, tag byte, n int) {
	_ = w.WriteByte(tag)
	WriteUvarint(w, uint64(n))
}

// WriteUvarint writes x as binary.PutUvarint would, a byte at a time: a
// slice handed to the writer would escape, an allocation for every length
// of every key.
func WriteUvarint(w *bufio.Writer, x uint64) {
	for x >= 0x80 {
		_ = w.WriteByte(byte(x) | 0x80)
		x >>= 7
	}
	_ = w.WriteByte(byte(x))
}

// WriteDigest writes d through the writer's own buffer: a slice of d
// handed to the writer would move it, and the struct or array holding
// it, to the heap; a byte at a time is 32 calls.
func WriteDigest(w *bufio.Writer, d [sha256.Size]byte) {
	if w.Available() < len(d) {
		_ = w.Flush() // a hash never fails to write
	}
	_, _ = w.Write(append(w.AvailableBuffer(), d[:]...))
}

// Digest is the SHA-256 of what write writes. The hash and its buffer are
// reused: a key is computed for every evaluation, and each would otherwise
// allocate both.
func Digest(write func(w *bufio.Writer)) [sha256.Size]byte {
	k := keyers.Get().(*keyer)
	defer keyers.Put(k)
	k.h.Reset()
	k.w.Reset(k.h)
	write(k.w)
	_ = k.w.Flush() // a hash never fails to write
	// Summed into the keyer's own array: a local one handed to the hash
	// would move to the heap.
	k.h.Sum(k.sum[:0])
	return k.sum
}

type keyer struct {
	h   hash.Hash
	w   *bufio.Writer
	sum [sha256.Size]byte
}

var keyers = sync.Pool{New: func() any {
	h := sha256.New()
	return &keyer{h: h, w: bufio.NewWriterSize(h, 4096)}
}}

// get finds the violations of the input whose key is k; a nil cache holds
// nothing.
func (c *resultCache) get(k [sha256.Size]byte) ([]Violation, bool) {
	if c == nil {
		return nil, false
	}
	return c.entries.Get(k)
}

// put remembers the violations of the input whose key is k; a nil cache
// remembers nothing.
func (c *resultCache) put(k [sha256.Size]byte, vs []Violation) {
	if c == nil {
		return
	}
	cost := int64(sha256.Size) + int64(cap(vs))*int64(unsafe.Sizeof(Violation{}))
	for _, v := range vs {
		cost += int64(len(v.Policy) + len(v.Action) + len(v.Msg) + len(v.Container) + len(v.Platform))
	}
	c.entries.Add(k, vs, cost)
}

// writeCanonical writes v so that two values write the same bytes only when
// they are equal: every value starts with its type, every string and
// collection with its length, and objects and sets in sorted order (OPA's
// Foreach). Numbers are written as they are spelt, so 1 and 1.0 differ:
// that costs a miss, never a wrong hit.
func writeCanonical(w *bufio.Writer, v ast.Value) {
	switch x := v.(type) {
	case ast.Null:
		_ = w.WriteByte('n')
	case ast.Boolean:
		if x {
			_ = w.WriteByte('t')
		} else {
			_ = w.WriteByte('f')
		}
	case ast.Number:
		writeText(w, 'd', string(x))
	case ast.String:
		writeText(w, 's', string(x))
	case *ast.Array:
		writeLength(w, 'a', x.Len())
		for i := range x.Len() {
			writeCanonical(w, x.Elem(i).Value)
		}
	case ast.Object:
		writeLength(w, 'o', x.Len())
		x.Foreach(func(k, v *ast.Term) {
			writeCanonical(w, k.Value)
			writeCanonical(w, v.Value)
		})
	case ast.Set:
		writeLength(w, 'S', x.Len())
		x.Foreach(func(e *ast.Term) { writeCanonical(w, e.Value) })
	default:
		// Not in an input Go builds; its text is OPA's canonical form.
		writeText(w, 'x', v.String())
	}
}

// writeText writes a tag, a length and the text: written without closures,
// which would escape with the buffer for every value of every key.
func writeText(w *bufio.Writer, tag byte, s string) {
	writeLength(w, tag, len(s))
	_, _ = w.WriteString(s)
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
