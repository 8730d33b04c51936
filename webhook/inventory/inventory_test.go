package inventory

import (
	"slices"
	"testing"

	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/pipelinetest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

func deployment(ns, name string, imgs ...string) Object {
	w := &workload.Workload{Kind: "Deployment", Namespace: ns, Name: name}
	for i, img := range imgs {
		w.Containers = append(w.Containers, workload.Container{Name: "c" + string(rune('0'+i)), Type: workload.TypeContainer, Image: demo.Host + "/" + img})
	}
	return Object{Workload: w, APIVersion: "apps/v1", UID: ns + "-" + name}
}

// Two workloads on the same image give one Image; the demo's billing, built
// on the digest base/debian:12 pointed to before it was patched, brings that
// digest in as a Base that is not current, beside the current one the web
// image is on; an exempt namespace is listed, not evaluated.
func TestBuildDeduplicatesImagesAndKeepsBothDigestsOfAMovedTag(t *testing.T) {
	t.Parallel()
	p := pipelinetest.Demo(t)
	objs := []Object{
		deployment("shop", "web", "shop/web:1.0"),
		deployment("team", "web", "shop/web:1.0", "shop/billing:1.0"),
		deployment("kube-system", "admin", "shop/admin:1.0"),
		deployment("shop", "broken", "shop/none:1.0"),
	}
	inv, err := Build(t.Context(), objs, Options{Checker: p.Checker, Mode: policy.Enforce})
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	if got := len(inv.Images); got != 2 {
		t.Fatalf("images = %d (%+v), want 2: web once, billing", got, inv.Images)
	}
	web, team, system, broken := inv.Workloads[0], inv.Workloads[1], inv.Workloads[2], inv.Workloads[3]
	if !web.Allowed || len(web.Violations) != 0 || web.Containers[0].Digest.IsZero() {
		t.Errorf("shop/web = %+v, want allowed with a resolved digest", web)
	}
	if web.Containers[0].Digest != team.Containers[0].Digest {
		t.Errorf("the same image resolved to %s and %s", web.Containers[0].Digest, team.Containers[1].Digest)
	}
	if !team.Allowed || len(team.Violations) == 0 || team.Violations[0].Policy != "base-freshness" || team.Violations[0].Action != policy.Warn {
		t.Errorf("team/web = allowed %t %v, want allowed with base-freshness warnings (its default action)", team.Allowed, team.Violations)
	}
	if !system.Exempt || len(system.Containers) != 0 {
		t.Errorf("kube-system/admin = %+v, want exempt, not evaluated", system)
	}
	if broken.Allowed || broken.Containers[0].ErrorKind != images.KindNotFound {
		t.Errorf("shop/broken = %+v, want denied with a not-found container", broken)
	}
	debian := demo.Host + "/base/debian:12"
	var current, outdated int
	for _, b := range inv.Bases {
		switch {
		case b.Current && slices.Contains(b.Refs, debian):
			current++
		case !b.Current && b.MovedTag == debian && !b.CurrentDigest.IsZero():
			outdated++
		}
	}
	if current == 0 || outdated == 0 {
		t.Errorf("bases named %s: %d current, %d outdated; want both (%+v)", debian, current, outdated, inv.Bases)
	}
}
