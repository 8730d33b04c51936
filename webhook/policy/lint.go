package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// configRoot is where the policies read policies.data.
var configRoot = ast.MustParseRef("data.strata.config")

// dataKeys lists the data.strata.config keys the modules read, sorted;
// whole is true when some module reads data.strata.config (or data, or
// data.strata) as a whole, so that any key may be read.
func dataKeys(modules map[string]*ast.Module) (keys []string, whole bool) {
	seen := map[string]bool{}
	for _, m := range modules {
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if !r.HasPrefix(ast.DefaultRootRef) {
				return false
			}
			n := min(len(r), len(configRoot))
			if !r[:n].Equal(configRoot[:n]) {
				return false
			}
			if len(r) <= len(configRoot) {
				whole = true
				return false
			}
			if s, ok := r[len(configRoot)].Value.(ast.String); ok {
				seen[string(s)] = true
			} else {
				whole = true // data.strata.config[k]
			}
			return false
		})
	}
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, whole
}

// moduleNotes says what of the user's modules strata would otherwise
// accept in silence: a package outside strata.policies that no policy
// imports is never queried, and a policy without a # METADATA block gets
// its id from its package name and the enforce action.
func moduleNotes(modules map[string]*ast.Module) []string {
	var notes []string
	names := make([]string, 0, len(modules))
	for name := range modules {
		if !strings.HasPrefix(name, "builtin/") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		m := modules[name]
		pkg := m.Package.Path.String()
		if _, ok := policyKey(m.Package.Path); !ok {
			if !strings.HasPrefix(pkg, "data."+policyRoot+".") && !importedByAny(modules, m.Package.Path) {
				notes = append(notes, fmt.Sprintf("%s: package %s is not under %s and no policy imports it: strata never evaluates it (a policy's package is %s.<name>)",
					name, strings.TrimPrefix(pkg, "data."), policyRoot, policyRoot))
			}
			continue
		}
		if !slices.ContainsFunc(m.Annotations, func(a *ast.Annotations) bool { return a.Scope == "package" }) {
			notes = append(notes, fmt.Sprintf("%s: package %s has no # METADATA block: its id is taken from the package name and its action is enforce; add title, description and custom.action",
				name, strings.TrimPrefix(pkg, "data.")))
		}
	}
	return notes
}

// importedByAny reports whether another module imports path or reads it by
// a reference.
func importedByAny(modules map[string]*ast.Module, path ast.Ref) bool {
	for _, m := range modules {
		if m.Package.Path.Equal(path) {
			continue
		}
		found := false
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if r.HasPrefix(path) || path.HasPrefix(r) && len(r) > 1 {
				found = true
			}
			return found
		})
		for _, imp := range m.Imports {
			if r, ok := imp.Path.Value.(ast.Ref); ok && (r.HasPrefix(path) || path.HasPrefix(r)) {
				found = true
			}
		}
		if found {
			return true
		}
	}
	return false
}
