package policy

import (
	"strings"
	"testing"
)

// README.md: strata "reloads once a change has held for two polls in a row
// (at most 5 polls later for files that keep changing)". A change written
// once is reloaded by the second poll that sees it, not the first; a file
// rewritten before every poll is reloaded by the sixth poll that sees it
// changed (5 polls after the first), not before.
func TestPolicyReloadWaitsForTwoEqualPollsOrFivePollsOfChange(t *testing.T) {
	t.Parallel()
	dir := policyDir(t, map[string]string{"no_root.rego": rootPolicy, "data.json": `{"label": "team"}`})
	e := newEngine(t, Options{Paths: []string{dir}})
	w := newWatcher(e)
	gen := e.Status().Generation

	writeFiles(t, dir, map[string]string{"data.json": `{"label": "changed once"}`})
	w.poll(t.Context())
	if g := e.Status().Generation; g != gen {
		t.Fatalf("the first poll that sees a change reached generation %d, want %d: a change is reloaded once it held for two polls", g, gen)
	}
	w.poll(t.Context())
	if g := e.Status().Generation; g != gen+1 {
		t.Fatalf("the second poll of an unchanged change reached generation %d, want %d", g, gen+1)
	}

	gen++
	for i := range 6 {
		writeFiles(t, dir, map[string]string{"data.json": `{"label": "v` + strings.Repeat("x", i) + `"}`})
		w.poll(t.Context())
		want := gen
		if i == 5 {
			want = gen + 1
		}
		if g := e.Status().Generation; g != want {
			t.Fatalf("poll %d of a file changing before every poll reached generation %d, want %d (reloaded 5 polls after the first that saw it)", i+1, g, want)
		}
	}
}
