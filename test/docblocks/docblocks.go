// Package docblocks reads the yaml examples of the documents that say what
// they are, so that a test loads each as strata or helm would.
package docblocks

import (
	"os"
	"path/filepath"
	"regexp"
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
