package webhook

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// ConfigProblem is one thing wrong in strata.yaml, named by its key path
// and line, with what to do.
type ConfigProblem struct {
	Path    string `json:"path"`
	Line    int    `json:"line,omitempty"`
	Problem string `json:"problem"`
	// Warning is set for what strata runs with, but probably not as meant.
	Warning bool `json:"warning,omitempty"`
}

func (p ConfigProblem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s (line %d): %s", p.Path, p.Line, p.Problem)
	}
	return fmt.Sprintf("%s: %s", p.Path, p.Problem)
}

// DataKeyReader says which policies.data keys the policies read;
// *policy.Engine is one.
type DataKeyReader interface {
	DataKeys() (keys []string, any bool)
}

// LintConfig reads raw as strata.yaml and names, by key path and line, what
// ParseConfig refuses without saying where, and what it accepts but was
// probably not meant: unknown keys (with the known key nearest to each),
// an unquoted off/no/yes/on that YAML reads as a boolean where an action
// was meant, platforms of no known OS or architecture, and, when policies
// is given, policies.data keys that no loaded policy reads.
func LintConfig(raw []byte, policies DataKeyReader) []ConfigProblem {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return []ConfigProblem{{Path: "strata.yaml", Problem: err.Error()}}
	}
	if len(doc.Content) == 0 {
		return nil
	}
	l := &linter{policies: policies}
	l.walk("", doc.Content[0], reflect.TypeFor[Config]())
	return l.problems
}

type linter struct {
	policies DataKeyReader
	problems []ConfigProblem
}

func (l *linter) add(path string, n *yaml.Node, warning bool, format string, args ...any) {
	l.problems = append(l.problems, ConfigProblem{Path: path, Line: n.Line, Problem: fmt.Sprintf(format, args...), Warning: warning})
}

// walk checks node n, at path, against the Go type t it is read into.
func (l *linter) walk(path string, n *yaml.Node, t reflect.Type) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch {
	case t.Kind() == reflect.Struct && len(jsonFields(t)) > 0:
		if n.Kind != yaml.MappingNode {
			if !isNull(n) {
				l.add(path, n, false, "want a mapping of keys, not %q", n.Value)
			}
			return
		}
		fields := jsonFields(t)
		for _, kv := range pairs(n) {
			k, v := kv[0], kv[1]
			key := join(path, k.Value)
			f, ok := fieldNamed(fields, k.Value)
			if !ok {
				l.add(key, k, false, "unknown key%s", suggest(k.Value, slices.Sorted(maps.Keys(fields))))
				continue
			}
			l.walk(key, v, f.Type)
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8:
		if n.Kind != yaml.SequenceNode {
			if !isNull(n) {
				l.add(path, n, false, "want a list, not %q", n.Value)
			}
			return
		}
		for i, item := range n.Content {
			l.walk(fmt.Sprintf("%s[%d]", path, i), item, t.Elem())
			if path == "platforms" {
				l.platform(fmt.Sprintf("%s[%d]", path, i), item)
			}
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			if !isNull(n) {
				l.add(path, n, false, "want a mapping of keys, not %q", n.Value)
			}
			return
		}
		for _, kv := range pairs(n) {
			k, v := kv[0], kv[1]
			key := join(path, k.Value)
			if path == "policies.actions" {
				l.action(key, v)
			}
			if path == "policies.data" {
				l.dataKey(key, k)
			}
		}
	}
}

// pairs are a mapping's keys and values, those of a merge key (<<: *a, or
// <<: [*a, *b]) in the mapping's place, as serve's parser reads them: a
// merge is neither an unknown key nor a way to slip one past the linter.
// A mapping merged into itself (a: &x {<<: *x}) is read once.
func pairs(n *yaml.Node) [][2]*yaml.Node {
	return mergedPairs(n, map[*yaml.Node]bool{})
}

func mergedPairs(n *yaml.Node, seen map[*yaml.Node]bool) [][2]*yaml.Node {
	if seen[n] {
		return nil
	}
	seen[n] = true
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag != "!!merge" {
			out = append(out, [2]*yaml.Node{k, v})
			continue
		}
		merged := []*yaml.Node{v}
		if resolved(v).Kind == yaml.SequenceNode {
			merged = resolved(v).Content
		}
		for _, m := range merged {
			if m = resolved(m); m.Kind == yaml.MappingNode {
				out = append(out, mergedPairs(m, seen)...)
			}
		}
	}
	return out
}

func resolved(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}

// action names the unquoted YAML 1.1 booleans: `lineage-depth: off` is
// read as false, which is no action.
func (l *linter) action(path string, v *yaml.Node) {
	if v.Kind != yaml.ScalarNode || v.Style != 0 {
		return
	}
	switch strings.ToLower(v.Value) {
	case "off", "no", "n", "false":
		l.add(path, v, false, "YAML reads an unquoted %s as the boolean false, not an action: write \"off\" in quotes", v.Value)
	case "on", "yes", "y", "true":
		l.add(path, v, false, "YAML reads an unquoted %s as the boolean true, not an action: write enforce, warn or audit", v.Value)
	}
}

// dataKey names a policies.data key that no loaded policy reads: a typo
// such as approvedBase leaves approved-base with nothing to approve.
func (l *linter) dataKey(path string, k *yaml.Node) {
	if l.policies == nil {
		return
	}
	keys, any := l.policies.DataKeys()
	if any || slices.Contains(keys, k.Value) {
		return
	}
	l.add(path, k, true, "no loaded policy reads data.strata.config.%s%s", k.Value, suggest(k.Value, keys))
}

// knownOS and knownArch are the platforms images are built for (Go's and
// the OCI image spec's values).
var (
	knownOS   = []string{"linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos", "aix", "plan9", "wasip1", "js"}
	knownArch = []string{"amd64", "arm64", "arm", "386", "ppc64le", "ppc64", "s390x", "riscv64", "mips64le", "mips64", "mipsle", "mips", "loong64", "wasm"}
)

// platform names an os/arch[/variant] of no known OS or architecture:
// linux/amd65 matches no manifest, so every image would resolve to none.
func (l *linter) platform(path string, n *yaml.Node) {
	parts := strings.Split(n.Value, "/")
	if len(parts) < 2 || len(parts) > 3 {
		l.add(path, n, false, "%q: want os/architecture[/variant], e.g. linux/amd64", n.Value)
		return
	}
	if !slices.Contains(knownOS, parts[0]) {
		l.add(path, n, false, "%q: unknown OS %s%s", n.Value, parts[0], suggest(parts[0], knownOS))
	}
	if !slices.Contains(knownArch, parts[1]) {
		l.add(path, n, false, "%q: unknown architecture %s%s", n.Value, parts[1], suggest(parts[1], knownArch))
	}
}

// jsonFields maps the JSON names of t's exported fields to the fields.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "" && name != "-" {
			out[name] = f
		}
	}
	return out
}

// fieldNamed finds key as encoding/json does: exactly, else ignoring case.
func fieldNamed(fields map[string]reflect.StructField, key string) (reflect.StructField, bool) {
	if f, ok := fields[key]; ok {
		return f, true
	}
	for name, f := range fields {
		if strings.EqualFold(name, key) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// suggest is "; did you mean X?" for the known word nearest to s, when one
// is near enough to be a typo, else "; known: a, b, c".
func suggest(s string, known []string) string {
	best, bestDist := "", len(s)/3+2
	for _, k := range known {
		if d := editDistance(strings.ToLower(s), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return "; did you mean " + best + "?"
	}
	if len(known) == 0 {
		return ""
	}
	return "; known: " + strings.Join(known, ", ")
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
