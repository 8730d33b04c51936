package strata_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestCloudIdentityValues: ci/cloud-values.yaml annotates strata's service
// accounts with each cloud's identity, labels the pods for Azure workload
// identity, and turns the helpers on in strata.yaml.
func TestCloudIdentityValues(t *testing.T) {
	t.Parallel()
	r := render(t, "-f", "ci/cloud-values.yaml")
	want := map[string]string{
		"eks.amazonaws.com/role-arn":        "arn:aws:iam::123456789012:role/strata-registry-read",
		"iam.gke.io/gcp-service-account":    "strata-registry-read@my-project.iam.gserviceaccount.com",
		"azure.workload.identity/client-id": "11111111-2222-3333-4444-555555555555",
	}
	if n := r.count("ServiceAccount"); n != 2 {
		t.Fatalf("%d service accounts, want strata's and the audit's", n)
	}
	for _, sa := range all[corev1.ServiceAccount](r, "ServiceAccount") {
		for k, v := range want {
			if sa.Annotations[k] != v {
				t.Errorf("service account %s: annotation %s = %q, want %q", sa.Name, k, sa.Annotations[k], v)
			}
		}
	}
	if got := r.deployment().Spec.Template.Labels["azure.workload.identity/use"]; got != "true" {
		t.Errorf("pod label azure.workload.identity/use = %q, want \"true\"", got)
	}
	_, cfg := r.strataConfig()
	creds, _ := cfg["registry"].(map[string]any)["credentials"].([]any)
	if len(creds) != 3 || creds[0] != "ecr" || creds[1] != "google" || creds[2] != "azure" {
		t.Errorf("strata.yaml registry.credentials = %v, want [ecr google azure]", creds)
	}

	plain := render(t)
	if _, labelled := plain.deployment().Spec.Template.Labels["azure.workload.identity/use"]; labelled {
		t.Error("pods labelled for Azure workload identity with azure not in registry.credentials")
	}
	if _, cfg := plain.strataConfig(); cfg["registry"].(map[string]any)["credentials"] != nil {
		t.Error("registry.credentials set by default; want none")
	}
}
