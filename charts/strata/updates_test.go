package strata_test

import "testing"

// The webhook's matchConditions kept every Pod update that changes no image
// from strata: right for the built-ins, but a policy of your own that reads
// the labels could be walked around by removing a label after creation.
func TestPodLabelUpdateIsSentWhenCustomPoliciesAreInstalled(t *testing.T) {
	t.Parallel()
	vwc := render(t, "--set", `policies.custom.team\.rego=package strata.policies.team`).webhookConfig()
	for _, mode := range modes {
		if w := entry(t, vwc, mode); len(w.MatchConditions) != 0 {
			t.Errorf("%s: with custom policies, matchConditions = %v, want none: every Pod update is sent", mode, w.MatchConditions)
		}
	}
}
