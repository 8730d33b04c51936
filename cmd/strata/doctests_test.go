package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A document that says which test asserts a statement must name a test
// that exists: a renamed or moved test otherwise leaves the statement
// pointing at nothing (docs/security.md named six tests that had moved to
// webhook/manifest under other names). A subtest it names (TestX/Row) must
// be a literal name in the file that defines TestX, so that a row of a
// table test cannot be renamed from under a document either.
func TestDocumentsNameOnlyTestsThatExist(t *testing.T) {
	t.Chdir("../..")
	defined := map[string]string{} // test name: the source that defines it
	funcName := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)\w+)\(`)
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "tools") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range funcName.FindAllStringSubmatch(string(src), -1) {
			defined[m[1]] = string(src)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{"README.md", "charts/strata/README.md"}
	for _, pattern := range []string{"docs/*.md", "test/bench/*.md"} {
		more, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, more...)
	}
	named := regexp.MustCompile("`((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]+)(?:/([^`/]*)[^`]*)?`")
	var checked int
	for _, doc := range docs {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range named.FindAllStringSubmatch(string(raw), -1) {
			checked++
			src, ok := defined[m[1]]
			if !ok {
				t.Errorf("%s names %s, which no _test.go file defines", doc, m[1])
				continue
			}
			// go test writes a subtest's spaces as underscores.
			if row := m[2]; row != "" && !strings.Contains(src, `"`+row+`"`) && !strings.Contains(src, `"`+strings.ReplaceAll(row, "_", " ")+`"`) {
				t.Errorf("%s names %s/%s, and the file that defines %s names no subtest %q", doc, m[1], row, m[1], row)
			}
		}
	}
	if checked < 100 {
		t.Errorf("found %d test names in the documents, want the hundreds they name: is the pattern still right?", checked)
	}
}
