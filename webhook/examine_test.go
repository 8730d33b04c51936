package webhook

import (
	"reflect"
	"testing"

	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// Examine is Check with what the check saw: the same violations, and for
// each checked container the image, its platforms' lineage, or the error
// that was evaluated instead. Audit and graph report from it, so a
// container the policies judged must never be missing from it, and an
// exempt one never in it.
func TestExamineReportsWhatCheckEvaluated(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Exempt.Images = []string{demo.Host + "/shop/admin:*"}
	p := newPipelineWith(t, cfg)
	w := &workload.Workload{Kind: "Deployment", Name: "web", Namespace: "shop", Containers: []workload.Container{
		{Name: "report", Type: workload.TypeContainer, Image: demo.Host + "/shop/report:1.0"},
		{Name: "admin", Type: workload.TypeContainer, Image: demo.Host + "/shop/admin:1.0"},
		{Name: "missing", Type: workload.TypeContainer, Image: demo.Host + "/shop/none:1.0"},
	}}
	req := policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}
	ex := p.Checker.Examine(t.Context(), req, w)
	if vs := p.Checker.Check(t.Context(), req, w); !reflect.DeepEqual(ex.Violations, vs) {
		t.Errorf("Examine().Violations = %v, want Check's %v", ex.Violations, vs)
	}
	var names []string
	for _, e := range ex.Containers {
		names = append(names, e.Container.Name)
	}
	if want := []string{"report", "missing"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("examined containers = %v, want %v (the exempt image left out)", names, want)
	}
	report, missing := ex.Containers[0], ex.Containers[1]
	if report.Err != nil || report.Image == nil || len(report.Platforms) == 0 {
		t.Fatalf("report: image %v, err %v, %d platforms; want resolved with platforms", report.Image, report.Err, len(report.Platforms))
	}
	for _, pl := range report.Platforms {
		if pl.Facts == nil || pl.Lineage.Depth != 4 || len(pl.Lineage.Chain) != 3 {
			t.Errorf("report on %v: depth %d, chain %v; want the demo's four levels", pl.Facts, pl.Lineage.Depth, pl.Lineage.Chain)
		}
	}
	if missing.Err == nil || images.KindOf(missing.Err) != images.KindNotFound || len(missing.Platforms) != 0 {
		t.Errorf("missing: err %v (kind %s), %d platforms; want a not-found error and none", missing.Err, images.KindOf(missing.Err), len(missing.Platforms))
	}

	req.Namespace = "kube-system"
	if ex := p.Checker.Examine(t.Context(), req, w); len(ex.Containers) != 0 || len(ex.Violations) != 0 {
		t.Errorf("Examine in an exempt namespace = %+v, want nothing", ex)
	}
}
