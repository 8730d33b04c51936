package testutil

import (
	"strings"
	"testing"
)

// DocHoldsPhrases fails t for each phrase the Markdown document at path
// does not hold (its whitespace made single spaces, as DocProse), so that a
// test's checks and the sentences they check are changed together.
func DocHoldsPhrases(t testing.TB, path string, phrases ...string) {
	t.Helper()
	prose := DocProse(t, path)
	for _, p := range phrases {
		if !strings.Contains(prose, p) {
			t.Errorf("%s does not say %q, which the test asserts", path, p)
		}
	}
}
