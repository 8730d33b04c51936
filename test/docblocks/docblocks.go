// Package docblocks reads the yaml examples of the documents that say what
// they are, so that a test loads each as strata or helm would.
package docblocks

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// Block is one yaml example of a document.
type Block struct {
	File string // the document's path
	Text string // the example, its marker line left out
}

// Marked returns the ```yaml blocks of root/docs/*.md whose first line is
// the comment "# " + name (strata.yaml, values.yaml), in document order.
// The blocks may be indented, as in a list item.
func Marked(root, name string) ([]Block, error) {
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	block := regexp.MustCompile("(?m)^ *```yaml\n *# " + regexp.QuoteMeta(name) + "[^\n]*\n((?:.*\n)*?) *```")
	var out []Block
	for _, doc := range docs {
		raw, err := os.ReadFile(doc)
		if err != nil {
			return nil, err
		}
		for _, m := range block.FindAllStringSubmatch(string(raw), -1) {
			out = append(out, Block{File: doc, Text: m[1]})
		}
	}
	return out, nil
}

// AtLeast is Marked for a test: it fails t when the documents cannot be read,
// and when they hold fewer than want such blocks, which means the pattern
// no longer finds the examples the documents hold.
func AtLeast(t testing.TB, root, name string, want int) []Block {
	t.Helper()
	blocks, err := Marked(root, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < want {
		t.Errorf("found %d %s examples in docs/, want the %d or more they hold: is the pattern still right?", len(blocks), name, want)
	}
	return blocks
}
