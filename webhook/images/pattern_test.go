package images

import (
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
)

// Pattern is the dialect of approvedBases: for every pattern and reference,
// Match answers what Rego's glob.match(pattern, ["/"], ref) answers in the
// policies, so that exempt.images, catalog tag patterns and approvedBases
// mean the same thing by the same text.
func TestPatternMatchesAsRegoGlobMatch(t *testing.T) {
	t.Parallel()
	refs := []string{
		"docker.io/library/debian:12",
		"registry.example.com/base/debian:12.7",
		"registry.example.com/base/sub/debian:12",
		"registry.example.com/team/app@sha256:" + strings.Repeat("a", 64),
		"registry.example.com/base/alpine:3",
	}
	for _, pattern := range []string{
		"docker.io/library/debian:*",
		"registry.example.com/base/*",
		"registry.example.com/base/**",
		"registry.example.com/base/{debian,alpine}:*",
		"registry.example.com/base/debian:1?",
		"registry.example.com/base/[a-d]*",
		"registry.example.com/base/[!a]*",
		"registry.example.com/*/app@sha256:*",
		`registry.example.com/base/debian:12\.7`,
	} {
		p, err := CompilePattern(pattern)
		if err != nil {
			t.Fatalf("CompilePattern(%q) = %v", pattern, err)
		}
		for _, ref := range refs {
			want := regoGlobMatch(t, pattern, ref)
			if got := p.Match(ref); got != want {
				t.Errorf("CompilePattern(%q).Match(%q) = %t, want %t as Rego's glob.match", pattern, ref, got, want)
			}
		}
	}
	if _, err := CompilePattern("registry.example.com/base/["); err == nil {
		t.Errorf("CompilePattern(unclosed class) = nil error")
	}
}

func regoGlobMatch(t *testing.T, pattern, ref string) bool {
	t.Helper()
	rs, err := rego.New(
		rego.Query(`x := glob.match(input.pattern, ["/"], input.ref)`),
		rego.Input(map[string]any{"pattern": pattern, "ref": ref}),
		rego.StrictBuiltinErrors(true),
	).Eval(t.Context())
	if err != nil || len(rs) != 1 {
		t.Fatalf("glob.match(%q, [\"/\"], %q) = %v, %v", pattern, ref, rs, err)
	}
	return rs[0].Bindings["x"].(bool)
}
