package testutil

import (
	"os"
	"strings"
	"testing"
)

// DocSection is the text of the Markdown document at path after the line
// that starts with heading, up to the next "## " heading. A document
// without the heading fails the test.
func DocSection(t testing.TB, path, heading string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n"+heading)
	if !ok {
		t.Fatalf("%s has no section %q", path, heading)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	return section
}

// DocTable is the first table under heading in the Markdown document at
// path: one row a line, its cells trimmed, the header and separator rows
// included. Tests read a document's table with it to tie what the document
// states to what the code does; a document without the heading or the
// table fails the test.
func DocTable(t testing.TB, path, heading string) [][]string {
	t.Helper()
	section := DocSection(t, path, heading)
	var rows [][]string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			if len(rows) > 0 {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: section %q has no table", path, heading)
	}
	return rows
}
