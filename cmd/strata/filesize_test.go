package main

import (
	"bytes"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// cmd/strata keeps flags and wiring only (issue 15): what grows past a
// screenful belongs in a package of webhook/, where it has tests of its own.
func TestNoCommandFileIsOverTwoHundredLines(t *testing.T) {
	t.Parallel()
	for _, f := range testutil.SourceFiles(t) {
		if n := bytes.Count(testutil.ReadFile(t, f), []byte("\n")); n > 200 {
			t.Errorf("cmd/strata/%s has %d lines; keep flags and wiring here and move the rest into a package", f, n)
		}
	}
}
