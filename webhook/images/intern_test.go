package images

import (
	"encoding/json"
	"maps"
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// Facts share lists by content only: equal lists are one allocation, a
// list that differs by one element is its own, and the list a fact holds
// is the one it was built from, element for element.
func TestSharedListsAreSharedOnlyWhenEqual(t *testing.T) {
	a := sharedDigests.share([]Digest{{1}, {2}, {3}})
	b := sharedDigests.share([]Digest{{1}, {2}, {3}})
	c := sharedDigests.share([]Digest{{1}, {2}, {4}})
	d := sharedDigests.share([]Digest{{1}, {2}})
	if unsafe.SliceData(a) != unsafe.SliceData(b) {
		t.Errorf("share of two equal lists = two allocations, want one")
	}
	for _, other := range [][]Digest{c, d} {
		if unsafe.SliceData(a) == unsafe.SliceData(other) {
			t.Errorf("share(%v) = the list of %v, want a list of its own", other, a)
		}
	}
	if c[2] != (Digest{4}) || len(d) != 2 || len(a) != 3 {
		t.Errorf("share returned %v, %v, %v; want the lists it was given", a, c, d)
	}
	// A shared list is full: appending to it copies, never writes into
	// another fact's list.
	if cap(a) != len(a) {
		t.Errorf("cap(shared list) = %d, want its length %d", cap(a), len(a))
	}
	runtime.KeepAlive(b)
}

// The tables hold lists weakly: once no fact holds a list, the table
// forgets it, so distinct images sent by tenants leave nothing behind once
// the caches have evicted them.
func TestSharedListsAreForgottenWithTheirFacts(t *testing.T) {
	table := newSharedTable[History]()
	for i := range 1000 {
		table.share([]History{{CreatedBy: "RUN make " + string(rune('a'+i%26)) + time.Duration(i).String()}})
	}
	deadline := time.Now().Add(time.Minute)
	for table.size() > 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := table.size(); n > 0 {
		t.Errorf("a table of 1,000 lists that nothing holds still has %d a minute later, want none", n)
	}
}

// Labels and annotations held as sorted pairs read as the map they came
// from, and are written to JSON as it would be.
func TestStringsReadAndWriteAsTheirMap(t *testing.T) {
	m := map[string]string{"org.opencontainers.image.version": "1.4", "a": "", "team": "shop", "z": "last"}
	s := StringsOf(m)
	if s.Len() != len(m) {
		t.Errorf("StringsOf(%v).Len() = %d, want %d", m, s.Len(), len(m))
	}
	for k, v := range m {
		if got := s.Get(k); got != v {
			t.Errorf("Get(%q) = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"", "b", "zz", "org"} {
		if got := s.Get(k); got != "" {
			t.Errorf("Get(%q) = %q, want \"\" (no such key)", k, got)
		}
	}
	if !maps.Equal(s.Map(), m) {
		t.Errorf("Map() = %v, want %v", s.Map(), m)
	}
	got, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(m)
	if string(got) != string(want) {
		t.Errorf("json.Marshal(Strings) = %s, want the map's %s", got, want)
	}
	var back Strings
	if err := json.Unmarshal(got, &back); err != nil || !maps.Equal(back.Map(), m) {
		t.Errorf("json.Unmarshal(%s) = %v, %v; want %v", got, back.Map(), err, m)
	}
	if StringsOf(nil) != nil || StringsOf(map[string]string{}).Len() != 0 {
		t.Errorf("StringsOf of no labels = %v, want nil", StringsOf(nil))
	}
}
