package manifest

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitDocuments(t *testing.T) {
	t.Parallel()
	type doc struct {
		line  int
		first string // the document's first line with content
	}
	for _, tc := range []struct {
		name    string
		in      string
		want    []doc
		wantErr string
	}{
		{"one", "apiVersion: v1\nkind: Pod\n", []doc{{1, "apiVersion: v1"}}, ""},
		{"leading separator and comments", "# header\n---\n\n# about a\na: 1\n", []doc{{5, "a: 1"}}, ""},
		{"comment-only documents are left out", "a: 1\n---\n# nothing\n---\nb: 2\n", []doc{{1, "a: 1"}, {5, "b: 2"}}, ""},
		{"separator with a comment", "a: 1\n--- # next\nb: 2\n", []doc{{1, "a: 1"}, {3, "b: 2"}}, ""},
		{"separator with a comment and no space", "a: 1\n---#x: y\nb: 2\n", []doc{{1, "a: 1"}, {3, "b: 2"}}, ""},
		{"separators one after another", "a: 1\n---\n---\n\nb: 2\n", []doc{{1, "a: 1"}, {5, "b: 2"}}, ""},
		{"not a separator", "a: |\n  ---\n  b\n", []doc{{1, "a: |"}}, ""},
		{"content on the separator line", "a: 1\n--- {b: 2}\n", nil, "line 2: invalid Yaml document separator: {b: 2}"},
		{"a key after the separator", "a: |\n  ---\n---x: 2\n", nil, "line 3: invalid Yaml document separator: x: 2"},
		{"document end", "a: 1\n...\n---\nb: 2\n", []doc{{1, "a: 1"}, {4, "b: 2"}}, ""},
		{"CRLF and a byte order mark", "\ufeffa: 1\r\n---\r\nb: 2\r\n", []doc{{1, "a: 1"}, {3, "b: 2"}}, ""},
		{"UTF-16 LE", "\xff\xfea\x00:\x00 \x001\x00\n\x00-\x00-\x00-\x00\n\x00b\x00:\x00 \x002\x00", []doc{{1, "a: 1"}, {3, "b: 2"}}, ""},
		{"no newline at the end", "a: 1\n---\nb: 2", []doc{{1, "a: 1"}, {3, "b: 2"}}, ""},
		{"JSON", "\n{\n  \"kind\": \"Pod\"\n}\n", []doc{{2, "{"}}, ""},
		{"empty", "", nil, ""},
	} {
		docs, err := splitDocuments([]byte(tc.in))
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%s: splitDocuments(%q) = %v, want the error %q", tc.name, tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: splitDocuments(%q): %v", tc.name, tc.in, err)
			continue
		}
		var got []doc
		for i, d := range docs {
			if d.index != i+1 {
				t.Errorf("%s: splitDocuments(%q) document %d has index %d", tc.name, tc.in, i+1, d.index)
			}
			var first string
			for l := range strings.Lines(string(d.text)) {
				if hasContent([]byte(l)) && !isSeparator([]byte(l)) {
					first = strings.TrimRight(l, "\r\n")
					break
				}
			}
			got = append(got, doc{d.line, first})
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: splitDocuments(%q) = %v, want %v", tc.name, tc.in, got, tc.want)
		}
	}
}
