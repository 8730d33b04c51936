package strata_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/strata-project/strata/webhook"
)

// pinConfig is the rendered MutatingWebhookConfiguration, or nil when the
// chart rendered none.
func (r rendered) pinConfig() *admissionv1.MutatingWebhookConfiguration {
	r.t.Helper()
	if r.count("MutatingWebhookConfiguration") == 0 {
		return nil
	}
	var mwc admissionv1.MutatingWebhookConfiguration
	r.one("MutatingWebhookConfiguration", &mwc)
	return &mwc
}

// pinnedIn returns the modes whose pin entries the API server would call
// for a namespace named ns.
func pinnedIn(t *testing.T, mwc *admissionv1.MutatingWebhookConfiguration, ns string) []string {
	t.Helper()
	var got []string
	for _, w := range mwc.Webhooks {
		sel, err := metav1.LabelSelectorAsSelector(w.NamespaceSelector)
		if err != nil {
			t.Fatalf("%s: namespaceSelector: %v", w.Name, err)
		}
		if sel.Matches(labels.Set{"kubernetes.io/metadata.name": ns}) {
			got = append(got, strings.TrimSuffix(strings.TrimPrefix(w.Name, "pin-"), ".strata.dev"))
		}
	}
	return got
}

func TestPinWebhookConfiguration(t *testing.T) {
	t.Parallel()
	r := render(t, "--set", "namespaces.enforce={prod}", "--set", "namespaces.warn={staging}",
		"--set", "exempt.namespaces={monitoring}", "--set", "webhook.timeoutSeconds=7")
	mwc := r.pinConfig()
	if mwc == nil {
		t.Fatal("default values rendered no MutatingWebhookConfiguration, want one pinning enforce namespaces")
	}
	if len(mwc.Webhooks) != 1 || mwc.Webhooks[0].Name != "pin-enforce.strata.dev" {
		t.Fatalf("webhooks = %d entries, want only pin-enforce.strata.dev (pinDigests.enabled: enforce only)", len(mwc.Webhooks))
	}
	w := mwc.Webhooks[0]
	vwc := r.webhookConfig()
	validating := entry(t, vwc, "enforce")
	svc := w.ClientConfig.Service
	if svc == nil || svc.Name != fullname || svc.Namespace != namespace || svc.Path == nil || *svc.Path != "/mutate/pin" || svc.Port == nil || *svc.Port != 443 {
		t.Errorf("service = %+v, want %s/%s:443/mutate/pin", svc, namespace, fullname)
	}
	if string(w.ClientConfig.CABundle) != string(validating.ClientConfig.CABundle) || len(w.ClientConfig.CABundle) == 0 {
		t.Errorf("caBundle differs from the validating entry's, or is empty")
	}
	// Pinning never decides: a failure leaves the image for validation.
	if w.FailurePolicy == nil || *w.FailurePolicy != admissionv1.Ignore {
		t.Errorf("failurePolicy = %v, want Ignore", w.FailurePolicy)
	}
	if w.ReinvocationPolicy == nil || *w.ReinvocationPolicy != admissionv1.IfNeededReinvocationPolicy {
		t.Errorf("reinvocationPolicy = %v, want IfNeeded", w.ReinvocationPolicy)
	}
	if w.SideEffects == nil || *w.SideEffects != admissionv1.SideEffectClassNone {
		t.Errorf("sideEffects = %v, want None", w.SideEffects)
	}
	if w.TimeoutSeconds == nil || *w.TimeoutSeconds != 7 {
		t.Errorf("timeoutSeconds = %v, want webhook.timeoutSeconds (7)", w.TimeoutSeconds)
	}
	if w.MatchPolicy == nil || *w.MatchPolicy != admissionv1.Equivalent {
		t.Errorf("matchPolicy = %v, want Equivalent", w.MatchPolicy)
	}
	// Pods only: a workload's template keeps its tag.
	type rule struct {
		resource string
		ops      []admissionv1.OperationType
	}
	var got []rule
	for _, rl := range w.Rules {
		if !slices.Equal(rl.APIGroups, []string{""}) {
			t.Errorf("rule for groups %v, want the core group only", rl.APIGroups)
		}
		for _, res := range rl.Resources {
			got = append(got, rule{res, rl.Operations})
		}
	}
	wantRules := []rule{
		{"pods", []admissionv1.OperationType{admissionv1.Create, admissionv1.Update}},
		{"pods/ephemeralcontainers", []admissionv1.OperationType{admissionv1.Update}},
	}
	if !slices.EqualFunc(got, wantRules, func(a, b rule) bool { return a.resource == b.resource && slices.Equal(a.ops, b.ops) }) {
		t.Errorf("rules = %v, want %v", got, wantRules)
	}
	// The conditions the e2e suite and bench-apiserver register and test
	// against the real API server; CEL ignores the line breaks of YAML's >-.
	want := webhook.PinMatchConditions()
	if !slices.EqualFunc(w.MatchConditions, want, func(a, b admissionv1.MatchCondition) bool {
		return a.Name == b.Name && strings.Join(strings.Fields(a.Expression), " ") == strings.Join(strings.Fields(b.Expression), " ")
	}) {
		t.Errorf("matchConditions =\n%v\nwant webhook.PinMatchConditions()\n%v", w.MatchConditions, want)
	}
	// The same namespaces as the validating enforce entry, by name.
	if !reflect.DeepEqual(w.NamespaceSelector, validating.NamespaceSelector) {
		t.Errorf("namespaceSelector = %v, want the validating enforce entry's %v", w.NamespaceSelector, validating.NamespaceSelector)
	}
	for ns, want := range map[string][]string{
		"prod": {"enforce"}, "staging": nil, "unlisted": nil,
		namespace: nil, "kube-system": nil, "monitoring": nil,
	} {
		if got := pinnedIn(t, mwc, ns); !slices.Equal(got, want) {
			t.Errorf("namespace %s is pinned by %v, want %v", ns, got, want)
		}
	}
}

