package webhook

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-project/strata/webhook/policy"
)

// badImageRollout is a custom resource whose pod template holds a number
// where an image belongs: it cannot be decoded.
func badImageRollout() map[string]any {
	return map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
		"metadata": map[string]any{"name": "shop", "namespace": "shop"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "app", "image": 5}},
		}}},
	}
}

// A request strata cannot read was denied in every mode: an audit or warn
// namespace, which must never deny, refused a custom resource whose image
// was the number 5.
func TestUndecodableObjectInAuditOrWarnIsNotDenied(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	review := reviewOf(t, "bad-image", "Rollout", "CREATE", badImageRollout(), nil)
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	hs := handlers(p.checkerVia(t, closedAddr(t)), m, slog.New(slog.NewJSONHandler(&logs, nil)))
	t.Cleanup(func() {
		// Audit records what it allowed: the metric and the decision log.
		got := gather(t, reg)
		if v := got[`strata_violations_total{action="audit",policy="invalid-object"}`]; v != 1 {
			t.Errorf("strata_violations_total{action=audit,policy=invalid-object} = %v, want 1", v)
		}
		if log := logs.Await(`"mode":"audit"`, 1); !strings.Contains(log, `"mode":"audit"`) || !strings.Contains(log, `"policies":["invalid-object"]`) {
			t.Errorf("the decision log does not record the audit of the undecodable object:\n%s", log)
		}
	})
	for mode, h := range hs {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			r := admit(t, serveHandler(t, h).URL, review)
			switch mode {
			case policy.Enforce:
				if r.Allowed || r.Result == nil || r.Result.Code != http.StatusBadRequest || !strings.Contains(r.Result.Message, "decoding Rollout") {
					t.Errorf("enforce: allowed %v, status %+v; want a 400 naming the decoding error", r.Allowed, r.Result)
				}
			case policy.Warn:
				if !r.Allowed || len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0], "["+InvalidObject+"] decoding Rollout") {
					t.Errorf("warn: allowed %v, warnings %q, status %+v; want allowed with one %s warning", r.Allowed, r.Warnings, r.Result, InvalidObject)
				}
			case policy.Audit:
				if !r.Allowed || len(r.Warnings) != 0 || !strings.Contains(r.AuditAnnotations["violations"], InvalidObject) {
					t.Errorf("audit: allowed %v, warnings %q, audit %q; want allowed, recorded in the audit annotation", r.Allowed, r.Warnings, r.AuditAnnotations)
				}
			}
		})
	}
}

// A panic was answered with a 500 by controller-runtime's recovery: a
// denial, in audit mode too.
func TestPanicInAuditOrWarnIsNotDenied(t *testing.T) {
	t.Parallel()
	body := reviewOf(t, "panic-uid", "Pod", "CREATE", podOf("admin", "strata-demo.local/shop/admin:1.0"), nil)
	for _, mode := range []policy.Action{policy.Warn, policy.Audit} {
		srv := serveHandler(t, NewHandler(HandlerOptions{Mode: mode})) // no Checker: Check panics
		r := admit(t, srv.URL, body)
		if !r.Allowed || r.UID != "panic-uid" {
			t.Errorf("%s: a panicking handler answered allowed %v, uid %q, status %+v; want allowed", mode, r.Allowed, r.UID, r.Result)
		}
	}
}

const labelPolicy = `package strata.policies.team_label

violation contains {"msg": "the workload has no team label", "container": input.container.name, "platform": ""} if {
	not input.workload.labels.team
}
`

