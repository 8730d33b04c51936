package policy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

const rootPolicy = `# METADATA
# title: No root
# custom:
#   id: no-root
#   action: enforce
package strata.policies.no_root

violation contains {"msg": "runs as root", "container": input.container.name, "platform": input.image.platform} if {
	input.image.config.user.uid == 0
}
`

const warnPolicy = `# METADATA
# title: Labelled
# custom:
#   id: labelled
#   action: warn
package strata.policies.labelled

violation contains {"msg": sprintf("missing label %s", [data.strata.config.label]), "container": input.container.name, "platform": ""} if {
	not input.workload.labels[data.strata.config.label]
}
`

func mustInput(t testing.TB, doc string) ast.Value {
	t.Helper()
	v, err := ast.ValueFromReader(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const rootInput = `{"container": {"name": "web"}, "workload": {"labels": {}}, "image": {"platform": "linux/amd64", "config": {"user": {"uid": 0}}}}`

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// policyDir is a new directory holding files (name to content).
func policyDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	return dir
}

// engineOver is an engine with opts loading files as its user policies.
func engineOver(t *testing.T, opts Options, files map[string]string) *Engine {
	t.Helper()
	opts.Paths = append(opts.Paths, policyDir(t, files))
	return newEngine(t, opts)
}

func newEngine(t *testing.T, opts Options) *Engine {
	t.Helper()
	e, err := New(t.Context(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func TestEvaluateBuiltinsUserPoliciesAndData(t *testing.T) {
	t.Parallel()
	e := engineOver(t, Options{Builtins: fstest.MapFS{"no_root.rego": {Data: []byte(rootPolicy)}}}, map[string]string{"labelled.rego": warnPolicy, "data.yaml": "label: team\n"})
	got := e.Evaluate(t.Context(), "web", "linux/amd64", InputOf(mustInput(t, rootInput)))
	want := map[string]Violation{
		"no-root":  {Policy: "no-root", Action: Enforce, Msg: "runs as root", Container: "web", Platform: "linux/amd64"},
		"labelled": {Policy: "labelled", Action: Warn, Msg: "missing label team", Container: "web", Platform: "linux/amd64"},
	}
	if len(got) != len(want) {
		t.Fatalf("Evaluate = %+v, want %d violations", got, len(want))
	}
	for _, v := range got {
		if v != want[v.Policy] {
			t.Errorf("Evaluate violation = %+v, want %+v", v, want[v.Policy])
		}
	}
	if ids := e.Policies(); len(ids) != 2 || ids[0].ID != "labelled" || ids[1].ID != "no-root" || ids[0].Title != "Labelled" {
		t.Errorf("Policies() = %+v, want labelled and no-root with their titles", ids)
	}
}

func TestActionsOverrideDefaults(t *testing.T) {
	t.Parallel()
	builtins := fstest.MapFS{"no_root.rego": {Data: []byte(rootPolicy)}}
	e := newEngine(t, Options{Builtins: builtins, Actions: map[string]Action{"no-root": Off}})
	if got := e.Evaluate(t.Context(), "web", "linux/amd64", InputOf(mustInput(t, rootInput))); len(got) != 0 {
		t.Errorf("Evaluate with no-root off = %+v, want nothing", got)
	}
	e = newEngine(t, Options{Builtins: builtins, Actions: map[string]Action{"no-root": Audit}})
	if got := e.Evaluate(t.Context(), "web", "linux/amd64", InputOf(mustInput(t, rootInput))); len(got) != 1 || got[0].Action != Audit {
		t.Errorf("Evaluate with no-root audit = %+v, want one audit violation", got)
	}
	if _, err := New(t.Context(), Options{Builtins: builtins, Actions: map[string]Action{"no-rot": Warn}}); err == nil || !strings.Contains(err.Error(), `"no-rot"`) {
		t.Errorf("New with an action for an unknown policy = %v, want an error naming it", err)
	}
}

func TestCompileErrorNamesFileAndLine(t *testing.T) {
	t.Parallel()
	dir := policyDir(t, map[string]string{"broken.rego": "package strata.policies.broken\n\nviolation contains x if {\n\tx := \n}\n"})
	_, err := New(t.Context(), Options{Paths: []string{dir}})
	if err == nil || !strings.Contains(err.Error(), "broken.rego:5") {
		t.Errorf("New with a broken policy = %v, want an error naming broken.rego:5", err)
	}
}

func TestNetworkBuiltinsRejected(t *testing.T) {
	t.Parallel()
	for _, call := range []string{
		`http.send({"method": "GET", "url": "http://169.254.169.254/"})`,
		`net.lookup_ip_addr("example.com")`,
		`opa.runtime()`,
	} {
		dir := policyDir(t, map[string]string{"net.rego": "package strata.policies.net\n\nviolation contains {\"msg\": sprintf(\"%v\", [r]), \"container\": \"\", \"platform\": \"\"} if {\n\tr := " + call + "\n}\n"})
		_, err := New(t.Context(), Options{Paths: []string{dir}})
		if err == nil || !strings.Contains(err.Error(), "undefined function") {
			t.Errorf("New with a policy calling %s = %v, want it rejected at load as an undefined function", call, err)
		}
	}
}

func TestRuntimeErrorIsAPolicyError(t *testing.T) {
	t.Parallel()
	dir := policyDir(t, map[string]string{"numbers.rego": `package strata.policies.numbers

violation contains {"msg": "too big", "container": input.container.name, "platform": ""} if {
	to_number(input.container.name) > 10
}
`})
	for _, tc := range []struct {
		actions map[string]Action
		want    Action
	}{
		{nil, Enforce},
		{map[string]Action{PolicyError: Audit}, Audit},
	} {
		e := newEngine(t, Options{Paths: []string{dir}, Actions: tc.actions})
		got := e.Evaluate(t.Context(), "web", "linux/amd64", InputOf(mustInput(t, rootInput)))
		if len(got) != 1 || got[0].Policy != PolicyError || got[0].Action != tc.want || !strings.Contains(got[0].Msg, `container "web"`) {
			t.Errorf("Evaluate with a failing builtin (actions %v) = %+v, want one %s policy-error naming the container", tc.actions, got, tc.want)
		}
	}
}

func TestEvaluationDeadline(t *testing.T) {
	t.Parallel()
	e := engineOver(t, Options{EvalTimeout: 50 * time.Millisecond}, map[string]string{"slow.rego": `package strata.policies.slow

violation contains {"msg": "slow", "container": "", "platform": ""} if {
	count([x | some x in numbers.range(1, 100000000); x % 7 == 3]) > 0
}
`})
	start := time.Now()
	got := e.Evaluate(t.Context(), "web", "", InputOf(mustInput(t, rootInput)))
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Evaluate of a slow policy took %s, want it cut at the 50ms deadline", elapsed)
	}
	if len(got) != 1 || got[0].Policy != PolicyError {
		t.Errorf("Evaluate of a slow policy = %+v, want a policy-error", got)
	}
}

func TestReloadKeepsLastGoodSet(t *testing.T) {
	t.Parallel()
	dir := policyDir(t, map[string]string{"no_root.rego": rootPolicy})
	e := newEngine(t, Options{Paths: []string{dir}})
	writeFiles(t, dir, map[string]string{"no_root.rego": "package strata.policies.no_root\n\nviolation contains if {\n"})
	if err := e.Reload(t.Context()); err == nil {
		t.Fatal("Reload of a broken set = nil error, want the compile error")
	}
	if st := e.Status(); st.LastError == nil || st.Generation != 1 {
		t.Errorf("Status() after a failed reload = %+v, want the error recorded and generation 1", st)
	}
	if got := e.Evaluate(t.Context(), "web", "linux/amd64", InputOf(mustInput(t, rootInput))); len(got) != 1 || got[0].Policy != "no-root" {
		t.Errorf("Evaluate after a failed reload = %+v, want the previous set still serving", got)
	}
}

func TestWatchReloadsOnChange(t *testing.T) {
	t.Parallel()
	dir := policyDir(t, map[string]string{"labelled.rego": warnPolicy, "data.json": `{"label": "team"}`})
	e := newEngine(t, Options{Paths: []string{dir}})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go e.Watch(ctx, 10*time.Millisecond)

	writeFiles(t, dir, map[string]string{"data.json": `{"label": "owner"}`})
	deadline := time.Now().Add(5 * time.Second)
	for e.Status().Generation < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := e.Evaluate(t.Context(), "web", "", InputOf(mustInput(t, rootInput)))
	if len(got) != 1 || got[0].Msg != "missing label owner" {
		t.Errorf("Evaluate after the data file changed = %+v, want the new label in the message", got)
	}

	writeFiles(t, dir, map[string]string{"labelled.rego": "package strata.policies.labelled\n\nviolation contains if {\n"})
	for e.Status().LastError == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := e.Status(); st.LastError == nil || st.Generation != 2 {
		t.Errorf("Status() after a broken file = %+v, want the error and generation 2", st)
	}
}

func TestEvaluateConcurrently(t *testing.T) {
	t.Parallel()
	e := engineOver(t, Options{}, map[string]string{"no_root.rego": rootPolicy})
	input := mustInput(t, rootInput)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				if got := e.Evaluate(t.Context(), "web", "linux/amd64", InputOf(input)); len(got) != 1 {
					t.Errorf("Evaluate = %+v, want one violation", got)
					return
				}
				if i == 0 {
					_ = e.Reload(t.Context())
				}
			}
		})
	}
	wg.Wait()
}

