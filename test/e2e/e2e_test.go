//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
)

// kubectl runs kubectl for a test; the caller asserts on err and output.
func kubectl(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	return s.kubectlRun(t.Context(), stdin, args...)
}

func apply(t *testing.T, ns, manifest string, extra ...string) (string, error) {
	t.Helper()
	return s.kubectlApply(t.Context(), ns, manifest, extra...)
}

// mustContain fails unless out contains every want; the output is shown.
func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q; kubectl said:\n%s", what, w, out)
		}
	}
}

func mustNotContain(t *testing.T, what, out, unwanted string) {
	t.Helper()
	if strings.Contains(out, unwanted) {
		t.Errorf("%s: output contains %q; kubectl said:\n%s", what, unwanted, out)
	}
}

func mustAllow(t *testing.T, what, out string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: kubectl failed (%v), want the object admitted; kubectl said:\n%s", what, err, out)
	}
}

func mustDeny(t *testing.T, what, out string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: kubectl succeeded, want a denial; kubectl said:\n%s", what, out)
	}
	mustContain(t, what, out, "denied the request", "strata denied this object")
}

// mustNotExist asserts that kind/name was not created.
func mustNotExist(t *testing.T, ns, kind, name string) {
	t.Helper()
	out, err := kubectl(t, "", "get", "-n", ns, strings.ToLower(kind), name)
	if err == nil || !strings.Contains(out, "NotFound") {
		t.Errorf("kubectl get %s %s/%s: want NotFound, got (err %v):\n%s", kind, ns, name, err, out)
	}
}

// loggedDecision waits briefly for strata's decision log line about
// ns/name and returns it: strata writes the line just after it sends the
// answer.
func loggedDecision(t *testing.T, mode, ns, name string) (decision, bool) {
	t.Helper()
	return s.strata.loggedDecision(mode, ns, name)
}

