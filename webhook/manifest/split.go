package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	goyaml "go.yaml.in/yaml/v2"
	yaml3 "go.yaml.in/yaml/v3"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
	kyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// decodeFile decodes every document of one file, and counts the objects it
// read.
func decodeFile(file string, data []byte) (out []Manifest, read int, err error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", file, err)
	}
	for _, doc := range docs {
		values, isJSON, err := documentValues(doc.text)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: document %d (line %d): %w", file, doc.index, doc.line, err)
		}
		for _, value := range values {
			decode := decodeDocument
			if isJSON {
				decode = decodeJSON
			}
			ws, n, err := decode(value)
			if err != nil {
				return nil, 0, fmt.Errorf("%s: document %d (line %d): %w", file, doc.index, doc.line, err)
			}
			read += n
			var lines map[string]int
			if len(values) == 1 {
				lines = imageLines(value, doc.start)
			}
			source := helmSource(file, doc.text)
			for _, w := range ws {
				m := Manifest{File: file, Line: doc.line, Document: doc.index, Item: w.item, Workload: w.workload, ImageLines: lines, Source: source}
				if w.workload.Namespace == "" {
					w.workload.Namespace, m.Defaulted = DefaultNamespace, true
				}
				out = append(out, m)
			}
		}
	}
	return out, read, nil
}

// errManyDocuments refuses a document of kubectl's splitting that YAML
// still reads as several: kubectl applies the first only, other YAML tools
// may apply them all, and reading one of them would let another go
// unchecked.
var errManyDocuments = errors.New("more than one YAML document without a --- line between them (kubectl reads only the first); start each document with a line of its own holding ---")