func TestMilder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ a, b, want Action }{
		{Enforce, Warn, Warn}, {Warn, Enforce, Warn}, {Enforce, Audit, Audit},
		{Audit, Enforce, Audit}, {Enforce, Enforce, Enforce}, {Warn, Off, Off},
	} {
		if got := Milder(tc.a, tc.b); got != tc.want {
			t.Errorf("Milder(%s, %s) = %s, want %s", tc.a, tc.b, got, tc.want)
		}
	}
	if _, err := ParseAction("deny"); err == nil {
		t.Error(`ParseAction("deny") = nil error, want refused`)
	}
}

func TestResultCache(t *testing.T) {
	t.Parallel()
	dir := policyDir(t, map[string]string{"no_root.rego": rootPolicy, "numbers.rego": `package strata.policies.numbers

violation contains {"msg": "big", "container": "", "platform": ""} if {
	to_number(input.workload.labels.size) > 10
}
`})
	e := newEngine(t, Options{Paths: []string{dir}})
	root := mustInput(t, rootInput)
	first := e.Evaluate(t.Context(), "web", "linux/amd64", InputOf(root))
	again := e.Evaluate(t.Context(), "sidecar", "linux/arm64", InputOf(mustInput(t, rootInput)))
	if len(first) != 1 || len(again) != 1 || again[0].Container != "sidecar" || again[0].Platform != "linux/arm64" || again[0].Msg != first[0].Msg {
		t.Errorf("Evaluate of an equal input = %+v after %+v, want the same violation for the new container and platform", again, first)
	}
	if got := e.Evaluate(t.Context(), "web", "", InputOf(mustInput(t, `{"container": {"name": "web"}, "workload": {"labels": {}}, "image": {"config": {"user": {"uid": 1000}}}}`))); len(got) != 0 {
		t.Errorf("Evaluate of a different input = %+v, want no violation (not a cached one)", got)
	}
	bad := mustInput(t, `{"container": {"name": "web"}, "workload": {"labels": {"size": "huge"}}, "image": {}}`)
	for range 2 {
		if got := e.Evaluate(t.Context(), "web", "", InputOf(bad)); len(got) != 1 || got[0].Policy != PolicyError {
			t.Errorf("Evaluate of a failing input = %+v, want a policy-error each time (errors are not cached)", got)
		}
	}
	// A reload starts a new set: what the old set cached is not served.
	writeFiles(t, dir, map[string]string{"no_root.rego": strings.Replace(rootPolicy, `"runs as root"`, `"root!"`, 1)})
	if err := e.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.Evaluate(t.Context(), "web", "linux/amd64", InputOf(root)); len(got) != 1 || got[0].Msg != "root!" {
		t.Errorf("Evaluate after a reload = %+v, want the new policy's message", got)
	}
}

