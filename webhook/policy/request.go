package policy

import (
	"bufio"
	"crypto/sha256"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Request is what the admission request says about itself.
type Request struct {
	Operation string
	DryRun    bool
	Namespace string
	User      string
	// Mode is the mode the request is decided in. It is not policy input:
	// the pipeline reads it where the mode changes which facts are acceptable
	// (enforce never rests on a tag resolution past its TTL).
	Mode Action
}

// Value is a policy input value, built outside the engine (by
// webhook/input), so that the engine knows nothing of images, lineage or
// workloads.
type Value = ast.Value

// Input is what Evaluate takes: the input value, and the parts of it that
// were built once for many evaluations.
type Input struct {
	value Value
	parts []NamedPart
	// object, when set, builds the value from parts and from the terms its
	// rest returns, the first time the value is needed: a result cached
	// under a key that reads only parts is found without building the rest.
	object *lazyObject
}

// NamedPart is a part and the top-level key of the input object that holds
// it.
type NamedPart struct {
	Key  string
	Part Part
}

type lazyObject struct {
	rest  func() [][2]*ast.Term
	built Value
	// inline holds the parts of an input of a few (strata's have three),
	// so that they are allocated with the object, not on their own.
	inline [3]NamedPart
}

// InputOf is an input with no shared parts.
func InputOf(v Value) Input { return Input{value: v} }

// ObjectOf is an input object whose values are parts, and the key-value
// pairs rest returns, which must name no part's key. rest is called at most
// once, when the whole value is needed: the result cache keys on the parts'
// digests alone when the policies read nothing else, and a hit then builds
// nothing.
func ObjectOf(rest func() [][2]*ast.Term, parts ...NamedPart) Input {
	o := &lazyObject{rest: rest}
	return Input{object: o, parts: append(o.inline[:0:len(o.inline)], parts...)}
}

// Value is the input value.
func (in Input) Value() Value {
	if in.object == nil {
		return in.value
	}
	if in.object.built == nil {
		items := in.object.rest()
		for _, kp := range in.parts {
			items = append(items, [2]*ast.Term{ast.StringTerm(kp.Key), kp.Part.term})
		}
		in.object.built = ast.NewObject(items...)
	}
	return in.object.built
}

// WithPart notes that the input object's top-level key holds p's term, so
// that the result cache's key uses p's digest instead of hashing its value
// again. For an input of InputOf, the note is used only while the object
// holds that very term; for one of ObjectOf, p becomes the value at key, in
// a new input that builds its value anew. Inputs are values: the input
// WithPart is called on is left as it was.
func (in Input) WithPart(key string, p Part) Input {
	in.parts = append(slices.Clip(in.parts), NamedPart{Key: key, Part: p})
	if in.object != nil {
		in.object = &lazyObject{rest: in.object.rest}
	}
	return in
}

// part is the part at key of an input of ObjectOf.
func (in Input) part(key string) (Part, bool) {
	if in.object == nil {
		return Part{}, false
	}
	for _, kp := range in.parts {
		if kp.Key == key {
			return kp.Part, true
		}
	}
	return Part{}, false
}

// digestOf is the digest of the part the object holds at key as t.
func (in Input) digestOf(key string, t *ast.Term) ([sha256.Size]byte, bool) {
	for _, kp := range in.parts {
		if kp.Key == key && kp.Part.term == t {
			return kp.Part.digest, true
		}
	}
	return [sha256.Size]byte{}, false
}

// Part is a value many inputs share, such as an image's facts on one
// platform, with its canonical digest computed once. Its value must never
// be modified: OPA does not modify input, and the digest describes it.
type Part struct {
	term   *ast.Term
	digest [sha256.Size]byte
}

// NewPart computes v's digest, as the result cache would hash it.
func NewPart(v Value) Part {
	return Part{term: ast.NewTerm(v), digest: Digest(func(w *bufio.Writer) { writeCanonical(w, v) })}
}

// Term is the part as an object's value.
func (p Part) Term() *ast.Term { return p.term }