// documentValues returns every object of one document as kubectl reads it:
// text that starts with "{" is a stream of JSON objects, which may go on as
// YAML ({ConfigMap}{Pod} creates both); YAML is one object. The decoder is
// kubectl's own, so that no object it applies goes unread here. isJSON says
// the values are JSON, the decoder's, to be read as JSON: YAML does not know
// every JSON escape ("\/", a surrogate pair), and reading them as YAML
// refused what kubectl applies.
func documentValues(text []byte) (values [][]byte, isJSON bool, err error) {
	if !bytes.HasPrefix(bytes.TrimSpace(text), []byte("{")) {
		if err := oneYAMLDocument(text); err != nil {
			return nil, false, err
		}
		return [][]byte{text}, false, nil // YAML errors keep their line numbers
	}
	if err := oneYAMLDocument(afterJSON(text)); err != nil {
		return nil, false, err
	}
	d := kyaml.NewYAMLOrJSONDecoder(bytes.NewReader(text), 4096)
	for {
		var value json.RawMessage
		err := d.Decode(&value)
		if errors.Is(err, io.EOF) {
			return values, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		values = append(values, value)
	}
}

// afterJSON returns what follows the JSON objects text starts with: the
// YAML that kubectl's decoder reads once JSON stops.
func afterJSON(text []byte) []byte {
	d := json.NewDecoder(bytes.NewReader(text))
	var end int64
	for {
		var value json.RawMessage
		if d.Decode(&value) != nil {
			return text[end:]
		}
		end = d.InputOffset()
	}
}

// oneYAMLDocument refuses text that YAML reads as more than one document,
// with the parser sigs.k8s.io/yaml decodes it with: after a "..." line, or
// across lines ended by a lone CR, which YAML counts as line breaks and
// kubectl's splitter does not. Text that does not parse is left for the
// decoding to report.
func oneYAMLDocument(text []byte) error {
	d := goyaml.NewDecoder(bytes.NewReader(text))
	var first any
	if err := d.Decode(&first); err != nil {
		return nil
	}
	var second any
	if err := d.Decode(&second); !errors.Is(err, io.EOF) {
		return errManyDocuments
	}
	return nil
}

// document is one YAML document of a file.
type document struct {
	text  []byte
	start int // the file's line of text's first line
	line  int // of its first line with content
	index int // from 1
}

// splitDocuments decodes data as kubectl does (a byte order mark selects
// UTF-16 LE or BE, or is dropped from UTF-8) and splits it into documents
// with kubectl's own reader, at every line that starts with "---" and goes
// on with nothing but spaces or a comment. A line starting with "---" and
// anything else is an error, as it is to kubectl. Documents with nothing
// but comments are left out. JSON is YAML, and one document.
func splitDocuments(data []byte) ([]document, error) {
	data, _, err := transform.Bytes(unicode.BOMOverride(unicode.UTF8.NewDecoder()), data)
	if err != nil {
		return nil, fmt.Errorf("decoding its text: %w", err)
	}
	// The reader returns documents, not where they are: they are found
	// in data's lines, which it reads one at a time and gives back whole.
	// It keeps the separators it meets while its document is still empty,
	// and consumes exactly one, the one that ends a document.
	lines := bytes.SplitAfter(data, []byte("\n"))
	next := 0 // the first line of data not yet in a document
	r := kyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []document
	for pieces := 0; ; pieces++ {
		text, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if pieces > 0 {
			next++
		}
		if err != nil {
			for next < len(lines) && (!bytes.HasPrefix(lines[next], []byte("---")) || isSeparator(lines[next])) {
				next++
			}
			return nil, fmt.Errorf("line %d: %w", next+1, err)
		}
		first := next
		next += bytes.Count(text, []byte("\n"))
		for i, line := range lines[first:min(next, len(lines))] {
			if hasContent(line) && !isSeparator(line) {
				docs = append(docs, document{text: text, start: first + 1, line: first + i + 1, index: len(docs) + 1})
				break
			}
		}
	}
}

// isSeparator is kubectl's reader's test of a document separator, used only
// to number lines.
func isSeparator(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	rest = bytes.TrimSpace(rest)
	return ok && (len(rest) == 0 || rest[0] == '#')
}

func hasContent(line []byte) bool {
	line = bytes.TrimSpace(line)
	return len(line) > 0 && line[0] != '#'
}

// imageLines maps each container of a document (ImageKey of its name and
// image) to the file line of its image, found in text starting at the
// file's line start: a finding about a container's image points at that
// line, not at the object's first. A document YAML cannot read has none.
// A key found at more than one place (the items of a List running the same
// container, or a mapping outside the containers naming the same name and
// image) is left out: the finding then points at the object's document,
// never at another object's or a decoy's line.
func imageLines(text []byte, start int) map[string]int {
	var root yaml3.Node
	if err := yaml3.Unmarshal(text, &root); err != nil {
		return nil
	}
	out := map[string]int{}
	ambiguous := map[string]bool{}
	var walk func(n *yaml3.Node)
	walk = func(n *yaml3.Node) {
		if n.Kind == yaml3.MappingNode {
			var name, image *yaml3.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				switch k, v := n.Content[i].Value, n.Content[i+1]; k {
				case "name":
					name = v
				case "image":
					image = v
				}
			}
			if key, ok := imageKeyOf(name, image); ok {
				if _, dup := out[key]; dup {
					ambiguous[key] = true
				}
				out[key] = start + image.Line - 1
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	for key := range ambiguous {
		delete(out, key)
	}
	return out
}

// imageKeyOf is the ImageKey of a mapping's name and image values, an
// alias (image: *img) read as the scalar it points to, as the decoder
// reads it.
func imageKeyOf(name, image *yaml3.Node) (string, bool) {
	n, i := scalarValue(name), scalarValue(image)
	if n == nil || i == nil || n.Value == "" {
		return "", false
	}
	return ImageKey(n.Value, i.Value), true
}

func scalarValue(n *yaml3.Node) *yaml3.Node {
	if n != nil && n.Kind == yaml3.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml3.ScalarNode {
		return nil
	}
	return n
}

// ImageKey is the key of Manifest.ImageLines for a container.
func ImageKey(container, image string) string { return container + "\x00" + image }

// helmSource is the template a document of standard input was rendered
// from, by the "# Source: chart/templates/x.yaml" comment helm template
// writes above each document; "" for a file, or without the comment.
func helmSource(file string, text []byte) string {
	if file != StdinName {
		return ""
	}
	for _, line := range bytes.Split(text, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("# Source: ")); ok {
			return string(bytes.TrimSpace(rest))
		}
		if hasContent(line) && !isSeparator(line) {
			break
		}
	}
	return ""
}
