// Package uniq keeps lists in first-seen order without repeats: the
// sources, names and platforms lineage and the graph list are small, and
// their order is what a reader sees.
package uniq

import "slices"

// Append appends to list each item it does not hold yet, in order.
func Append[T comparable](list []T, items ...T) []T {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}