func TestInputKeys(t *testing.T) {
	t.Parallel()
	parse := func(src string) map[string]*ast.Module {
		m, err := ast.ParseModuleWithOpts("p.rego", src, parseOptions)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]*ast.Module{"p.rego": m}
	}
	for _, tc := range []struct {
		src  string
		want []string // nil: everything
	}{
		{rootPolicy, []string{"container", "image"}},
		{"package p\n\nx := json.marshal(input)\n", nil},
		{"package p\n\nx := input[k] if some k in [\"image\"]\n", nil},
		{"package p\n\nx := object.get(input.workload, \"name\", \"\")\ny := input.image.platform\n", []string{"image", "workload"}},
		{"package p\n\nx := data.foo[input.request.user]\n", []string{"request"}},
	} {
		got := inputKeys(inputRefs(parse(tc.src)))
		if !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("inputKeys(%q) = %v, want %v", tc.src, got, tc.want)
		}
	}
	// Two pods of one template, named apart, share a result when no policy
	// reads the name; a policy that reads it gets its own.
	e := newEngine(t, Options{Builtins: fstest.MapFS{"no_root.rego": {Data: []byte(rootPolicy)}}})
	a := mustInput(t, `{"container": {"name": "web"}, "workload": {"name": "web-abc"}, "image": {"platform": "linux/amd64", "config": {"user": {"uid": 0}}}}`)
	b := mustInput(t, `{"container": {"name": "web"}, "workload": {"name": "web-xyz"}, "image": {"platform": "linux/amd64", "config": {"user": {"uid": 0}}}}`)
	e.Evaluate(t.Context(), "web", "linux/amd64", InputOf(a))
	if _, hit := cached(e, b); !hit {
		t.Error("a pod differing only in its name missed the result cache")
	}
	dir := policyDir(t, map[string]string{"named.rego": `package strata.policies.named

violation contains {"msg": sprintf("%s", [input.workload.name]), "container": "", "platform": ""} if true
`})
	e = newEngine(t, Options{Paths: []string{dir}})
	e.Evaluate(t.Context(), "web", "", InputOf(a))
	if got := e.Evaluate(t.Context(), "web", "", InputOf(b)); len(got) != 1 || got[0].Msg != "web-xyz" {
		t.Errorf("Evaluate of a policy that reads the name = %+v, want its own message web-xyz", got)
	}
}
