package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/internal/imagetest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// docs/policy-input.md names the keys of policies.data that strata config
// validate checks as whole numbers, whose non-numbers the policies replace
// by their defaults: they are the keys checkPatternData checks, no more
// and no fewer.
func TestPolicyInputMdNamesTheKeysConfigValidateChecksAsNumbers(t *testing.T) {
	t.Parallel()
	prose := testutil.DocProse(t, "../docs/policy-input.md")
	_, sentence, ok := strings.Cut(prose, "The keys checked as numbers, ")
	if !ok {
		t.Fatal(`docs/policy-input.md has no sentence "The keys checked as numbers, …"`)
	}
	sentence, _, _ = strings.Cut(sentence, ", are whole numbers")
	var named []string
	for _, m := range regexp.MustCompile("`([A-Za-z]+)`").FindAllStringSubmatch(sentence, -1) {
		named = append(named, m[1])
	}
	checked := slices.Clone(patternSizeKeys)
	slices.Sort(named)
	slices.Sort(checked)
	if !slices.Equal(named, checked) {
		t.Errorf("docs/policy-input.md names %v as the keys checked as numbers; strata config validate checks %v", named, checked)
	}
}

// docs/policy-input.md's table of a buildTools entry's fields is the one
// strata config validate checks an entry against.
func TestPolicyInputMdNamesTheFieldsOfABuildToolsEntry(t *testing.T) {
	t.Parallel()
	var documented []string
	for _, row := range testutil.DocTable(t, "../docs/policy-input.md", "### `buildTools`")[2:] {
		documented = append(documented, strings.Trim(row[0], "`"))
	}
	if !slices.Equal(documented, buildToolKeys) {
		t.Errorf("docs/policy-input.md documents the fields %v of a buildTools entry; strata config validate knows %v", documented, buildToolKeys)
	}
}

// docs/policy-input.md's table of the built-in build tools is
// single-stage-build's build_tools_default: the same names and images, each
// command the table says match finds is found by the tool's match, and
// each the table says excuses it is matched by its unless (or its
// unlessEnv, for the environment).
func TestPolicyInputMdListsTheBuiltInBuildTools(t *testing.T) {
	t.Parallel()
	rs, err := rego.New(
		rego.Query("data.strata.policies.single_stage_build.build_tools_default"),
		rego.Load([]string{"../policies/single_stage_build.rego", "../policies/lib.rego"}, nil),
	).Eval(t.Context())
	if err != nil || len(rs) != 1 {
		t.Fatalf("evaluating build_tools_default = %v, %v", rs, err)
	}
	builtIn := rs[0].Expressions[0].Value.(map[string]any)
	rows := testutil.DocTable(t, "../docs/policy-input.md", "The built-in list, in")[2:]
	var names []string
	for _, row := range rows {
		name := strings.Trim(row[0], "`")
		names = append(names, name)
		tool, ok := builtIn[name].(map[string]any)
		if !ok {
			continue
		}
		pattern := func(key string) *regexp.Regexp {
			s, _ := tool[key].(string)
			if s == "" {
				return nil
			}
			return regexp.MustCompile(s)
		}
		match, unless, unlessEnv := pattern("match"), pattern("unless"), pattern("unlessEnv")
		finds := docCommands(row[1])
		if len(finds) == 0 || match == nil {
			t.Errorf("%s: the table names %v as what match finds; the tool's match is %v", name, finds, tool["match"])
			continue
		}
		for _, cmd := range finds {
			if step := "RUN /bin/sh -c " + cmd + " # buildkit"; !match.MatchString(step) {
				t.Errorf("%s: match %s does not find %q, which docs/policy-input.md says it finds", name, match, step)
			}
		}
		excuses := docCommands(row[2])
		if (len(excuses) > 0) != (unless != nil) {
			t.Errorf("%s: the table says it is excused by %v; the tool's unless is %v", name, excuses, tool["unless"])
			continue
		}
		for _, excuse := range excuses {
			step := "RUN /bin/sh -c " + finds[0] + " && " + excuse + " # buildkit"
			if !unless.MatchString(step) && !(unlessEnv != nil && unlessEnv.MatchString(excuse) && strings.Contains(row[2], "environment")) {
				t.Errorf("%s: %q is not excused by unless %s, though docs/policy-input.md says %s excuses it", name, step, unless, excuse)
			}
		}
		var images []string
		if cell := strings.Trim(row[3], "`"); cell != "" {
			images = strings.Split(cell, "`, `")
		}
		var want []string
		imgs, _ := tool["images"].([]any)
		for _, img := range imgs {
			want = append(want, img.(string))
		}
		if !slices.Equal(images, want) {
			t.Errorf("%s: the table gives the images %v; the tool's are %v", name, images, want)
		}
	}
	slices.Sort(names)
	if want := slices.Sorted(maps.Keys(builtIn)); !slices.Equal(names, want) {
		t.Errorf("docs/policy-input.md lists the built-in build tools %v; build_tools_default holds %v", names, want)
	}
}

