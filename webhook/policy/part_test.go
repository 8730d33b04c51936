package policy

import (
	"bufio"
	"crypto/sha256"
	"strings"
	"testing"

	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestPartDigestKeysOnlyItsOwnTerm: a part's digest stands for its value in
// the result key only where the input holds that very term. Noted for
// another key, or for an object that holds another term there, it is not
// used, so that a part can never give one input the key of another.
func TestPartDigestKeysOnlyItsOwnTerm(t *testing.T) {
	t.Parallel()
	keys := []string{"container", "image"}
	c := newResultCache(1<<20, keys)
	image := ast.MustParseTerm(`{"ref": "a", "config": {"user": {"uid": 0}}}`).Value
	other := ast.MustParseTerm(`{"ref": "b", "config": {"user": {"uid": 1000}}}`).Value
	p := NewPart(image)
	withPart := ast.NewObject([2]*ast.Term{ast.StringTerm("container"), ast.StringTerm("web")}, [2]*ast.Term{ast.StringTerm("image"), p.Term()})
	holdsOther := ast.NewObject([2]*ast.Term{ast.StringTerm("container"), ast.StringTerm("web")}, [2]*ast.Term{ast.StringTerm("image"), ast.NewTerm(other)})

	if c.key(InputOf(withPart).WithPart("image", p)) == c.key(InputOf(holdsOther).WithPart("image", p)) {
		t.Error("an input holding another image, noted with the part, has the part's key")
	}
	if c.key(InputOf(holdsOther).WithPart("image", p)) != c.key(InputOf(holdsOther)) {
		t.Error("a part noted for a term the input does not hold changed its key")
	}
	if c.key(InputOf(withPart).WithPart("container", p)) != c.key(InputOf(withPart)) {
		t.Error("a part noted under a key whose term it is not changed the key")
	}
	again := NewPart(image)
	rebuilt := ast.NewObject([2]*ast.Term{ast.StringTerm("container"), ast.StringTerm("web")}, [2]*ast.Term{ast.StringTerm("image"), again.Term()})
	if c.key(InputOf(withPart).WithPart("image", p)) != c.key(InputOf(rebuilt).WithPart("image", again)) {
		t.Error("two parts of one value give two keys")
	}
	for _, whole := range []*resultCache{newResultCache(1<<20, nil)} {
		if whole.key(InputOf(withPart).WithPart("image", p)) == whole.key(InputOf(holdsOther).WithPart("image", p)) {
			t.Error("keyed on the whole input, an input holding another image has the part's key")
		}
	}
}

// TestEvaluatingAPartGivesTheVerdictOfItsValue: the same policies answer the
// same for an input whose image is a part as for the one built in full,
// first from evaluation and then from the result cache.
func TestEvaluatingAPartGivesTheVerdictOfItsValue(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{Builtins: fstest.MapFS{"no_root.rego": {Data: []byte(rootPolicy)}}})
	full := mustInput(t, rootInput).(ast.Object)
	p := NewPart(full.Get(ast.StringTerm("image")).Value)
	shared := full.Copy()
	shared.Insert(ast.StringTerm("image"), p.Term())
	want := e.Evaluate(t.Context(), "web", "linux/amd64", InputOf(full))
	if len(want) == 0 {
		t.Fatal("the root input violates nothing; the test needs a violation")
	}
	for round := range 2 {
		got := e.Evaluate(t.Context(), "web", "linux/amd64", InputOf(shared).WithPart("image", p))
		if len(got) != len(want) || got[0] != want[0] {
			t.Errorf("round %d: Evaluate(part) = %v, want %v", round, got, want)
		}
	}
}

// TestAnObjectOfPartsIsKeyedAsItsBuiltValue: the key of an input of
// ObjectOf, written from its parts before anything is built, is the key of
// the object it builds, so that a result cached either way serves the
// other; and a policy that reads a value that is not a part builds it.
func TestAnObjectOfPartsIsKeyedAsItsBuiltValue(t *testing.T) {
	t.Parallel()
	container := NewPart(ast.MustParseTerm(`{"name": "web"}`).Value)
	image := NewPart(ast.MustParseTerm(`{"platform": "linux/amd64", "config": {"user": {"uid": 0}}}`).Value)
	builds := 0
	objectOf := func() Input {
		return ObjectOf(func() [][2]*ast.Term {
			builds++
			return [][2]*ast.Term{{ast.StringTerm("workload"), ast.MustParseTerm(`{"labels": {"team": "shop"}}`)}}
		}).WithPart("container", container).WithPart("image", image)
	}
	for _, keys := range [][]string{{"container", "image"}, {"image"}, {"container", "image", "workload"}, nil} {
		c := newResultCache(1<<20, keys)
		builds = 0
		lazy := objectOf()
		fromParts := c.key(lazy)
		readsRest := keys == nil || len(keys) == 3
		if wantBuilds := map[bool]int{true: 1, false: 0}[readsRest]; builds != wantBuilds {
			t.Errorf("keys %v: the key built the rest %d times, want %d", keys, builds, wantBuilds)
		}
		built := lazy.Value().(ast.Object)
		if c.key(lazy) != fromParts {
			t.Errorf("keys %v: the key changed once the value was built", keys)
		}
		// The same object, built by hand with the same parts, noted.
		byHand := InputOf(built.Copy()).WithPart("container", container).WithPart("image", image)
		byHand.value.(ast.Object).Insert(ast.StringTerm("container"), container.Term())
		byHand.value.(ast.Object).Insert(ast.StringTerm("image"), image.Term())
		if c.key(byHand) != fromParts {
			t.Errorf("keys %v: the key of the parts is not the key of the object holding them", keys)
		}
		for _, key := range []string{"container", "image"} {
			if built.Get(ast.StringTerm(key)) != map[string]Part{"container": container, "image": image}[key].Term() {
				t.Errorf("keys %v: the built object's %s is not the part's term", keys, key)
			}
		}
	}
}

