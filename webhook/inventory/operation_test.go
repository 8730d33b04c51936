package inventory

import (
	"testing"

	"github.com/strata-project/strata/webhook/pipelinetest"
	"github.com/strata-project/strata/webhook/policy"
)

// newWorkloadsOnly denies on CREATE only, as the policy input's schema
// documents the operation (CREATE, UPDATE, or CHECK for strata check).
const newWorkloadsOnly = `# METADATA
# title: New workloads only from the shop registry
# custom:
#   id: new-workloads
#   action: enforce
package strata.policies.new_workloads

violation contains v if {
	input.request.operation == "CREATE"
	v := {"msg": "new workloads are denied", "container": input.container.name, "platform": object.get(input.image, "platform", "")}
}
`

// The audit's question is what the webhook would decide when the workload
// is next admitted (a rollout creates it again): a policy that decides on
// CREATE, as the input schema documents the operation, must decide the same
// in the inventory, not see an operation ("AUDIT") no policy author was
// told of and pass.
func TestInventoryDecidesAsTheWebhookForAPolicyOnTheOperation(t *testing.T) {
	t.Parallel()
	p := pipelinetest.DemoWithPolicies(t, map[string]string{"new_workloads.rego": newWorkloadsOnly})
	obj := deployment("shop", "web", "shop/web:1.0")
	webhookSays := p.Checker.Check(t.Context(), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, obj.Workload)
	inv, err := Build(t.Context(), []Object{obj}, Options{Checker: p.Checker, Mode: policy.Enforce})
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	byPolicy := func(vs []policy.Violation) (n int) {
		for _, v := range vs {
			if v.Policy == "new-workloads" {
				n++
			}
		}
		return n
	}
	if want, got := byPolicy(webhookSays), byPolicy(inv.Workloads[0].Violations); want != 1 || got != want {
		t.Errorf("the webhook finds %d new-workloads violations on CREATE, the inventory %d", want, got)
	}
}