// docCommands are the commands a cell of the built-in list names: items
// separated by commas, each of words written `a`/`b` for either (`apt-get`/`apt`
// `install`/`add` is four commands), then, after " of ", what each is of
// (`pip install` of `wheel`, `pdm` is pip install wheel and pip install
// pdm). Words that are not in backquotes end an item.
func docCommands(cell string) []string {
	out := []string{""}
	for i, part := range splitOutsideQuotes(cell, " of ") {
		var items []string
		for _, item := range splitOutsideQuotes(part, ", ") {
			items = append(items, docItem(item)...)
		}
		var next []string
		for _, prefix := range out {
			for _, item := range items {
				next = append(next, strings.TrimSpace(prefix+" "+item))
			}
		}
		out = next
		if i == 0 && len(items) == 0 {
			return nil
		}
	}
	return out
}

// docItem expands one item: `apt-get`/`apt` `purge` is apt-get purge and
// apt purge.
func docItem(item string) []string {
	out := []string{""}
	for _, word := range splitOutsideQuotes(item, " ") {
		var alternatives []string
		for _, alt := range splitOutsideQuotes(word, "/") {
			if len(alt) < 2 || alt[0] != '`' || alt[len(alt)-1] != '`' {
				return trimEmpty(out)
			}
			alternatives = append(alternatives, alt[1:len(alt)-1])
		}
		var next []string
		for _, prefix := range out {
			for _, alt := range alternatives {
				next = append(next, strings.TrimSpace(prefix+" "+alt))
			}
		}
		out = next
	}
	return trimEmpty(out)
}

func trimEmpty(ss []string) []string {
	return slices.DeleteFunc(ss, func(s string) bool { return s == "" })
}

// splitOutsideQuotes splits s at each sep outside backquotes.
func splitOutsideQuotes(s, sep string) []string {
	var parts []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '`':
			quoted = !quoted
		case !quoted && strings.HasPrefix(s[i:], sep):
			parts = append(parts, s[start:i])
			start = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(parts, s[start:])
}

// docs/policy-input.md: every policy is evaluated once per container and
// per checked platform of its image. Two containers of an image of two
// checked platforms are four inputs, one for each pair.
func TestPolicyInputIsOnePerContainerAndCheckedPlatform(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	host := imagetest.Registry(t)
	var entries []mutate.IndexAddendum
	for _, platform := range []string{"linux/amd64", "linux/arm64"} {
		pl, err := v1.ParsePlatform(platform)
		if err != nil {
			t.Fatal(err)
		}
		img := imagetest.Image(t, 1, func(cf *v1.ConfigFile) { cf.OS, cf.Architecture, cf.Config.User = pl.OS, pl.Architecture, "1000" })
		entries = append(entries, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: pl}})
	}
	imagetest.Push(t, host+"/multi/app:1", mutate.AppendManifests(empty.Index, entries...))
	opts := p.checkerOn(t, host, "linux/amd64", "linux/arm64").opts
	rec := &recorder{next: p.Engine}
	opts.Evaluator = rec
	w := &workload.Workload{Kind: "Pod", Name: "multi", Namespace: "shop", Containers: []workload.Container{
		{Name: "a", Type: "container", Image: host + "/multi/app:1"},
		{Name: "b", Type: "container", Image: host + "/multi/app:1"},
	}}
	NewChecker(opts).Check(testCtx(t), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, w)
	var got []string
	for _, v := range rec.seen {
		doc, err := ast.JSON(v)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		var in struct {
			Container struct{ Name string }
			Image     struct{ Platform string }
		}
		if err := json.Unmarshal(raw, &in); err != nil {
			t.Fatal(err)
		}
		got = append(got, in.Container.Name+" "+in.Image.Platform)
	}
	slices.Sort(got)
	if want := []string{"a linux/amd64", "a linux/arm64", "b linux/amd64", "b linux/arm64"}; !slices.Equal(got, want) {
		t.Errorf("the inputs evaluated for two containers of a two-platform image = %q, want %q", got, want)
	}
}

