package lru

import "testing"

func TestEvictsLeastRecentlyUsedByBytes(t *testing.T) {
	c := New[string, int](0, 3*(EntryOverhead+100))
	for _, k := range []string{"a", "b", "c"} {
		c.Add(k, 1, 100)
	}
	c.Get("a") // b is now the least recently used
	c.Add("d", 1, 100)
	if _, ok := c.Get("b"); ok {
		t.Error("Get(b) after adding d to a full cache = found, want b evicted as the least recently used")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("Get(%s) = missing, want it kept: one eviction makes room", k)
		}
	}
	if got, want := c.Bytes(), int64(3*(EntryOverhead+100)); got != want {
		t.Errorf("Bytes() = %d, want %d", got, want)
	}
}

func TestEntryLargerThanTheCacheIsNotStored(t *testing.T) {
	c := New[string, int](0, 1000)
	c.Add("small", 1, 10)
	c.Add("small", 2, 5000) // a new value too large replaces nothing but the old one
	c.Add("huge", 1, 5000)
	if c.Len() != 0 {
		t.Errorf("Len() after adding entries larger than the cache = %d, want 0", c.Len())
	}
	c.Add("small", 3, 10)
	if v, ok := c.Get("small"); !ok || v != 3 {
		t.Errorf("Get(small) = %d, %v, want 3, true", v, ok)
	}
}

func TestMaxEntries(t *testing.T) {
	c := New[int, int](2, 1<<30)
	for i := range 5 {
		c.Add(i, i, 0)
	}
	if c.Len() != 2 {
		t.Errorf("Len() = %d, want the 2-entry bound", c.Len())
	}
}

func TestResizeGrowsAnEntryAndEvictsOthers(t *testing.T) {
	c := New[string, int](0, 3*(EntryOverhead+100))
	for _, k := range []string{"a", "b", "c"} {
		c.Add(k, 1, 100)
	}
	c.Resize("c", 100, func(v int) bool { return v == 2 }) // c holds 1: not the value meant
	if got, want := c.Bytes(), int64(3*(EntryOverhead+100)); got != want {
		t.Errorf("Bytes() after resizing a replaced value = %d, want %d (unchanged)", got, want)
	}
	c.Resize("c", 200, func(v int) bool { return v == 1 })
	if _, ok := c.Get("a"); ok {
		t.Error("Get(a) after c grew past the bound = found, want the least recently used evicted")
	}
	if _, ok := c.Get("c"); !ok {
		t.Error("Get(c) after it grew = missing, want it kept")
	}
	c.Resize("c", 1<<20, func(int) bool { return true })
	if _, ok := c.Get("c"); ok {
		t.Error("Get(c) after it grew past the whole cache = found, want it removed")
	}
	c.Resize("gone", 10, func(int) bool { return true })
	if _, ok := c.Get("gone"); ok {
		t.Error("Resize of a missing key stored it, want nothing added")
	}
}