// TestACachedResultBuildsNothing: the second evaluation of an input whose
// policies read only parts is answered from the cache without building the
// rest of the input; the first builds it, once, for the evaluation.
func TestACachedResultBuildsNothing(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{Builtins: fstest.MapFS{"no_root.rego": {Data: []byte(rootPolicy)}}})
	full := mustInput(t, rootInput).(ast.Object)
	container, image := NewPart(full.Get(ast.StringTerm("container")).Value), NewPart(full.Get(ast.StringTerm("image")).Value)
	want := e.Evaluate(t.Context(), "web", "linux/amd64", InputOf(full))
	if len(want) == 0 {
		t.Fatal("the root input violates nothing; the test needs a violation")
	}
	for round, wantBuilds := range []int{1, 0} {
		builds := 0
		in := ObjectOf(func() [][2]*ast.Term {
			builds++
			return [][2]*ast.Term{{ast.StringTerm("workload"), full.Get(ast.StringTerm("workload"))}}
		}).WithPart("container", container).WithPart("image", image)
		got := e.Evaluate(t.Context(), "web", "linux/amd64", in)
		if len(got) != len(want) || got[0] != want[0] {
			t.Errorf("round %d: Evaluate(ObjectOf) = %v, want %v", round, got, want)
		}
		if builds != wantBuilds {
			t.Errorf("round %d: the rest of the input was built %d times, want %d", round, builds, wantBuilds)
		}
	}
}

// TestWithPartLeavesTheInputItWasCalledOn: inputs are values. Two inputs
// made from one by WithPart each hold their own part, in their keys and
// in their built values, and the one they were made from is unchanged.
func TestWithPartLeavesTheInputItWasCalledOn(t *testing.T) {
	t.Parallel()
	c := newResultCache(1<<20, []string{"container", "image"})
	container := NewPart(ast.MustParseTerm(`{"name": "web"}`).Value)
	root := NewPart(ast.MustParseTerm(`{"config": {"user": {"uid": 0}}}`).Value)
	app := NewPart(ast.MustParseTerm(`{"config": {"user": {"uid": 1000}}}`).Value)
	base := ObjectOf(func() [][2]*ast.Term { return nil }, NamedPart{Key: "container", Part: container})
	a, b := base.WithPart("image", root), base.WithPart("image", app)
	if c.key(a) == c.key(b) {
		t.Error("two inputs made from one, with other images, have one key")
	}
	for _, tc := range []struct {
		in   Input
		want Part
	}{{a, root}, {b, app}} {
		if got := tc.in.Value().(ast.Object).Get(ast.StringTerm("image")); got != tc.want.Term() {
			t.Errorf("the built input holds image %v, want %v", got, tc.want.Term())
		}
	}
	if got := base.Value().(ast.Object).Get(ast.StringTerm("image")); got != nil {
		t.Errorf("the input WithPart was called on holds image %v, want none", got)
	}
}

// A digest written into a key is its 32 bytes, wherever the key's buffer
// stands: empty, nearly full (the digest crosses a flush) or full.
func TestWriteDigestWritesItsBytesAcrossTheBuffer(t *testing.T) {
	t.Parallel()
	d := sha256.Sum256([]byte("a digest"))
	for _, before := range []int{0, 1, 4096 - 33, 4096 - 32, 4096 - 31, 4096 - 1, 4096, 4096*2 + 7} {
		lead := strings.Repeat("x", before)
		got := Digest(func(w *bufio.Writer) {
			_, _ = w.WriteString(lead)
			WriteDigest(w, d)
			_, _ = w.WriteString("after")
		})
		if want := sha256.Sum256([]byte(lead + string(d[:]) + "after")); got != want {
			t.Errorf("after %d bytes: the key's digest differs from the SHA-256 of the bytes written", before)
		}
	}
}
