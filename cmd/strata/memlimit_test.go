package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook"
)

// TestMain keeps this test process's memory limit its own: strata serve,
// run in-process by the tests, would otherwise set Go's soft limit from each
// test's cache budget (a few MiB for some) for every test at once.
// GOMEMLIMIT set, strata sets none; "off" is Go's own "no limit".
func TestMain(m *testing.M) {
	if os.Getenv("GOMEMLIMIT") == "" {
		os.Setenv("GOMEMLIMIT", "off")
	}
	os.Exit(m.Run())
}

// limitCase is an environment and a cache budget, and the limit strata
// must derive from them (0: none).
type limitCase struct {
	name       string
	env        map[string]string
	cacheBytes int64
	want       int64
	wantFrom   string
}

func checkSoftMemoryLimits(t *testing.T, cases []limitCase) {
	t.Helper()
	for _, tc := range cases {
		got, from, ok := softMemoryLimit(func(k string) string { return tc.env[k] }, tc.cacheBytes)
		if got != tc.want || from != tc.wantFrom || ok != (tc.want > 0) {
			t.Errorf("%s: softMemoryLimit(%v, %d) = %d, %q, %v; want %d, %q", tc.name, tc.env, tc.cacheBytes, got, from, ok, tc.want, tc.wantFrom)
		}
	}
}

func TestSoftMemoryLimitIsNinetyPercentOfTheContainersLimit(t *testing.T) {
	t.Parallel()
	checkSoftMemoryLimits(t, []limitCase{
		{"the chart's 256 MiB limit", map[string]string{memoryLimitEnv: "268435456"}, 0, 241591911, limitFromContainer},
		{"GOMEMLIMIT set by the operator wins", map[string]string{memoryLimitEnv: "268435456", "GOMEMLIMIT": "200MiB"}, 0, 0, ""},
		{"no limit", map[string]string{}, 0, 0, ""},
		{"not a number", map[string]string{memoryLimitEnv: "256Mi"}, 0, 0, ""},
		{"zero", map[string]string{memoryLimitEnv: "0"}, 0, 0, ""},
	})
}

// Without a container limit, strata serve bounds what it holds from the
// system by its own cache budget: the default 32 MiB gives 72 MiB, the
// figure RESULTS.md's full-size memory scenario runs with.
func TestSoftMemoryLimitWithoutAContainerLimitIsDerivedFromTheCacheBudget(t *testing.T) {
	t.Parallel()
	checkSoftMemoryLimits(t, []limitCase{
		{"the default cache budget", nil, webhook.DefaultCacheBytes, 72 << 20, limitFromCache},
		{"a 1 GiB cache budget", nil, 1 << 30, 2056 << 20, limitFromCache},
		{"the smallest cache budget", nil, 4 << 20, 64 << 20, limitFromCache},
		{"a container limit wins over the budget", map[string]string{memoryLimitEnv: "268435456"}, webhook.DefaultCacheBytes, 241591911, limitFromContainer},
		{"a container limit that is not a number leaves the budget's", map[string]string{memoryLimitEnv: "256Mi"}, webhook.DefaultCacheBytes, 72 << 20, limitFromCache},
		{"GOMEMLIMIT wins over both", map[string]string{memoryLimitEnv: "268435456", "GOMEMLIMIT": "off"}, webhook.DefaultCacheBytes, 0, ""},
	})
}

// Under the soft memory limit strata sets, the collector runs at GOGC 400
// unless the operator set GOGC; with no limit strata sets (GOMEMLIMIT given,
// or none to derive), strata leaves GOGC alone, since nothing would bound
// the heap it allows.
func TestGOGCIsFourHundredUnderStratasMemoryLimitUnlessTheOperatorSetsIt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		env        map[string]string
		cacheBytes int64
		want       memorySetting
	}{
		{"the default cache budget", nil, webhook.DefaultCacheBytes,
			memorySetting{72 << 20, limitFromCache, "400", gcPercentFromLimit}},
		{"the chart's 256 MiB limit", map[string]string{memoryLimitEnv: "268435456"}, webhook.DefaultCacheBytes,
			memorySetting{241591911, limitFromContainer, "400", gcPercentFromLimit}},
		{"the operator's GOGC wins", map[string]string{memoryLimitEnv: "268435456", "GOGC": "150"}, webhook.DefaultCacheBytes,
			memorySetting{241591911, limitFromContainer, "150", gcPercentFromOperator}},
		{"the operator's GOGC=off wins", map[string]string{"GOGC": "off"}, webhook.DefaultCacheBytes,
			memorySetting{72 << 20, limitFromCache, "off", gcPercentFromOperator}},
		{"GOMEMLIMIT leaves GOGC to the operator too", map[string]string{"GOMEMLIMIT": "200MiB"}, webhook.DefaultCacheBytes,
			memorySetting{}},
		{"no limit, no GOGC", nil, 0, memorySetting{}},
	} {
		got, ok := memorySettings(func(k string) string { return tc.env[k] }, tc.cacheBytes)
		if got != tc.want || ok != (tc.want.limit > 0) {
			t.Errorf("%s: memorySettings(%v, %d) = %+v, %v; want %+v", tc.name, tc.env, tc.cacheBytes, got, ok, tc.want)
		}
	}
}

// strata serve sets the limit and GOGC it logs. The budget is 1 TiB so
// that the limit it sets on this test process (restored after, with GOGC)
// bounds nothing.
func TestServeSetsGosSoftMemoryLimitFromItsCacheBudget(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOGC", "")
	t.Setenv(memoryLimitEnv, "")
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	gcBefore := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(gcBefore) })
	config := filepath.Join(t.TempDir(), "strata.yaml")
	if err := os.WriteFile(config, []byte("cache:\n  maxBytes: 1Ti\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := int64(2<<40 + 8<<20)
	// The log is read once serve has stopped (cleanups run last first),
	// since serve writes it until then.
	var s *served
	t.Cleanup(func() {
		if s == nil {
			return // startServe failed and said why
		}
		// The line docs/images.md names: bytes and from, gogc and gogcFrom.
		if log := s.stdout.String(); !strings.Contains(log, fmt.Sprintf(`"msg":"Go's soft memory limit","bytes":%d,"from":%q,"gogc":"400","gogcFrom":%q`, want, limitFromCache, gcPercentFromLimit)) {
			t.Errorf("strata serve did not log the limit and GOGC it set; log:\n%s", log)
		}
	})
	s = startServe(t, "--dev", "--config", config)
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Errorf("Go's soft memory limit under strata serve with cache.maxBytes 1Ti = %d, want %d", got, want)
	}
	// SetGCPercent answers the setting it replaces; it is set back at once.
	if got := debug.SetGCPercent(boundedGCPercent); got != boundedGCPercent {
		t.Errorf("GOGC under strata serve = %d, want %d", got, boundedGCPercent)
	}
}