func TestPinDigestsPerMode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want map[string][]string // namespace → the pin entries that take it
	}{
		{[]string{"--set", "mode=enforce"}, map[string][]string{"unlisted": {"enforce"}, "staging": nil}},
		{[]string{"--set", "pinDigests.enabled.warn=true"}, map[string][]string{"prod": {"enforce"}, "staging": {"warn"}, "unlisted": nil}},
		{[]string{"--set", "pinDigests.enabled.audit=true", "--set", "pinDigests.enabled.enforce=false"}, map[string][]string{"prod": nil, "staging": nil, "unlisted": {"audit"}}},
	} {
		args := append([]string{"--set", "namespaces.enforce={prod}", "--set", "namespaces.warn={staging}"}, tc.args...)
		r := render(t, args...)
		mwc := r.pinConfig()
		// Validation on a pinned mode's path requires the pins
		// (webhook.PinnedPaths): a pin the registry failed cannot leave an
		// image by tag.
		pinnedModes := map[string]bool{}
		for _, modes := range tc.want {
			for _, m := range modes {
				pinnedModes[m] = true
			}
		}
		for _, mode := range []string{"enforce", "warn", "audit"} {
			want := "/validate/" + mode
			if pinnedModes[mode] {
				want += "/pinned"
			}
			if w := entry(t, r.webhookConfig(), mode); *w.ClientConfig.Service.Path != want {
				t.Errorf("%v: the %s entry calls %s, want %s", tc.args, mode, *w.ClientConfig.Service.Path, want)
			}
		}
		if mwc == nil {
			t.Errorf("%v: no MutatingWebhookConfiguration", tc.args)
			continue
		}
		for ns, want := range tc.want {
			if got := pinnedIn(t, mwc, ns); !slices.Equal(got, want) {
				t.Errorf("%v: namespace %s is pinned by %v, want %v", tc.args, ns, got, want)
			}
		}
	}
	off := render(t, "--set", "pinDigests.enabled.enforce=false")
	if mwc := off.pinConfig(); mwc != nil {
		t.Errorf("pinDigests off in every mode rendered a MutatingWebhookConfiguration with %d entries, want none", len(mwc.Webhooks))
	}
	// Pinning reads nothing more than validation does (docs/pinning.md),
	// which reads pull secrets with its own RBAC.
	none := render(t, "-f", "ci/pullsecrets-values.yaml", "--set", "pinDigests.enabled.enforce=false")
	every := render(t, "-f", "ci/pullsecrets-values.yaml", "--set", "pinDigests.enabled.warn=true", "--set", "pinDigests.enabled.audit=true")
	if none.count("ClusterRole")+none.count("Role") == 0 {
		t.Fatal("ci/pullsecrets-values.yaml rendered no Role or ClusterRole to compare")
	}
	for _, kind := range []string{"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"} {
		if !reflect.DeepEqual(none.docs[kind], every.docs[kind]) {
			t.Errorf("the %s objects differ between pinDigests off and on in every mode: want RBAC unchanged by pinning", kind)
		}
	}
	// cert-manager fills the caBundle of the mutating entries too.
	mwc := render(t, "--set", "certificates.mode=certManager").pinConfig()
	if mwc == nil || mwc.Annotations["cert-manager.io/inject-ca-from"] != namespace+"/"+fullname {
		t.Errorf("certManager: MutatingWebhookConfiguration annotations = %v, want cert-manager.io/inject-ca-from", mwc)
	}
	for _, bad := range [][]string{
		{"--set", "pinDigests.enabled.enforce=yes"},
		{"--set", "pinDigests.enabled.default=true"},
		{"--set", "pinDigests.enforce=true"},
	} {
		if _, err := renderErr(t, bad...); err == nil || !strings.Contains(err.Error(), "values don't meet the specifications of the schema") {
			t.Errorf("helm template %v: err = %v, want a schema refusal", bad, err)
		}
	}
}
