package images

import (
	"encoding/json"
	"hash/maphash"
	"iter"
	"maps"
	"runtime"
	"slices"
	"sort"
	"sync"
	"unique"
	"unsafe"
	"weak"
)

// A cache of thousands of images holds the same text thousands of times:
// the platform and media type of every manifest, the history steps of a
// base under every image built on it, the steps of one application under
// each of its builds, PATH, the label keys. The facts hold one copy of each
// (intern), and one copy of each list that images have in common (the
// shared tables below): the facts of 2,000 builds of one application cost
// 3,496 bytes each before, 842 after (BenchmarkFactsMemory,
// TestCachedFactsCostAtMostOneKiB).
//
// Both are weak: a copy lives while some fact holds it, so neither grows
// with what tenants send beyond what the caches hold, and the caches still
// charge every fact for all it holds (cost), as if nothing were shared.

// intern returns the one copy of s that every fact shares.
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

// internStrings returns ss with each string interned, in a list of its own
// length (a decoded JSON list has room to grow that a fact never uses).
// The environment is kept so: it often carries the build's version, and a
// list shared with no other image costs a table entry for nothing.
func internStrings(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = intern(s)
	}
	return out
}

// shareStrings is internStrings, and the list other facts already hold
// with the same strings: an entrypoint or a command is the same for every
// build of an application.
func shareStrings(ss []string) []string { return sharedStrings.share(internStrings(ss)) }

// The lists facts share by content.
var (
	sharedStrings    = newSharedTable[string]()
	sharedHistories  = newSharedTable[History]()
	sharedDigests    = newSharedTable[Digest]()
	sharedLayerSizes = newSharedTable[int64]()
)

// sharedTable holds, weakly, one list of each content it was given: equal
// lists (the diff IDs of images rebuilt with a new config, the history of
// every build of one Dockerfile) become one allocation. A list stays in the
// table while something holds it, and leaves when it is collected.
type sharedTable[T comparable] struct {
	seed maphash.Seed
	mu   sync.Mutex
	byID map[uint64][]sharedList[T]
}

type sharedList[T comparable] struct {
	first weak.Pointer[T]
	n     int
}

func newSharedTable[T comparable]() *sharedTable[T] {
	return &sharedTable[T]{seed: maphash.MakeSeed(), byID: make(map[uint64][]sharedList[T])}
}

// share returns the table's list equal to s, adding s when there is none.
// s must not be modified afterwards: it may be every fact's.
func (t *sharedTable[T]) share(s []T) []T {
	if len(s) == 0 {
		return s
	}
	var h maphash.Hash
	h.SetSeed(t.seed)
	for _, v := range s {
		maphash.WriteComparable(&h, v)
	}
	id := h.Sum64()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range t.byID[id] {
		if p := l.first.Value(); p != nil && l.n == len(s) {
			if held := unsafe.Slice(p, l.n); slices.Equal(held, s) {
				return held
			}
		}
	}
	s = s[:len(s):len(s)] // an append must copy, never write into a shared list
	t.byID[id] = append(t.byID[id], sharedList[T]{first: weak.Make(&s[0]), n: len(s)})
	runtime.AddCleanup(&s[0], t.forget, id)
	return s
}

// forget drops the lists under id that have been collected.
func (t *sharedTable[T]) forget(id uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	live := slices.DeleteFunc(t.byID[id], func(l sharedList[T]) bool { return l.first.Value() == nil })
	if len(live) == 0 {
		delete(t.byID, id)
	} else {
		t.byID[id] = live
	}
}

// size is the number of lists the table holds, collected or not yet
// forgotten.
func (t *sharedTable[T]) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, ls := range t.byID {
		n += len(ls)
	}
	return n
}

// internUser interns the strings of a parsed USER: a handful of spellings
// ("1001", "app", "") run most images.
func internUser(u User) User {
	u.Raw, u.Name, u.Group = intern(u.Raw), intern(u.Name), intern(u.Group)
	return u
}

// Strings is a small string map (an image's labels or annotations) held as
// one list of key, value, key, value, ... sorted by key: 16 bytes a string,
// where a Go map of a few entries takes a table of 8 slots and a header
// (336 bytes for 3 labels). It is read as a map is, and written as one to
// JSON.
type Strings []string

// StringsOf returns m as Strings, each key and value interned.
func StringsOf(m map[string]string) Strings {
	if len(m) == 0 {
		return nil
	}
	kv := make(Strings, 0, 2*len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kv = append(kv, intern(k), intern(m[k]))
	}
	return kv
}

// Get returns k's value, "" when there is none.
func (s Strings) Get(k string) string {
	i := sort.Search(s.Len(), func(i int) bool { return s[2*i] >= k })
	if i < s.Len() && s[2*i] == k {
		return s[2*i+1]
	}
	return ""
}

// Len is the number of keys.
func (s Strings) Len() int { return len(s) / 2 }

// All yields the pairs in key order.
func (s Strings) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for i := 0; i+1 < len(s); i += 2 {
			if !yield(s[i], s[i+1]) {
				return
			}
		}
	}
}

// Map returns the pairs as a map of their own.
func (s Strings) Map() map[string]string {
	if len(s) == 0 {
		return nil
	}
	return maps.Collect(s.All())
}

// MarshalJSON writes a JSON object, as a map would be written.
func (s Strings) MarshalJSON() ([]byte, error) { return json.Marshal(s.Map()) }

// UnmarshalJSON reads a JSON object.
func (s *Strings) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*s = StringsOf(m)
	return nil
}
