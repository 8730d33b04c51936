package uniq

import (
	"slices"
	"testing"
)

func TestAppend(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		list, items, want []string
	}{
		{nil, nil, nil},
		{nil, []string{"a", "b", "a"}, []string{"a", "b"}},
		{[]string{"b"}, []string{"a", "b", "c"}, []string{"b", "a", "c"}},
	} {
		if got := Append(slices.Clone(tc.list), tc.items...); !slices.Equal(got, tc.want) {
			t.Errorf("Append(%q, %q) = %q, want %q", tc.list, tc.items, got, tc.want)
		}
	}
}
