// Package goldentest compares what a test produced with a golden file, or
// rewrites the file under the test's update flag. The checks beside each
// call must be written independently of the files, so that regenerating
// cannot bless a wrong answer.
package goldentest

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

// Files are the golden files one update flag rewrites.
type Files struct {
	flag   string
	update *bool
}

// Flag registers the test flag -name, which rewrites the golden files
// usage names, and returns those files. Call it once, at package level.
func Flag(name, usage string) *Files {
	return &Files{flag: name, update: flag.Bool(name, false, usage)}
}

// Check compares got with the file at path, or rewrites the file from got
// when the flag is set.
func (f *Files) Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *f.update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v (go test -run %s -%s writes it)", path, err, t.Name(), f.flag)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the test produced now:\n%s\n(go test -%s rewrites it; review the diff)", path, got, f.flag)
	}
}