// loggedDecision is p's decision log line about ns/name in mode, as the
// function loggedDecision waits for it.
func (p *strataProc) loggedDecision(mode, ns, name string) (decision, bool) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ds := p.decisions(func(d decision) bool { return d.Mode == mode && d.Namespace == ns && d.Name == name })
		if len(ds) > 0 {
			return ds[len(ds)-1], true
		}
		if time.Now().After(deadline) {
			return decision{}, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestApplyByMode(t *testing.T) {
	showLogsOnFailure(t)
	type badImage struct{ name, image, policy string }
	bad := []badImage{
		{"root", s.images.root, "[run-as-root]"},
		{"unknown-base", s.images.unknown, "[approved-base]"},
		{"too-deep", s.images.deep, "[lineage-depth]"},
	}
	// applyEachBad applies, in ns, a workload of each kind running each bad
	// image, in parallel subtests named kind/image, and gives check what
	// kubectl answered.
	applyEachBad := func(t *testing.T, ns string, check func(t *testing.T, kind, name, what string, b badImage, out string, err error)) {
		for _, kind := range kinds {
			for _, b := range bad {
				t.Run(kind+"/"+b.name, func(t *testing.T) {
					t.Parallel()
					name := strings.ToLower(kind) + "-" + b.name
					out, err := apply(t, ns, manifest(kind, name, b.image))
					check(t, kind, name, "apply "+b.name+" "+kind, b, out, err)
				})
			}
		}
	}
	t.Run("enforce", func(t *testing.T) {
		for _, kind := range kinds {
			t.Run(kind+"/compliant", func(t *testing.T) {
				t.Parallel()
				name := strings.ToLower(kind) + "-good"
				out, err := apply(t, nsEnforce, manifest(kind, name, s.images.good))
				mustAllow(t, "apply compliant "+kind, out, err)
				mustContain(t, "apply compliant "+kind, out, "created")
				mustNotContain(t, "apply compliant "+kind, out, "Warning:")
			})
		}
		applyEachBad(t, nsEnforce, func(t *testing.T, kind, name, what string, b badImage, out string, err error) {
			mustDeny(t, what, out, err)
			mustContain(t, what, out, b.policy)
			mustNotExist(t, nsEnforce, kind, name)
		})
	})
	t.Run("warn", func(t *testing.T) {
		applyEachBad(t, nsWarn, func(t *testing.T, _, _, what string, b badImage, out string, err error) {
			mustAllow(t, what+" in warn", out, err)
			mustContain(t, what+" in warn", out, "created", "Warning:", b.policy)
		})
	})
	t.Run("audit", func(t *testing.T) {
		applyEachBad(t, nsAudit, func(t *testing.T, kind, name, what string, b badImage, out string, err error) {
			mustAllow(t, what+" in audit", out, err)
			mustContain(t, what+" in audit", out, "created")
			mustNotContain(t, what+" in audit", out, "Warning:")
			d, ok := loggedDecision(t, "audit", nsAudit, name)
			if !ok {
				t.Fatalf("no decision log line for %s %s/%s in %s", kind, nsAudit, name, s.strata.Log)
			}
			policy := strings.Trim(b.policy, "[]")
			if d.Decision != "allowed" || d.Kind != kind || !slices.Contains(d.Policies, policy) {
				t.Errorf("decision log for %s/%s = %+v, want kind %s allowed with policy %s", nsAudit, name, d, kind, policy)
			}
		})
	})
}

func TestServerDryRun(t *testing.T) {
	showLogsOnFailure(t)
	t.Run("denied and not created", func(t *testing.T) {
		out, err := apply(t, nsEnforce, podYAML("dry-root", s.images.root), "--dry-run=server")
		mustDeny(t, "apply --dry-run=server root pod", out, err)
		mustContain(t, "apply --dry-run=server root pod", out, "[run-as-root]")
		mustNotExist(t, nsEnforce, "Pod", "dry-root")
		if d, ok := loggedDecision(t, "enforce", nsEnforce, "dry-root"); !ok || !d.DryRun || d.Decision != "denied" {
			t.Errorf("decision log for dry-root = %+v (found %v), want a denied dry run", d, ok)
		}
	})
	t.Run("allowed and not created", func(t *testing.T) {
		out, err := apply(t, nsEnforce, manifest("Deployment", "dry-good", s.images.good), "--dry-run=server")
		mustAllow(t, "apply --dry-run=server compliant deployment", out, err)
		mustContain(t, "apply --dry-run=server compliant deployment", out, "(server dry run)")
		mustNotExist(t, nsEnforce, "Deployment", "dry-good")
	})
}

func TestSetImageToRoot(t *testing.T) {
	showLogsOnFailure(t)
	out, err := apply(t, nsEnforce, manifest("Deployment", "web", s.images.good))
	mustAllow(t, "apply compliant deployment web", out, err)
	out, err = kubectl(t, "", "set", "image", "-n", nsEnforce, "deployment/web", "app="+s.images.root)
	mustDeny(t, "kubectl set image to a root image", out, err)
	mustContain(t, "kubectl set image to a root image", out, "[run-as-root]")
	out, err = kubectl(t, "", "get", "-n", nsEnforce, "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
	if err != nil || strings.TrimSpace(out) != s.images.good {
		t.Errorf("deployment web image after the denied update = %q (err %v), want %s", out, err, s.images.good)
	}
}

func TestEphemeralContainer(t *testing.T) {
	showLogsOnFailure(t)
	out, err := apply(t, nsEnforce, podYAML("debug-target", s.images.good))
	mustAllow(t, "apply compliant pod debug-target", out, err)
	// No -i/-t: kubectl adds the ephemeral container through the
	// pods/ephemeralcontainers subresource and does not attach, which
	// envtest could not do (there is no kubelet).
	t.Run("root image denied", func(t *testing.T) {
		out, err := kubectl(t, "", "debug", "-n", nsEnforce, "debug-target", "--image="+s.images.root, "-c", "debugger", "--target=app")
		mustDeny(t, "kubectl debug with a root image", out, err)
		mustContain(t, "kubectl debug with a root image", out, "[run-as-root]", `ephemeral container "debugger"`)
		out, _ = kubectl(t, "", "get", "-n", nsEnforce, "pod", "debug-target", "-o", "jsonpath={.spec.ephemeralContainers[*].name}")
		if strings.Contains(out, "debugger") {
			t.Errorf("pod debug-target has ephemeral containers %q after a denial", out)
		}
	})
	t.Run("compliant image allowed", func(t *testing.T) {
		out, err := kubectl(t, "", "debug", "-n", nsEnforce, "debug-target", "--image="+s.images.good, "-c", "debugger-ok", "--target=app")
		mustAllow(t, "kubectl debug with a compliant image", out, err)
		out, _ = kubectl(t, "", "get", "-n", nsEnforce, "pod", "debug-target", "-o", "jsonpath={.spec.ephemeralContainers[*].name}")
		if !strings.Contains(out, "debugger-ok") {
			t.Errorf("pod debug-target ephemeral containers = %q, want debugger-ok", out)
		}
	})
}

func TestPrivateRegistry(t *testing.T) {
	showLogsOnFailure(t)
	host := s.priv.addr
	t.Run("no pull secret denied", func(t *testing.T) {
		out, err := apply(t, nsEnforce, podYAML("private-nosecret", s.images.private))
		mustDeny(t, "private image without a pull secret", out, err)
		mustContain(t, "private image without a pull secret", out, "[image-resolution]", host+" denied access to private/app", "add an imagePullSecret")
	})
	t.Run("pull secret allowed", func(t *testing.T) {
		out, err := kubectl(t, "", "create", "secret", "docker-registry", "regcred", "-n", nsEnforce,
			"--docker-server="+host, "--docker-username="+s.priv.user, "--docker-password="+s.priv.pass)
		mustAllow(t, "kubectl create secret docker-registry", out, err)
		out, err = apply(t, nsEnforce, podYAML("private-secret", s.images.private, "regcred"))
		mustAllow(t, "private image with its pull secret", out, err)
		mustContain(t, "private image with its pull secret", out, "created")
		mustNotContain(t, "private image with its pull secret", out, "Warning:")
	})
	t.Run("another namespace's secret not authorised", func(t *testing.T) {
		// regcred exists in e2e-enforce only: naming it from e2e-warn must
		// not lend e2e-enforce's credentials (nor its cached resolution).
		out, err := apply(t, nsWarn, podYAML("private-borrowed", s.images.private, "regcred"))
		mustAllow(t, "private image with another namespace's secret in warn", out, err)
		mustContain(t, "private image with another namespace's secret in warn", out,
			"Warning:", "[image-resolution]", host+" denied access")
	})
}

func TestRegistryDown(t *testing.T) {
	showLogsOnFailure(t)
	s.pub.Stop()
	t.Cleanup(func() {
		if err := s.pub.startAndWait(context.Background()); err != nil {
			t.Errorf("restarting the public registry: %v", err)
		}
	})
	t.Run("label change on an existing non-compliant pod allowed", func(t *testing.T) {
		out, err := kubectl(t, "", "label", "-n", nsEnforce, "pod", legacyPod, "team=payments")
		mustAllow(t, "kubectl label on "+legacyPod, out, err)
		out, err = kubectl(t, "", "get", "-n", nsEnforce, "pod", legacyPod, "-o", "jsonpath={.metadata.labels.team}")
		if err != nil || out != "payments" {
			t.Errorf("label team on %s = %q (err %v), want payments", legacyPod, out, err)
		}
		// strata saw the update (the namespace is selected) and let it through.
		if d, ok := loggedDecision(t, "enforce", nsEnforce, legacyPod); !ok || d.Operation != "UPDATE" || d.Decision != "allowed" {
			t.Errorf("decision log for %s = %+v (found %v), want an allowed UPDATE", legacyPod, d, ok)
		}
	})
	t.Run("enforce denies within the webhook timeout", func(t *testing.T) {
		start := time.Now()
		out, err := apply(t, nsEnforce, podYAML("cold-enforce", s.images.coldEnforce))
		took := time.Since(start)
		mustDeny(t, "apply with the registry down", out, err)
		mustContain(t, "apply with the registry down", out, "[image-resolution]", "cannot reach "+s.pub.addr)
		// The denial is strata's own answer, not the API server's timeout.
		mustNotContain(t, "apply with the registry down", out, "context deadline exceeded")
		if took >= 5*time.Second {
			t.Errorf("denial with the registry down took %s, want < 5s (the webhook timeout)", took)
		}
		t.Logf("denied in %s", took.Round(time.Millisecond))
	})
	t.Run("audit allows", func(t *testing.T) {
		out, err := apply(t, nsAudit, podYAML("cold-audit", s.images.coldAudit))
		mustAllow(t, "apply in audit with the registry down", out, err)
		mustNotContain(t, "apply in audit with the registry down", out, "Warning:")
		if d, ok := loggedDecision(t, "audit", nsAudit, "cold-audit"); !ok || !slices.Contains(d.Policies, "image-resolution") {
			t.Errorf("decision log for cold-audit = %+v (found %v), want image-resolution recorded", d, ok)
		}
	})
}

// TestRegistryBack: a failure to reach the registry is temporary and not
// cached. The test stops and restarts the registry itself, with a tag no
// other test resolves, so it proves this in any order and run alone.
func TestRegistryBack(t *testing.T) {
	showLogsOnFailure(t)
	s.pub.Stop()
	running := false
	t.Cleanup(func() {
		if running {
			return
		}
		if err := s.pub.startAndWait(context.Background()); err != nil {
			t.Errorf("restarting the public registry: %v", err)
		}
	})
	out, err := apply(t, nsEnforce, podYAML("cold-back", s.images.coldBack))
	mustDeny(t, "apply with the registry down", out, err)
	mustContain(t, "apply with the registry down", out, "[image-resolution]", "cannot reach "+s.pub.addr)

	if err := s.pub.startAndWait(t.Context()); err != nil {
		t.Fatalf("restarting the public registry: %v", err)
	}
	running = true
	out, err = apply(t, nsEnforce, podYAML("cold-back", s.images.coldBack))
	mustAllow(t, "apply once the registry is back", out, err)
}

func TestExemptNamespaces(t *testing.T) {
	showLogsOnFailure(t)
	for _, ns := range []string{"kube-system", nsStrata} {
		t.Run(ns+"/review posted to enforce", func(t *testing.T) {
			resp := postReview(t, "/validate/enforce", ns, "exempt-review", s.images.root)
			if !resp.Allowed {
				t.Fatalf("review of a root pod in %s on /validate/enforce: denied (%+v), want allowed", ns, resp.Result)
			}
			if resp.Result == nil || resp.Result.Message != "namespace "+ns+" is exempt" {
				t.Errorf("review of a root pod in %s: result %+v, want message %q", ns, resp.Result, "namespace "+ns+" is exempt")
			}
		})
		t.Run(ns+"/kubectl apply", func(t *testing.T) {
			out, err := apply(t, ns, podYAML("exempt-root", s.images.root))
			mustAllow(t, "root pod in "+ns, out, err)
			mustNotContain(t, "root pod in "+ns, out, "Warning:")
			s.strata.settle()
			if ds := s.strata.decisions(func(d decision) bool { return d.Namespace == ns && d.Name == "exempt-root" }); len(ds) > 0 {
				t.Errorf("strata logged decisions for %s/exempt-root, want none: %+v", ns, ds)
			}
		})
	}
}

// postReview sends an AdmissionReview for a one-container pod straight to
// strata, as the API server would.
func postReview(t *testing.T, path, ns, name, image string) *admissionv1.AdmissionResponse {
	t.Helper()
	return postReviewTo(t, s.strata.addr, path, ns, name, image)
}

// postReviewTo is postReview to the strata process listening at addr.
func postReviewTo(t *testing.T, addr, path, ns, name, image string) *admissionv1.AdmissionResponse {
	t.Helper()
	pod := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": image}}},
	}
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	review := map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{
			"uid":       "e2e-" + ns + "-" + name,
			"kind":      map[string]any{"group": "", "version": "v1", "kind": "Pod"},
			"resource":  map[string]any{"group": "", "version": "v1", "resource": "pods"},
			"name":      name,
			"namespace": ns,
			"operation": "CREATE",
			"userInfo":  map[string]any{"username": "e2e"},
			"object":    json.RawMessage(raw),
		},
	}
	body, err := json.Marshal(review)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: s.pki.TLSConfig()}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://"+addr+path+"?timeout=5s", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	var got admissionv1.AdmissionReview
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil || got.Response == nil {
		t.Fatalf("POST %s: status %s, decoding the AdmissionReview: %v", path, res.Status, err)
	}
	return got.Response
}
