package testutil

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// Thousands writes n as the documents do, with commas between groups of
// three digits: 1,024 and 50,000.
func Thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// DocStates fails the test for each statement the Markdown document at
// path does not make, wherever its prose wraps it: the statements a test
// asserts (often built from the code's constants), so that a changed
// bound, or a document that says another, fails, and the checks and the
// sentences they check change together.
func DocStates(t testing.TB, path string, statements ...string) {
	t.Helper()
	prose := DocProse(t, path)
	for _, s := range statements {
		if !strings.Contains(prose, s) {
			t.Errorf("%s does not say %q, which the test asserts the code does", path, s)
		}
	}
}

// DocMatch is pattern's first match in the prose of the Markdown document
// at path, with its groups; none fails the test, since the test can then
// check nothing.
func DocMatch(t testing.TB, path, pattern string) []string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(DocProse(t, path))
	if m == nil {
		t.Fatalf("%s no longer says what matches %s: has the sentence changed?", path, pattern)
	}
	return m
}
