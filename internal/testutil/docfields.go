package testutil

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docField is a field name in backquotes: `a.b[].c`, or `.c` for a sibling
// of the name before it in the cell.
var docField = regexp.MustCompile("`([A-Za-z.\\[\\]]+)`")

// DocFields are the field names the first cells of the table under heading
// name (a JSON schema's table: `summary.denied`, `.warned` is
// summary.denied and summary.warned), sorted.
func DocFields(t testing.TB, path, heading string) []string {
	t.Helper()
	var names []string
	for _, cells := range DocTable(t, path, heading)[2:] {
		parent := ""
		for _, m := range docField.FindAllStringSubmatch(cells[0], -1) {
			name := m[1]
			if strings.HasPrefix(name, ".") {
				name = parent + name
			} else if i := strings.LastIndex(name, "."); i >= 0 {
				parent = name[:i]
			}
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// JSONFields are the fields of doc as a table of DocFields would name
// them: each documented path that doc holds (an array's elements as
// name[]), and each of doc's values that no documented path without
// documented fields of its own holds, by its own path. Sorted.
func JSONFields(t testing.TB, doc []byte, documented []string) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	var found []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if len(v) > 0 {
				for k, child := range v {
					walk(strings.TrimPrefix(path+"."+k, "."), child)
				}
				return
			}
		case []any:
			if len(v) > 0 {
				for _, child := range v {
					walk(path+"[]", child)
				}
				return
			}
		}
		held := false
		for p := path; p != ""; p = up(p) {
			if slices.Contains(documented, p) {
				found = append(found, p)
				// A documented path with documented fields of its own holds
				// only those: a field beside them must be documented too.
				held = held || !slices.ContainsFunc(documented, func(d string) bool {
					return strings.HasPrefix(d, p+".") || strings.HasPrefix(d, p+"[]")
				})
			}
		}
		if !held {
			found = append(found, path)
		}
	}
	walk("", v)
	slices.Sort(found)
	return slices.Compact(found)
}

// up is the path that holds path: a[].b is held by a[], a[] by a.
func up(path string) string {
	if p, ok := strings.CutSuffix(path, "[]"); ok {
		return p
	}
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[:i]
	}
	return ""
}
