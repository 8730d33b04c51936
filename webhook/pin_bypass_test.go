package webhook

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook/policy"
)

// Pinning is what binds the image the kubelet pulls to the one strata
// checked (docs/security.md class 15): without it a registry that answers
// strata and the kubelet differently runs an image strata never saw. The
// pin never denies (failurePolicy Ignore, TestPinFailureNeverDenies), and
// validation, called next, resolves the tag again when the pin's resolution
// failed. So the registry could decide whether the pod is pinned: it fails
// (503, or hangs past the pin's budget, or past the API server's timeout
// for the pin's call) the one request the pin makes, answers validation's,
// and the pod is stored by tag; every later pull asks the same registry,
// which then serves a root image.
//
// Where pinning is on, validation is called on its pinned path
// (PinnedPaths, RequirePins): an image the pin should have pinned that
// still names no digest is an unpinned-image violation, decided by the
// mode. Whatever made the pin miss it, a failed registry request or a call
// the API server gave up on, validation sees the image as stored.
func TestPinFailedByTheRegistryLeavesAnEnforcedPodAllowedByTag(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	addr, down := switchableRegistry(t, p.Demo.Addr)
	c := p.checkerVia(t, addr)
	pinner := servePinner(t, NewPinner(PinnerOptions{Checker: c}))
	pinned := func(mode policy.Action) string {
		return serveHandler(t, NewHandler(HandlerOptions{Checker: c, Mode: mode, RequirePins: true})).URL
	}
	image := p.Demo.Ref("shop/web:1.0")
	body := reviewOf(t, "uid-unpinned", "Pod", "CREATE", podOf("web", image), nil)

	down.Store(true) // the pin's one request
	r := admit(t, pinner.URL, body)
	var ops []patchOp
	if len(r.Patch) > 0 {
		if err := json.Unmarshal(r.Patch, &ops); err != nil {
			t.Fatal(err)
		}
	}
	if !r.Allowed || len(ops) != 0 {
		t.Fatalf("pin(%s, registry failing) = allowed %v, patch %s; want allowed and untouched (the pin never denies)", image, r.Allowed, r.Patch)
	}

	down.Store(false) // validation's
	if r := admit(t, pinned(policy.Enforce), body); r.Allowed || r.Result == nil || !strings.Contains(r.Result.Message, "["+UnpinnedImage+"]") || !strings.Contains(r.Result.Message, image) {
		t.Errorf("validate(enforce, pinned path, %s left unpinned by a pin the registry failed) = allowed %v, %+v; want denied as %s, naming the image", image, r.Allowed, r.Result, UnpinnedImage)
	}
	// Audit never denies: it records the image left unpinned.
	if r := admit(t, pinned(policy.Audit), body); !r.Allowed || !strings.Contains(r.AuditAnnotations["violations"], UnpinnedImage) {
		t.Errorf("validate(audit, pinned path, unpinned) = allowed %v, audit %v; want allowed, the violation recorded", r.Allowed, r.AuditAnnotations)
	}
	// The controls: the same pod on the path of a mode without pinning is
	// allowed, and the pin's own answer, applied, is allowed on the pinned
	// path: the violation is the missing pin, nothing else.
	if r := admit(t, serveHandler(t, handlers(c, nil, nil)[policy.Enforce]).URL, body); !r.Allowed {
		t.Errorf("validate(enforce, unpinned path, %s) = denied %+v; want allowed: pinning is not on there", image, r.Result)
	}
	r = admit(t, pinner.URL, body)
	if err := json.Unmarshal(r.Patch, &ops); err != nil || len(ops) != 1 {
		t.Fatalf("pin(%s, registry answering) = patch %s (%v), want one image pinned", image, r.Patch, err)
	}
	pinnedBody := reviewOf(t, "uid-pinned", "Pod", "CREATE", podOf("web", ops[0].Value), nil)
	if r := admit(t, pinned(policy.Enforce), pinnedBody); !r.Allowed {
		t.Errorf("validate(enforce, pinned path, %s) = denied %+v; want allowed", ops[0].Value, r.Result)
	}
}

// On an update only what the pin would pin counts: a container that was
// there before, by tag, is no unpinned-image (pinning never restarts it);
// an ephemeral container added by tag is one, and added by digest is not.
func TestUnpinnedImageCountsOnlyWhatAnUpdateAdds(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	c := p.checkerVia(t, p.Demo.Addr)
	validate := serveHandler(t, NewHandler(HandlerOptions{Checker: c, Mode: policy.Enforce, RequirePins: true}))
	tag := p.Demo.Ref("shop/web:1.0")
	byDigest := tag + "@" + digestOf(t, p.Demo.Addr, "shop/web:1.0")
	old := podOf("web", tag)
	withDebug := func(image string) map[string]any {
		pod := podOf("web", tag)
		pod["spec"].(map[string]any)["ephemeralContainers"] = []any{map[string]any{"name": "debug", "image": image}}
		return pod
	}
	if r := admit(t, validate.URL, reviewOf(t, "uid-by-digest", "Pod", "UPDATE", withDebug(byDigest), old)); !r.Allowed {
		t.Errorf("update adding an ephemeral container by digest to a pod whose container is by tag = denied %+v; want allowed: the tag was there before", r.Result)
	}
	r := admit(t, validate.URL, reviewOf(t, "uid-by-tag", "Pod", "UPDATE", withDebug(tag), old))
	if r.Allowed || r.Result == nil || !strings.Contains(r.Result.Message, `container "debug"`) || strings.Contains(r.Result.Message, `container "web"`) {
		t.Errorf("update adding an ephemeral container by tag = allowed %v, %+v; want %s for debug only", r.Allowed, r.Result, UnpinnedImage)
	}
}
