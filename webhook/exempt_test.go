package webhook

import (
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// The Checker owns both exemptions: a caller that asks it (the webhook,
// strata check, the coming audit) exempts exactly the configured namespaces
// and images, and a caller that forgets to ask still gets no evaluation of
// an exempt namespace.
func TestCheckerOwnsNamespaceAndImageExemptions(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Exempt.Namespaces = []string{"team-a"}
	cfg.Exempt.Images = []string{demo.Host + "/shop/admin:*"}
	p := newPipelineWith(t, cfg)
	for ns, want := range map[string]bool{"team-a": true, "kube-system": false, "team-a-dev": false, "": false} {
		if got := p.Checker.NamespaceExempt(ns); got != want {
			t.Errorf("NamespaceExempt(%q) = %t, want %t", ns, got, want)
		}
	}

	root := func(image string) *workload.Workload {
		return &workload.Workload{Kind: "Pod", Name: "p", Containers: []workload.Container{{Name: "app", Type: workload.TypeContainer, Image: image}}}
	}
	report := demo.Host + "/shop/report:1.0" // four levels deep: a lineage-depth violation
	for _, tc := range []struct {
		name, namespace, image string
		wantViolations         bool
	}{
		{"exempt namespace", "team-a", report, false},
		{"other namespace", "shop", report, true},
		{"exempt image", "shop", demo.Host + "/shop/admin:1.0", false},
	} {
		w := root(tc.image)
		w.Namespace = tc.namespace
		vs := p.Checker.Check(t.Context(), policy.Request{Operation: "CREATE", Namespace: tc.namespace, Mode: policy.Enforce}, w)
		if got := len(vs) > 0; got != tc.wantViolations {
			t.Errorf("%s: Check(%s in %s) = %v, want violations: %t", tc.name, tc.image, tc.namespace, vs, tc.wantViolations)
		}
	}

	// The handler answers from the Checker's exemptions, before decoding.
	h := p.Handlers(nil, nil)[policy.Enforce]
	srv := serveHandler(t, h.(*Handler))
	for ns, wantAllowed := range map[string]bool{"team-a": true, "shop": false} {
		pod := podOf("report", report)
		pod["metadata"].(map[string]any)["namespace"] = ns
		review := editReview(t, reviewOf(t, ns+"-uid", "Pod", "CREATE", pod, nil), func(req map[string]any) { req["namespace"] = ns })
		r := admit(t, srv.URL, review)
		if r.Allowed != wantAllowed {
			t.Errorf("enforce review of %s in %s = allowed %t (%+v), want %t", report, ns, r.Allowed, r.Result, wantAllowed)
		}
	}
}

// exempt.images speaks the dialect of approvedBases (Rego's glob.match with
// "/" as separator): {a,b} alternatives and ** across "/" exempt what they
// would approve, where path.Match read them otherwise.
func TestExemptImagePatternSpeaksTheApprovedBasesDialect(t *testing.T) {
	t.Parallel()
	c := NewChecker(CheckerOptions{ExemptImages: []string{demo.Host + "/shop/{admin,legacy}:*", "registry.example.com/team/**"}})
	for image, want := range map[string]bool{
		demo.Host + "/shop/admin:1.0":                                     true,
		demo.Host + "/shop/legacy:1.0":                                    true,
		demo.Host + "/shop/web:1.0":                                       false,
		"registry.example.com/team/a/b/app:1":                             true,
		"registry.example.com/teams/app:1":                                false,
		"registry.example.com/team/app@sha256:" + strings.Repeat("a", 64): true,
	} {
		if got := c.ImageExempt(image); got != want {
			t.Errorf("ImageExempt(%s) = %t, want %t", image, got, want)
		}
	}
}
