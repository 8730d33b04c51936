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
		notes = append(notes, violationShapeNotes(name, m)...)
	}
	return notes
}

// violationShapeNotes names the violation rules whose value can be seen,
// without evaluating, to lack the msg the decision shows: an object
// without a "msg" key, or a scalar. A value built by a call
// (lib.finding(msg)) is not judged here; Evaluate names it if it lacks one.
func violationShapeNotes(file string, m *ast.Module) []string {
	var notes []string
	pkg := strings.TrimPrefix(m.Package.Path.String(), "data.")
	for _, r := range m.Rules {
		if r.Head.Name.String() != "violation" && r.Head.Ref().String() != "violation" || r.Head.Key == nil {
			continue
		}
		value := r.Head.Key.Value
		if v, ok := value.(ast.Var); ok {
			value = boundIn(r.Body, v)
		}
		var problem string
		switch value := value.(type) {
		case ast.Object:
			if value.Get(ast.InternedTerm("msg")) == nil {
				problem = `a violation without "msg": its deny or warning would give no reason; add "msg": "<what is wrong and what to do>"`
			}
		case ast.String, ast.Number, ast.Boolean, ast.Null, *ast.Array, ast.Set:
			problem = `a violation that is not an object: every evaluation of it is a policy-error; yield {"msg": "..."}`
		}
		if problem != "" {
			notes = append(notes, fmt.Sprintf("%s:%d: policy %s: %s", file, r.Location.Row, pkg, problem))
		}
	}
	return notes
}

// boundIn returns the value assigned to v by `v := x` or `v = x` in body,
// or nil when the body does not bind it that plainly.
func boundIn(body ast.Body, v ast.Var) ast.Value {
	for _, e := range body {
		if !e.IsAssignment() && !e.IsEquality() {
			continue
		}
		lhs, rhs := e.Operand(0), e.Operand(1)
		if lhs != nil && rhs != nil && lhs.Value.Compare(v) == 0 {
			return rhs.Value
		}
	}
	return nil
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
