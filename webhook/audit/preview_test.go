package audit

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/internal/goldentest"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/pipelinetest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

var goldens = goldentest.Flag("update", "rewrite the golden files testdata/preview.*")

// object is a workload of kind in ns running the demo's images, one
// container per image, with pods running under it.
func object(kind, ns, name string, pods int, imgs ...string) inventory.Object {
	w := &workload.Workload{Kind: kind, Namespace: ns, Name: name}
	for i, img := range imgs {
		w.Containers = append(w.Containers, workload.Container{Name: "c" + string(rune('0'+i)), Type: workload.TypeContainer, Image: demo.Host + "/" + img})
	}
	return inventory.Object{Workload: w, APIVersion: "apps/v1", UID: "uid-" + ns + "-" + name, Pods: pods}
}

// demoCluster is a cluster of the demo's images in four namespaces: clean
// workloads, ones running as root, on a stale base, on an unknown base, too
// deep, on an image that does not exist, one in an exempt namespace, and one
// whose name carries a terminal escape.
func demoCluster() []inventory.Object {
	return []inventory.Object{
		object("Deployment", "shop", "web", 3, "shop/web:1.0"),
		object("Deployment", "shop", "admin", 2, "shop/admin:1.0"),
		object("StatefulSet", "shop", "legacy", 1, "shop/legacy:1.0"),
		object("CronJob", "shop", "report", 0, "shop/report:1.0"),
		object("Deployment", "payments", "billing", 2, "shop/billing:1.0"),
		object("Deployment", "payments", "billing-admin", 1, "shop/billing:1.0", "shop/admin:1.0"),
		object("DaemonSet", "team", "agent", 4, "shop/web:1.0"),
		object("Job", "team", "broken", 1, "shop/none:1.0"),
		object("Pod", "team", "evil\x1b[2J\rforged", 1, "shop/admin:1.0"),
		object("Deployment", "kube-system", "admin", 1, "shop/admin:1.0"),
	}
}

func buildDemo(t *testing.T, mode policy.Action) *inventory.Inventory {
	t.Helper()
	p := pipelinetest.Demo(t)
	inv, err := inventory.Build(t.Context(), demoCluster(), inventory.Options{Checker: p.Checker, Mode: mode})
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	return inv
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldens.Check(t, filepath.Join("testdata", name), got)
}

func TestPreviewTextGroupsByPolicyAndBase(t *testing.T) {
	t.Parallel()
	for _, mode := range []policy.Action{policy.Enforce, policy.Warn} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := WritePreviewText(&b, NewPreview(buildDemo(t, mode))); err != nil {
				t.Fatal(err)
			}
			golden(t, "preview."+string(mode)+".txt", b.Bytes())
		})
	}
}

func TestPreviewJSON(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WritePreviewJSON(&b, NewPreview(buildDemo(t, policy.Enforce))); err != nil {
		t.Fatal(err)
	}
	golden(t, "preview.enforce.json", b.Bytes())
	var p Preview
	if err := json.Unmarshal(b.Bytes(), &p); err != nil {
		t.Fatalf("the preview's JSON does not decode: %v", err)
	}
	if p.SchemaVersion != PreviewSchemaVersion {
		t.Errorf("schemaVersion = %d, want %d", p.SchemaVersion, PreviewSchemaVersion)
	}
}

// Nothing read from the cluster or a registry reaches the terminal raw: a
// workload named with an escape that clears the screen and a carriage
// return cannot redraw the headline.
func TestPreviewTextCleansNamesFromTheCluster(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WritePreviewText(&b, NewPreview(buildDemo(t, policy.Enforce))); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(b.String(), "\x1b\r") {
		t.Errorf("WritePreviewText() wrote a raw escape or carriage return:\n%q", b.String())
	}
	if !strings.Contains(b.String(), `team/Pod/evil\x1b[2J\rforged`) {
		t.Errorf("WritePreviewText() does not name the workload with its escapes shown:\n%s", b.String())
	}
}

// The counts the goldens show, asserted on their own so that a rewritten
// golden cannot hide a wrong headline: the six denied workloads are in
// three namespaces (the exempt one is named, not counted), and the stale
// bases come first.
func TestPreviewCountsWhatEnforcingWouldDeny(t *testing.T) {
	t.Parallel()
	p := NewPreview(buildDemo(t, policy.Enforce))
	want := Summary{Workloads: 10, Pods: 16, Denied: 6, Warned: 1, Allowed: 2, Exempt: 1, Affected: 6, Namespaces: 3}
	if p.Summary != want {
		t.Errorf("Summary = %+v, want %+v", p.Summary, want)
	}
	if len(p.Bases) < 3 || !p.Bases[0].Stale || !p.Bases[1].Stale || p.Bases[2].Stale {
		t.Fatalf("Bases = %+v, want the two stale bases first", p.Bases)
	}
	if b := p.Bases[0]; b.Name != demo.Host+"/base/debian:12" || b.CurrentDigest.IsZero() || b.Workloads != 2 || b.Denied != 1 || b.Warned != 1 {
		t.Errorf("Bases[0] = %+v, want debian:12's old digest under 2 workloads (1 denied, 1 warned) with its current digest", b)
	}
	last := p.Workloads[len(p.Workloads)-1]
	if last.Outcome != OutcomeExempt || last.Namespace != "kube-system" || last.First != nil {
		t.Errorf("last workload = %+v, want kube-system/admin exempt, without violations", last)
	}
	for _, w := range p.Workloads {
		if w.Outcome == OutcomeDeny && (w.First == nil || w.First.Action != policy.Enforce || w.Image == "") {
			t.Errorf("denied workload %s/%s: first violation %+v, image %q; want the enforced violation and its container's image", w.Namespace, w.Name, w.First, w.Image)
		}
	}
}

// Nothing denies in audit mode: every workload with a violation is
// audited, and the headline says so.
func TestPreviewInAuditModeDeniesNothing(t *testing.T) {
	t.Parallel()
	p := NewPreview(buildDemo(t, policy.Audit))
	if p.Summary.Denied != 0 || p.Summary.Audited != 7 || p.Summary.Affected != 7 {
		t.Errorf("Summary in audit mode = %+v, want 0 denied, 7 audited", p.Summary)
	}
	var b bytes.Buffer
	if err := WritePreviewText(&b, p); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(b.String(), "\n"); first != "in audit mode: 7 workloads in 3 namespaces would be admitted and audited" {
		t.Errorf("headline in audit mode = %q", first)
	}
}
