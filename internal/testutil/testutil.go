// Package testutil holds the test helpers that packages on both sides of
// webhook/internal's boundary (cmd/strata and webhook/...) share.
package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteFile writes content to dir/name and returns the path.
func WriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ReadFile is the content of the file at path; a file that cannot be read
// fails the test.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// DocProse is the Markdown document at path with each run of whitespace
// made one space, so that a test finds a phrase wherever the prose wraps
// it.
func DocProse(t testing.TB, path string) string {
	t.Helper()
	return strings.Join(strings.Fields(string(ReadFile(t, path))), " ")
}

// SourceFiles are the non-test Go files of the package in the working
// directory, by name; none fails the test.
func SourceFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatal("no Go source file in the package's directory")
	}
	return out
}
