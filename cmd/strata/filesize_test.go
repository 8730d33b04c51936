package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cmd/strata keeps flags and wiring only (issue 15): what grows past a
// screenful belongs in a package of webhook/, where it has tests of its own.
func TestNoCommandFileIsOverTwoHundredLines(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("the command's Go files: %v, %v", files, err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(b, []byte("\n")); n > 200 {
			t.Errorf("cmd/strata/%s has %d lines; keep flags and wiring here and move the rest into a package", f, n)
		}
	}
}
