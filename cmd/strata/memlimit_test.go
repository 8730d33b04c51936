package main

import "testing"

func TestSoftMemoryLimitIsNinetyPercentOfTheContainersLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		env    map[string]string
		want   int64
		wantOK bool
	}{
		{"the chart's 256 MiB limit", map[string]string{memoryLimitEnv: "268435456"}, 241591911, true},
		{"GOMEMLIMIT set by the operator wins", map[string]string{memoryLimitEnv: "268435456", "GOMEMLIMIT": "200MiB"}, 0, false},
		{"no limit", map[string]string{}, 0, false},
		{"not a number", map[string]string{memoryLimitEnv: "256Mi"}, 0, false},
		{"zero", map[string]string{memoryLimitEnv: "0"}, 0, false},
	} {
		got, ok := softMemoryLimit(func(k string) string { return tc.env[k] })
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("%s: softMemoryLimit(%v) = %d, %v, want %d, %v", tc.name, tc.env, got, ok, tc.want, tc.wantOK)
		}
	}
}