// docs/policy-input.md: an image that resolved to no platform image at all
// is an invalid-content error in the input.
func TestPolicyInputOfAnImageOfNoPlatformIsAnInvalidContentError(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	rec := &recorder{next: p.Engine}
	c := NewChecker(CheckerOptions{Resolver: noPlatforms{}, Lineage: p.Catalog, Evaluator: rec})
	w := &workload.Workload{Kind: "Pod", Name: "empty", Namespace: "shop",
		Containers: []workload.Container{{Name: "app", Type: "container", Image: "registry.example.com/app:1"}}}
	c.Check(t.Context(), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, w)
	if len(rec.seen) != 1 {
		t.Fatalf("the checker built %d inputs for an image of no platform, want 1", len(rec.seen))
	}
	kind, err := rec.seen[0].Find(ast.MustParseRef("x.image.error.kind")[1:])
	if err != nil || kind.String() != `"invalid-content"` {
		t.Errorf("image.error.kind of an image of no platform = %v (%v), want invalid-content", kind, err)
	}
}

// cancelAfterFirst ends the request's context once the first input is
// evaluated: its deadline ends during evaluation.
type cancelAfterFirst struct {
	next   Evaluator
	cancel context.CancelFunc
	once   sync.Once
}

func (e *cancelAfterFirst) Evaluate(ctx context.Context, container, platform string, in policy.Input) []policy.Violation {
	defer e.once.Do(e.cancel)
	return e.next.Evaluate(ctx, container, platform, in)
}

// docs/policy-input.md, image.error.kind limit: when the request's deadline
// ends during evaluation, the containers left get one such violation, on
// the first of them. Three containers, the deadline ending after the
// first's evaluation: the second gets the limit input, the third none.
func TestPolicyInputPastTheDeadlineIsOneLimitOnTheFirstContainerLeft(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rec := &recorder{next: &cancelAfterFirst{next: p.Engine, cancel: cancel}}
	opts := p.Checker.opts
	opts.Evaluator = rec
	w := &workload.Workload{Kind: "Pod", Name: "late", Namespace: "shop"}
	for _, name := range []string{"c0", "c1", "c2"} {
		w.Containers = append(w.Containers, workload.Container{Name: name, Type: "container", Image: p.Demo.Ref("shop/web:1.0")})
	}
	vs := NewChecker(opts).Check(ctx, policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, w)
	var got []string
	for _, v := range rec.seen {
		name, _ := v.Find(ast.MustParseRef("x.container.name")[1:])
		kind, _ := v.Find(ast.MustParseRef("x.image.error.kind")[1:])
		got = append(got, fmt.Sprint(name, " ", kind))
	}
	if want := []string{`"c0" <nil>`, `"c1" "limit"`}; !slices.Equal(got, want) {
		t.Errorf("inputs evaluated (container, error kind) = %q, want %q", got, want)
	}
	if !slices.ContainsFunc(vs, func(v policy.Violation) bool {
		return v.Policy == "image-resolution" && v.Container == "c1" && strings.Contains(v.Msg, "deadline ended before 2 of its containers")
	}) {
		t.Errorf("Check() = %+v, want an image-resolution violation on c1 for the 2 containers left", vs)
	}
}