// An update that changes only labels was never evaluated, so a user policy
// on labels could be walked around: create with the label, then remove it.
func TestLabelRemovalIsEvaluatedWhenAPolicyReadsLabels(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "team.rego"), []byte(labelPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	engine, err := policy.New(t.Context(), policy.Options{Paths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	checker := NewChecker(CheckerOptions{Resolver: newResolver(t, closedAddr(t)), Lineage: newPipeline(t).Catalog, Evaluator: engine})
	srv := serveHandler(t, handlers(checker, nil, nil)[policy.Enforce])
	labelled, bare := podOf("web", "strata-demo.local/shop/web:1.0"), podOf("web", "strata-demo.local/shop/web:1.0")
	labelled["metadata"].(map[string]any)["labels"] = map[string]string{"team": "shop"}
	r := admit(t, srv.URL, reviewOf(t, "unlabel", "Pod", "UPDATE", bare, labelled))
	if r.Allowed || r.Result == nil || !strings.Contains(r.Result.Message, "[team-label]") {
		t.Errorf("UPDATE removing the team label = allowed %v, status %+v; want denied by team-label", r.Allowed, r.Result)
	}
}

// Decide must not drop a violation whose action it does not know.
func TestDecideTreatsUnknownActionAsEnforce(t *testing.T) {
	t.Parallel()
	d := Decide(policy.Enforce, []policy.Violation{{Policy: "p", Action: "deny", Msg: "m", Container: "c"}})
	if d.Allowed || len(d.Violations) != 1 || d.Violations[0].Action != policy.Enforce {
		raw, _ := json.Marshal(d)
		t.Errorf("Decide(enforce, [action deny]) = %s, want denied with action enforce", raw)
	}
	if d := Decide("bogus", []policy.Violation{{Policy: "p", Action: policy.Warn, Msg: "m"}}); !d.Allowed || len(d.Warnings) != 1 {
		t.Errorf("Decide(bogus mode, [warn]) = allowed %v, warnings %q; want a warning", d.Allowed, d.Warnings)
	}
}

// reviewOfKind is reviewOf with the request's kind and resource set in
// full, as the API server sends them.
func reviewOfKind(t *testing.T, uid, group, kind, resource, subresource string, object, oldObject any) []byte {
	t.Helper()
	return editReview(t, reviewOf(t, uid, kind, "CREATE", object, oldObject), func(req map[string]any) {
		req["kind"] = map[string]string{"group": group, "version": "v1", "kind": kind}
		req["resource"] = map[string]string{"group": group, "version": "v1", "resource": resource}
		if subresource != "" {
			req["subResource"] = subresource
			req["operation"] = "UPDATE"
		}
	})
}

// Kinds were matched by name alone: a custom resource named CronJob or Pod
// in its own group was read where the built-in keeps its pod, found none,
// and was allowed unchecked; a pod template with only init containers, and
// the pre-1.22 EphemeralContainers object, were not checked either.
func TestWorkloadShapesThatWereAllowedUnchecked(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	srv := serveHandler(t, handlers(p.checkerVia(t, closedAddr(t)), nil, nil)[policy.Enforce])
	root := "strata-demo.local/shop/admin:1.0"
	templated := func(kind string, spec map[string]any) map[string]any {
		return map[string]any{
			"apiVersion": "example.com/v1", "kind": kind,
			"metadata": map[string]any{"name": "sneaky", "namespace": "shop"},
			"spec":     map[string]any{"template": map[string]any{"spec": spec}},
		}
	}
	containers := map[string]any{"containers": []any{map[string]any{"name": "app", "image": root}}}
	ephemeral := map[string]any{
		"apiVersion": "v1", "kind": "EphemeralContainers",
		"metadata":            map[string]any{"name": "web", "namespace": "shop"},
		"ephemeralContainers": []any{map[string]any{"name": "debugger", "image": root}},
	}
	for _, tc := range []struct {
		name   string
		review []byte
	}{
		{"custom CronJob in another group", reviewOfKind(t, "cr-cronjob", "example.com", "CronJob", "cronjobs", "", templated("CronJob", containers), nil)},
		{"custom Pod in another group", reviewOfKind(t, "cr-pod", "example.com", "Pod", "pods", "", templated("Pod", containers), nil)},
		{"template with only initContainers", reviewOfKind(t, "cr-init", "example.com", "Rollout", "rollouts", "",
			templated("Rollout", map[string]any{"initContainers": []any{map[string]any{"name": "setup", "image": root}}}), nil)},
		{"pre-1.22 EphemeralContainers object", reviewOfKind(t, "old-ephemeral", "", "EphemeralContainers", "pods", "ephemeralcontainers",
			ephemeral, map[string]any{"apiVersion": "v1", "kind": "EphemeralContainers", "metadata": map[string]any{"name": "web"}})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := admit(t, srv.URL, tc.review)
			if r.Allowed || r.Result == nil || !strings.Contains(r.Result.Message, "[image-resolution]") {
				t.Errorf("POST %s = allowed %v, status %+v; want its container checked (denied: the registry is unreachable)", tc.name, r.Allowed, r.Result)
			}
		})
	}
}
