//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-project/strata/webhook"
)

// nsPin is the enforce namespace of the pinning test, served by its own
// strata (strata-pin) through its own webhook configurations, so that the
// rest of the suite sees no mutation.
const nsPin = "e2e-pin"

// pinTagTTL is strata-pin's tag TTL: short, so that a tag re-pointed in the
// registry is read again within the test.
const pinTagTTL = time.Second

// registerPinWebhooks installs what the chart installs for an enforce
// namespace with pinDigests on: a validating entry on /validate/enforce/pinned and
// a mutating entry on /mutate/pin with the chart's match conditions, both
// for namespace ns only, in configurations named name.
func registerPinWebhooks(t *testing.T, addr, ns, name string) {
	t.Helper()
	ctx := t.Context()
	none := admissionregistrationv1.SideEffectClassNone
	equivalent := admissionregistrationv1.Equivalent
	fail, ignore := admissionregistrationv1.Fail, admissionregistrationv1.Ignore
	ifNeeded := admissionregistrationv1.IfNeededReinvocationPolicy
	timeout := int32(5)
	selector := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: []string{ns},
	}}}
	validateURL, pinURL := "https://"+addr+"/validate/enforce/pinned", "https://"+addr+"/mutate/pin"
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:         "enforce.pin.strata.dev",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &validateURL, CABundle: s.pki.CAPEM},
			Rules: []admissionregistrationv1.RuleWithOperations{
				rule("", "v1", "pods", "pods/ephemeralcontainers"),
				rule("apps", "v1", "deployments", "replicasets"),
			},
			FailurePolicy: &fail, MatchPolicy: &equivalent, SideEffects: &none, TimeoutSeconds: &timeout,
			AdmissionReviewVersions: []string{"v1"}, NamespaceSelector: selector,
		}},
	}
	ephemeral := rule("", "v1", "pods/ephemeralcontainers")
	ephemeral.Operations = []admissionregistrationv1.OperationType{admissionregistrationv1.Update}
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:               pinWebhookName(name),
			ClientConfig:       admissionregistrationv1.WebhookClientConfig{URL: &pinURL, CABundle: s.pki.CAPEM},
			Rules:              []admissionregistrationv1.RuleWithOperations{rule("", "v1", "pods"), ephemeral},
			FailurePolicy:      &ignore,
			ReinvocationPolicy: &ifNeeded,
			MatchPolicy:        &equivalent, SideEffects: &none, TimeoutSeconds: &timeout,
			AdmissionReviewVersions: []string{"v1"}, NamespaceSelector: selector,
			MatchConditions: webhook.PinMatchConditions(),
		}},
	}
	adm := s.client.AdmissionregistrationV1()
	if _, err := adm.ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("registering the validating webhook of %s: %v", ns, err)
	}
	t.Cleanup(func() {
		_ = adm.ValidatingWebhookConfigurations().Delete(context.Background(), vwc.Name, metav1.DeleteOptions{})
	})
	if _, err := adm.MutatingWebhookConfigurations().Create(ctx, mwc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("registering the mutating webhook of %s: %v", ns, err)
	}
	t.Cleanup(func() {
		_ = adm.MutatingWebhookConfigurations().Delete(context.Background(), mwc.Name, metav1.DeleteOptions{})
	})

	// Webhook configurations take effect asynchronously: wait until a
	// server dry run is both pinned and validated.
	deadline := time.Now().Add(60 * time.Second)
	for {
		pinned, _ := apply(t, ns, podYAML("pin-probe", s.images.good), "--dry-run=server", "-o", "jsonpath={.spec.containers[0].image}")
		denied, err := apply(t, ns, podYAML("pin-probe", s.images.root), "--dry-run=server")
		if strings.Contains(pinned, "@sha256:") && err != nil && strings.Contains(denied, "[run-as-root]") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhooks of %s did not take effect within 60s; last outputs:\n%s\n%s", ns, pinned, denied)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// pinWebhookName is the name of the pin entry registerPinWebhooks registers
// in configuration name: the API server's metrics label.
func pinWebhookName(name string) string { return "pin-enforce." + name + ".strata.dev" }

// startPinning starts a strata of its own, named name, with config, for
// namespace ns alone: the webhooks the chart installs for an enforce
// namespace with pinDigests on, in configurations also named name.
func startPinning(t *testing.T, name, ns, config string) *strataProc {
	t.Helper()
	pinner := startStrataFor(t, name, ns, config)
	registerPinWebhooks(t, pinner.addr, ns, name)
	return pinner
}

// retag makes repoTag on the public registry point to the image from is.
func retag(t *testing.T, from, repoTag string) string {
	t.Helper()
	ref, err := name.ParseReference(from)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, remote.WithContext(t.Context()), remote.WithTransport(&http.Transport{TLSClientConfig: s.pki.TLSConfig()}))
	if err != nil {
		t.Fatalf("reading %s: %v", from, err)
	}
	d, err := s.pub.push(t.Context(), repoTag, img)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// storedImage reads one image field of a stored object with kubectl.
func storedImage(t *testing.T, kind, objName, jsonpath string) string {
	t.Helper()
	out, err := kubectl(t, "", "get", "-n", nsPin, kind, objName, "-o", "jsonpath={"+jsonpath+"}")
	if err != nil {
		t.Fatalf("kubectl get %s %s: %v\n%s", kind, objName, err, out)
	}
	return strings.TrimSpace(out)
}

// pinLines returns strata-pin's "admission pin" log lines for pod objName.
func pinLines(t *testing.T, log, objName string) []string {
	t.Helper()
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Name string `json:"name"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "admission pin" && line.Name == objName {
			out = append(out, sc.Text())
		}
	}
	return out
}

// TestPinnedPodKeepsTheDigestStrataEvaluated: a pod applied by tag is
// stored with the digest strata evaluated; when the tag is then re-pointed
// to a root image, a new pod by that tag is denied while the first stays
// pinned to the good digest; a Deployment's template is stored as written;
// a kubectl debug ephemeral container is pinned too.
func TestPinnedPodKeepsTheDigestStrataEvaluated(t *testing.T) {
	showLogsOnFailure(t)
	config := strings.Replace(strataConfig(s), "  timeout: 3s\n", fmt.Sprintf("  timeout: 3s\n  tagTTL: %s\n", pinTagTTL), 1)
	if !strings.Contains(config, "tagTTL") {
		t.Fatalf("the suite's strata configuration has no registry.timeout line to add tagTTL after:\n%s", config)
	}
	pinner := startPinning(t, "strata-pin", nsPin, config)

	tag := s.pub.ref("apps/pin:1")
	good := retag(t, s.images.good, "apps/pin:1") // the digest of s.images.good too

	out, err := apply(t, nsPin, podYAML("first", tag))
	mustAllow(t, "apply pod first by tag", out, err)
	want := tag + "@" + good
	if got := storedImage(t, "pod", "first", ".spec.containers[0].image"); got != want {
		t.Fatalf("stored pod first image = %q, want %q (the digest strata evaluated)", got, want)
	}
	if lines := pinLines(t, pinner.Log, "first"); len(lines) == 0 || !strings.Contains(lines[len(lines)-1], good) {
		t.Errorf("strata-pin's log lines for pod first = %q, want one naming %s", lines, good)
	}

	// The tag moves to a root image; strata reads it again once its TTL ran out.
	root := retag(t, s.images.root, "apps/pin:1")
	if root == good {
		t.Fatalf("apps/pin:1 still points to %s after pushing the root image", good)
	}
	time.Sleep(pinTagTTL + 500*time.Millisecond) // the tag TTL is what lets strata see the move
	out, err = apply(t, nsPin, podYAML("second", tag))
	mustDeny(t, "apply pod second by the re-pointed tag", out, err)
	mustContain(t, "apply pod second by the re-pointed tag", out, "[run-as-root]")
	mustNotExist(t, nsPin, "pod", "second")
	if got := storedImage(t, "pod", "first", ".spec.containers[0].image"); got != want {
		t.Errorf("stored pod first image after the tag moved = %q, want it still pinned to %q", got, want)
	}

	// Workloads keep their tag: no drift for GitOps tools.
	out, err = apply(t, nsPin, manifest("Deployment", "web", s.images.good))
	mustAllow(t, "apply deployment web by tag", out, err)
	if got := storedImage(t, "deployment", "web", ".spec.template.spec.containers[0].image"); got != s.images.good {
		t.Errorf("stored deployment web template image = %q, want %q as written", got, s.images.good)
	}

	// kubectl debug adds an ephemeral container through
	// pods/ephemeralcontainers: it is pinned, the running containers are not touched.
	out, err = kubectl(t, "", "debug", "-n", nsPin, "first", "--image="+s.images.good, "-c", "debugger", "--target=app")
	mustAllow(t, "kubectl debug first", out, err)
	if got, want := storedImage(t, "pod", "first", ".spec.ephemeralContainers[0].image"), s.images.good+"@"+good; got != want {
		t.Errorf("stored ephemeral container image = %q, want %q", got, want)
	}
	if got := storedImage(t, "pod", "first", ".spec.containers[0].image"); got != want {
		t.Errorf("stored pod first image after kubectl debug = %q, want %q unchanged", got, want)
	}
}
