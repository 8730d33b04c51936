// Package lru is the least-recently-used map every cache of strata is built
// on: bounded by the bytes its entries are estimated to hold, so that what
// tenants send (large configs, floods of distinct references) costs what it
// weighs, and evicting one entry at a time, so that a working set larger
// than the cache stays useful.
package lru

import (
	"container/list"
	"sync"
)

// EntryOverhead is what one entry costs beyond the cost its caller gives:
// the list element, the entry and its share of the map, measured with
// runtime.ReadMemStats for small keys (webhook/images' memory tests).
const EntryOverhead = 160

// Cache is a least-recently-used map bounded in entries and in bytes. It is
// safe for concurrent use.
type Cache[K comparable, V any] struct {
	mu         sync.Mutex
	maxEntries int
	maxBytes   int64
	bytes      int64
	order      *list.List // front is most recent
	items      map[K]*list.Element
}

type entry[K comparable, V any] struct {
	key  K
	val  V
	cost int64
}

// New returns a cache of at most maxEntries entries (0: no bound but bytes)
// costing at most maxBytes together.
func New[K comparable, V any](maxEntries int, maxBytes int64) *Cache[K, V] {
	return &Cache[K, V]{maxEntries: maxEntries, maxBytes: maxBytes, order: list.New(), items: make(map[K]*list.Element)}
}

// Get returns k's value and marks it most recently used.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry[K, V]).val, true
}

// Add stores v under k at cost bytes (EntryOverhead is added) and evicts
// the least recently used entries until the bounds hold again. A value
// that alone exceeds the byte bound is not stored, and replaces nothing
// but k's old value: it would evict everything else and still not fit.
func (c *Cache[K, V]) Add(k K, v V, cost int64) {
	cost += EntryOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	if cost > c.maxBytes {
		if el, ok := c.items[k]; ok {
			c.removeElement(el)
		}
		return
	}
	if el, ok := c.items[k]; ok {
		e := el.Value.(*entry[K, V])
		c.bytes += cost - e.cost
		e.val, e.cost = v, cost
		c.order.MoveToFront(el)
	} else {
		c.items[k] = c.order.PushFront(&entry[K, V]{key: k, val: v, cost: cost})
		c.bytes += cost
	}
	for c.order.Len() > 1 && ((c.maxEntries > 0 && c.order.Len() > c.maxEntries) || c.bytes > c.maxBytes) {
		c.removeElement(c.order.Back())
	}
}

// Resize changes k's cost to cost bytes (EntryOverhead is added) while k
// still holds a value for which same is true, and evicts as Add does; it
// does not mark k as used. For values that come to hold more than they did
// when they were added.
func (c *Cache[K, V]) Resize(k K, cost int64, same func(V) bool) {
	cost += EntryOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok || !same(el.Value.(*entry[K, V]).val) {
		return
	}
	if cost > c.maxBytes {
		c.removeElement(el)
		return
	}
	e := el.Value.(*entry[K, V])
	c.bytes += cost - e.cost
	e.cost = cost
	for c.order.Len() > 1 && c.bytes > c.maxBytes {
		c.removeElement(c.order.Back())
	}
}

// Remove forgets k.
func (c *Cache[K, V]) Remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.removeElement(el)
	}
}

func (c *Cache[K, V]) removeElement(el *list.Element) {
	e := c.order.Remove(el).(*entry[K, V])
	delete(c.items, e.key)
	c.bytes -= e.cost
}

// Len is the number of entries.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// Bytes is the estimated cost of the entries held.
func (c *Cache[K, V]) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}
