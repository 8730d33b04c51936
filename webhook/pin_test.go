package webhook

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"log/slog"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/internal/imagetest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// servePinner serves pn as Serve does.
func servePinner(t testing.TB, pn *Pinner) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(Endpoint(pn, margin, nil))
	t.Cleanup(srv.Close)
	return srv
}

// digestOf asks the registry at addr, not strata, what repoTag points to.
func digestOf(t testing.TB, addr, repoTag string) string {
	t.Helper()
	ref, err := name.ParseReference(addr+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("HEAD %s: %v", repoTag, err)
	}
	return desc.Digest.String()
}

// pushMultiPlatform pushes shop/multi:1.0 and :latest, an index of a linux/amd64 and a
// linux/arm64 build of the web shop, and returns the index digest.
func pushMultiPlatform(t testing.TB, addr string) string {
	t.Helper()
	return pushIndex(t, addr, "shop/multi", []string{"1.0", "latest"}, "amd64", "arm64")
}

// pushIndex pushes to repo, under each tag, an index of a linux build of
// the web shop for each architecture, and returns the index digest.
func pushIndex(t testing.TB, addr, repo string, tags []string, archs ...string) string {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range archs {
		img, err := demo.BuildImage(empty.Image, "65532", "multi web shop "+arch)
		if err != nil {
			t.Fatal(err)
		}
		img = imagetest.WithConfig(t, img, func(cf *v1.ConfigFile) { cf.Architecture = arch })
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	var d v1.Hash
	for _, tag := range tags {
		d = imagetest.Push(t, addr+"/"+repo+":"+tag, idx)
	}
	return d.String()
}

// patchOp is one operation of a JSON patch.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

// pinned asserts an allowed answer whose only effect is the patch want and
// an audit annotation naming the same digests.
func pinnedTo(want ...patchOp) func(*testing.T, *admissionv1.AdmissionResponse) {
	return func(t *testing.T, r *admissionv1.AdmissionResponse) {
		t.Helper()
		if !r.Allowed || len(r.Warnings) != 0 {
			t.Fatalf("response = allowed %v, warnings %q; want allowed without warnings", r.Allowed, r.Warnings)
		}
		var got []patchOp
		if len(r.Patch) > 0 {
			if err := json.Unmarshal(r.Patch, &got); err != nil {
				t.Fatalf("patch %s is not a JSON patch: %v", r.Patch, err)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("patch = %+v, want %+v", got, want)
		}
		if len(want) == 0 {
			if r.PatchType != nil || len(r.AuditAnnotations) != 0 {
				t.Errorf("patch type %v, audit annotations %v; want neither without a patch", r.PatchType, r.AuditAnnotations)
			}
			return
		}
		if r.PatchType == nil || *r.PatchType != admissionv1.PatchTypeJSONPatch {
			t.Errorf("patch type = %v, want JSONPatch", r.PatchType)
		}
		var recorded []Pin
		if err := json.Unmarshal([]byte(r.AuditAnnotations[PinnedAnnotation]), &recorded); err != nil {
			t.Fatalf("auditAnnotations[%s] = %q: %v", PinnedAnnotation, r.AuditAnnotations[PinnedAnnotation], err)
		}
		if len(recorded) != len(want) {
			t.Fatalf("auditAnnotations[%s] records %d pins, want %d", PinnedAnnotation, len(recorded), len(want))
		}
		for i, pin := range recorded {
			if pin.Pinned != want[i].Value || !strings.HasSuffix(want[i].Value, "@"+pin.Digest) {
				t.Errorf("auditAnnotations[%s][%d] = %+v, want it to name %s", PinnedAnnotation, i, pin, want[i].Value)
			}
		}
	}
}

// pinNormalised is what a golden pin response pins down.
type pinNormalised struct {
	Allowed          bool              `json:"allowed"`
	Code             int32             `json:"code"`
	Patch            json.RawMessage   `json:"patch,omitempty"`
	AuditAnnotations map[string]string `json:"auditAnnotations,omitempty"`
}

func normalisePin(t *testing.T, r *admissionv1.AdmissionResponse) pinNormalised {
	t.Helper()
	n := pinNormalised{Allowed: r.Allowed, AuditAnnotations: r.AuditAnnotations}
	if r.Result != nil {
		n.Code = r.Result.Code
	}
	if len(r.Patch) > 0 {
		var compact bytes.Buffer
		if err := json.Compact(&compact, r.Patch); err != nil {
			t.Fatal(err)
		}
		n.Patch = compact.Bytes()
	}
	return n
}

// TestPinGolden posts testdata/pin/*.request.json to /mutate/pin. The
// requests name demo images by their digests, which are fixed (the demo
// builds them deterministically); each check computes its expected patch
// from what the registry says, not from strata.
func TestPinGolden(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	multi := pushMultiPlatform(t, p.Demo.Addr)
	web := digestOf(t, p.Demo.Addr, "shop/web:1.0")
	billing := digestOf(t, p.Demo.Addr, "shop/billing:1.0")
	resolver := newResolver(t, p.Demo.Addr)
	checker := NewChecker(CheckerOptions{
		Resolver: resolver, Lineage: p.Catalog, Evaluator: p.Engine,
		ExemptImages:     []string{demo.Host + "/shop/admin:*"},
		ExemptNamespaces: []string{"kube-system"},
	})
	srv := servePinner(t, NewPinner(PinnerOptions{Checker: checker}))
	ref := func(repo string) string { return demo.Host + "/" + repo }
	replace := func(path, value string) patchOp { return patchOp{Op: "replace", Path: path, Value: value} }

	cases := map[string]func(*testing.T, *admissionv1.AdmissionResponse){
		"tag": pinnedTo(replace("/spec/containers/0/image", ref("shop/web:1.0@"+web))),
		// The tag is not what decides: the runtimes pull the digest, and
		// validation judges it, even when the tag now points elsewhere.
		"tag-and-digest": pinnedTo(),
		"digest":         pinnedTo(),
		"no-tag":         pinnedTo(replace("/spec/containers/0/image", ref("shop/multi:latest@"+multi))),
		// The index digest, so that each node still picks its platform.
		"multi-platform": pinnedTo(replace("/spec/containers/0/image", ref("shop/multi:1.0@"+multi))),
		"init-sidecar-containers": pinnedTo(
			replace("/spec/initContainers/0/image", ref("shop/billing:1.0@"+billing)),
			replace("/spec/initContainers/1/image", ref("shop/web:1.0@"+web)),
			replace("/spec/containers/0/image", ref("shop/web:1.0@"+web)),
			replace("/spec/containers/1/image", ref("shop/billing:1.0@"+billing)),
		),
		// kubectl debug: only the ephemeral container added is pinned;
		// the running containers keep their image (a change would restart them).
		"ephemeral-subresource": pinnedTo(replace("/spec/ephemeralContainers/1/image", ref("shop/web:1.0@"+web))),
		"update-image":          pinnedTo(replace("/spec/containers/1/image", ref("shop/billing:1.0@"+billing))),
		"update-labels":         pinnedTo(),
		"exempt-image":          pinnedTo(replace("/spec/containers/1/image", ref("shop/web:1.0@"+web))),
		"exempt-namespace":      pinnedTo(),
		"resolution-failure":    pinnedTo(replace("/spec/containers/1/image", ref("shop/web:1.0@"+web))),
		"invalid-reference":     pinnedTo(),
		// Workloads keep their template as written: no drift for GitOps.
		"deployment":  pinnedTo(),
		"status":      pinnedTo(),
		"no-uid":      pinnedTo(),
		"invalid-pod": pinnedTo(),
	}

	files, err := filepath.Glob(filepath.Join("testdata", "pin", "*.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".request.json"))
	}
	for name := range cases {
		if !slices.Contains(names, name) {
			t.Errorf("case %s has no testdata/pin/%s.request.json", name, name)
		}
	}
	for _, name := range names {
		check, ok := cases[name]
		if !ok {
			t.Errorf("testdata/pin/%s.request.json has no case", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(filepath.Join("testdata", "pin", name+".request.json"))
			if err != nil {
				t.Fatal(err)
			}
			resp, raw := post(t, http.DefaultClient, srv.URL, "application/json", body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("POST %s = HTTP %d, want 200", name, resp.StatusCode)
			}
			got := decodeReview(t, raw)
			check(t, got)

			goldenPath := filepath.Join("testdata", "pin", name+".response.json")
			want := goldenReview(t, goldenPath, raw)
			if want == nil {
				return
			}
			if g, w := normalisePin(t, got), normalisePin(t, want); !reflect.DeepEqual(g, w) {
				gj, _ := json.MarshalIndent(g, "", "  ")
				wj, _ := json.MarshalIndent(w, "", "  ")
				t.Errorf("POST %s =\n%s\nwant (%s)\n%s", name, gj, goldenPath, wj)
			}
		})
	}
}

// TestPinAddsNoRegistryRequest: the API server calls /mutate/pin, then the
// validating path with the pinned pod. The validating call must find the
// pinned digest in the caches the pin filled: pinning costs no registry
// request, and there is no second resolution in which the tag could move.
func TestPinAddsNoRegistryRequest(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	pod := func(image string) []byte {
		return reviewOf(t, "uid-cost", "Pod", "CREATE", podOf("web", image), nil)
	}
	image := p.Demo.Ref("shop/web:1.0")

	// Validation alone, from cold caches.
	addr, alone := countingRegistry(t, p.Demo.Addr)
	validateAlone := serveHandler(t, handlers(p.checkerVia(t, addr), nil, nil)[policy.Enforce])
	if r := admit(t, validateAlone.URL, pod(image)); !r.Allowed {
		t.Fatalf("validate(shop/web:1.0) = denied %+v, want allowed", r.Result)
	}

	// Pin, then validate the pinned pod, from cold caches.
	addr, both := countingRegistry(t, p.Demo.Addr)
	c := p.checkerVia(t, addr)
	pinner := servePinner(t, NewPinner(PinnerOptions{Checker: c}))
	validate := serveHandler(t, handlers(c, nil, nil)[policy.Enforce])
	r := admit(t, pinner.URL, pod(image))
	var ops []patchOp
	if err := json.Unmarshal(r.Patch, &ops); err != nil || len(ops) != 1 {
		t.Fatalf("pin(shop/web:1.0) patch = %s (%v), want one operation", r.Patch, err)
	}
	afterPin := both.Load()
	if r := admit(t, validate.URL, pod(ops[0].Value)); !r.Allowed {
		t.Fatalf("validate(%s) = denied %+v, want allowed", ops[0].Value, r.Result)
	}
	if both.Load() != alone.Load() {
		t.Errorf("registry requests: pin %d + validate the pinned pod %d = %d; validate alone %d; want the same",
			afterPin, both.Load()-afterPin, both.Load(), alone.Load())
	}
	if both.Load() != afterPin {
		t.Errorf("validating the pinned pod made %d registry requests, want 0 (the pin's resolution is cached)", both.Load()-afterPin)
	}
}

// The attack: the tag is re-pointed while the registry refuses strata's
// re-check. Enforce refuses to decide on the stale digest; a pin to it
// would turn the tag into a digest validation cannot see is stale, and
// the pod would be allowed on a resolution enforce refuses.
func TestStaleTagResolutionIsNotPinned(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	addr, down := switchableRegistry(t, p.Demo.Addr)
	var elapsed atomic.Int64
	now := func() time.Time {
		return time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC).Add(time.Duration(elapsed.Load()))
	}
	resolver, err := images.NewResolver(images.Options{
		Hosts: map[string]string{demo.Host: addr}, Insecure: []string{demo.Host},
		Keychain: authn.NewMultiKeychain(), TagTTL: time.Minute, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(resolver.Close)
	c := NewChecker(CheckerOptions{Resolver: resolver, Lineage: p.Catalog, Evaluator: p.Engine})
	pinner := servePinner(t, NewPinner(PinnerOptions{Checker: c}))
	body := reviewOf(t, "uid-stale", "Pod", "CREATE", podOf("web", p.Demo.Ref("shop/web:1.0")), nil)
	if r := admit(t, pinner.URL, body); len(r.Patch) == 0 {
		t.Fatalf("pin(shop/web:1.0, registry up) = no patch, want one")
	}

	elapsed.Add(int64(12 * time.Minute))
	down.Store(true)
	r := admit(t, pinner.URL, body)
	if !r.Allowed || len(r.Patch) != 0 || len(r.AuditAnnotations) != 0 {
		t.Errorf("pin(shop/web:1.0 past its TTL, registry answering 503) = allowed %v, patch %s, audit %v; want allowed and untouched", r.Allowed, r.Patch, r.AuditAnnotations)
	}
}

// A pinning webhook that fails must not stand between a pod and
// validation: a registry that is down, a Pinner without a Checker (a
// panic) each answer allowed and untouched.
func TestPinFailureNeverDenies(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	body := reviewOf(t, "uid-down", "Pod", "CREATE", podOf("web", p.Demo.Ref("shop/web:1.0")), nil)
	for name, pn := range map[string]*Pinner{
		"registry down": NewPinner(PinnerOptions{Checker: p.checkerVia(t, closedAddr(t))}),
		"panic":         NewPinner(PinnerOptions{}),
	} {
		r := admit(t, servePinner(t, pn).URL, body)
		if !r.Allowed || len(r.Patch) != 0 || r.UID != "uid-down" {
			t.Errorf("pin(%s) = allowed %v, uid %q, patch %s; want allowed, untouched, for uid-down", name, r.Allowed, r.UID, r.Patch)
		}
	}
}

// The decision log line names the digest pinned; it is written before the
// answer, so it is there as soon as the answer arrives (docs/serving.md).
func TestPinLogLineNamesTheDigest(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	srv := servePinner(t, NewPinner(PinnerOptions{Checker: p.Checker, Logger: logger}))
	admit(t, srv.URL, reviewOf(t, "uid-log", "Pod", "CREATE", podOf("web", p.Demo.Ref("shop/web:1.0")), nil))
	want := digestOf(t, p.Demo.Addr, "shop/web:1.0")
	var line struct {
		Msg    string `json:"msg"`
		UID    string `json:"uid"`
		Pinned []Pin  `json:"pinned"`
	}
	if err := json.Unmarshal([]byte(logs.String()), &line); err != nil {
		t.Fatalf("log = %s: %v", logs.String(), err)
	}
	if line.Msg != "admission pin" || line.UID != "uid-log" || len(line.Pinned) != 1 || line.Pinned[0].Digest != want || line.Pinned[0].Container != "app" {
		t.Errorf("log line = %s, want one pin of container app to %s", logs.String(), want)
	}
	// The request's fields docs/pinning.md lists.
	var fields map[string]any
	if err := json.Unmarshal([]byte(logs.String()), &fields); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"uid", "operation", "kind", "namespace", "name", "user", "dryRun", "pinnedCount", "pinned"} {
		if _, ok := fields[key]; !ok {
			t.Errorf("log line = %s, want a %s", logs.String(), key)
		}
	}
}

// strata serve answers PinPath beside the validating paths, over TLS.
func TestServePinPath(t *testing.T) {
	t.Parallel()
	srv, pool, p := serveDemo(t, ServerOptions{})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(client.CloseIdleConnections)
	review := reviewOf(t, "serve-pin", "Pod", "CREATE", podOf("web", p.Demo.Ref("shop/web:1.0")), nil)
	resp, raw := post(t, client, "https://"+srv.addr+PinPath+"?timeout=5s", "application/json", review)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s = HTTP %d %s, want 200", PinPath, resp.StatusCode, raw)
	}
	want := p.Demo.Ref("shop/web:1.0@" + digestOf(t, p.Demo.Addr, "shop/web:1.0"))
	pinnedTo(patchOp{Op: "replace", Path: "/spec/containers/0/image", Value: want})(t, decodeReview(t, raw))
}

// The attack: an exemption written for digests (repository@*) does not
// cover the tag a pod names, so validation checks the tag. Pinning the tag
// would rewrite it into a form the exemption covers, and validation would
// let the root image through unchecked. Such an image is left as written.
func TestPinNeverMakesAnImageExempt(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	c := NewChecker(CheckerOptions{
		Resolver: newResolver(t, p.Demo.Addr), Lineage: p.Catalog, Evaluator: p.Engine,
		ExemptImages: []string{demo.Host + "/shop/admin@*"},
	})
	image := p.Demo.Ref("shop/admin:1.0")
	body := reviewOf(t, "uid-exempt-form", "Pod", "CREATE", podOf("admin", image), nil)
	r := admit(t, servePinner(t, NewPinner(PinnerOptions{Checker: c})).URL, body)
	if !r.Allowed || len(r.Patch) != 0 {
		t.Fatalf("pin(%s, exempt.images [%s/shop/admin@*]) = allowed %v, patch %s; want allowed and untouched", image, demo.Host, r.Allowed, r.Patch)
	}
	if v := admit(t, serveHandler(t, handlers(c, nil, nil)[policy.Enforce]).URL, body); v.Allowed {
		t.Errorf("validate(%s) in enforce = allowed, want the root image denied", image)
	}
	// Left as written on purpose, it is no unpinned-image where pinning is
	// required: only its own policies speak of it.
	pinned := serveHandler(t, NewHandler(HandlerOptions{Checker: c, Mode: policy.Enforce, RequirePins: true}))
	if v := admit(t, pinned.URL, body); v.Allowed || v.Result == nil || strings.Contains(v.Result.Message, UnpinnedImage) || !strings.Contains(v.Result.Message, "[run-as-root]") {
		t.Errorf("validate(%s) on the pinned path = allowed %v, %+v; want denied by run-as-root alone, no %s", image, v.Allowed, v.Result, UnpinnedImage)
	}
}

// A pod past the bound on evaluations is refused by validation without a
// registry request; the pin makes none either, and leaves it as written.
func TestPinPastTheEvaluationBoundMakesNoRegistryRequest(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	addr, requests := countingRegistry(t, p.Demo.Addr)
	c := NewChecker(CheckerOptions{Resolver: newResolver(t, addr), Lineage: p.Catalog, Evaluator: p.Engine, MaxEvaluations: 2})
	pod := podOf("many", p.Demo.Ref("shop/web:1.0"))
	var ctrs []any
	for _, n := range []string{"a", "b", "c"} {
		ctrs = append(ctrs, map[string]any{"name": n, "image": p.Demo.Ref("shop/web:1.0")})
	}
	pod["spec"].(map[string]any)["containers"] = ctrs
	r := admit(t, servePinner(t, NewPinner(PinnerOptions{Checker: c})).URL, reviewOf(t, "uid-many", "Pod", "CREATE", pod, nil))
	if !r.Allowed || len(r.Patch) != 0 || requests.Load() != 0 {
		t.Errorf("pin(3 containers, MaxEvaluations 2) = allowed %v, patch %s, %d registry requests; want allowed, untouched, none", r.Allowed, r.Patch, requests.Load())
	}
}

// The chart's some-image-has-no-digest condition (PinMatchConditions)
// spares the API server the call for a Pod whose images all contain '@'.
// That is sound only while the Pinner never pins such an image: an image
// with '@' is by digest, or not a valid reference, and both stay as written.
func FuzzImageWithAnAtIsNeverPinned(f *testing.F) {
	for _, seed := range []string{
		"shop/web@sha256:" + strings.Repeat("a", 64),
		"shop/web:1.0@sha256:" + strings.Repeat("b", 64),
		"registry.example.com:5000/shop/web:1.0@sha256:" + strings.Repeat("c", 64),
		"shop/web@sha256:short", "shop/web:1.0@", "@sha256:" + strings.Repeat("d", 64),
		"user@registry.example.com/shop/web:1.0", "shop/web:1@0", "shop@web:1.0",
		"shop/web@sha512:" + strings.Repeat("e", 128),
	} {
		f.Add(seed)
	}
	pn := NewPinner(PinnerOptions{Checker: NewChecker(CheckerOptions{})})
	f.Fuzz(func(t *testing.T, image string) {
		if !strings.Contains(image, "@") {
			return
		}
		w := &workload.Workload{Containers: []workload.Container{{Name: "app", Type: workload.TypeContainer, Image: image}}}
		if got := pn.opts.Checker.pinCandidates(w, nil); len(got) != 0 {
			t.Errorf("pinCandidates(%q) = %+v, want none: PinMatchConditions skips a Pod whose images all contain '@'", image, got)
		}
	})
}

// pinPatch writes the patch without encoding/json; it must say exactly
// what marshalling the operations would, whatever an image holds.
func FuzzPinPatchIsTheMarshalledPatch(f *testing.F) {
	for _, s := range []string{"registry.example.com/shop/web:1.0@sha256:" + strings.Repeat("a", 64), "", `"quoted"\`, "<&>", "tab\there", "é\u2028", "\xff"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, image string, index int) {
		if index < 0 {
			index = -index
		}
		at := []pinned{
			{Pin: Pin{Pinned: image}, slot: slot{"initContainers", index}},
			{Pin: Pin{Pinned: image + "x"}, slot: slot{"containers", 0}},
		}
		want, err := json.Marshal([]patchOp{
			{Op: "replace", Path: "/spec/initContainers/" + strconv.Itoa(index) + "/image", Value: image},
			{Op: "replace", Path: "/spec/containers/0/image", Value: image + "x"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := pinPatch(at); !bytes.Equal(got, want) {
			t.Errorf("pinPatch(%q) =\n%s\nwant\n%s", image, got, want)
		}
	})
}

// docs/pinning.md: the audit annotation pinned is a JSON list of
// {"container","image","pinned","digest"} within 8 KiB, however many images
// a pod pins: the API server stores it with every audit event. A pod of 200
// containers pins them all, and the annotation keeps the first pins that fit.
func TestPinnedAuditAnnotationStaysWithin8KiB(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	image := p.Demo.Ref("shop/web:1.0")
	pod := podOf("many", image)
	const containers = 200
	var ctrs []any
	for i := range containers {
		ctrs = append(ctrs, map[string]any{"name": fmt.Sprintf("a-container-with-a-rather-long-name-%03d", i), "image": image})
	}
	pod["spec"].(map[string]any)["containers"] = ctrs
	r := admit(t, servePinner(t, NewPinner(PinnerOptions{Checker: p.Checker})).URL, reviewOf(t, "uid-many-pins", "Pod", "CREATE", pod, nil))
	var patch []patchOp
	if err := json.Unmarshal(r.Patch, &patch); err != nil || !r.Allowed || len(patch) != containers {
		t.Fatalf("pin(%d containers of %s) = allowed %v, %d patch operations (%v); want allowed, all %d pinned", containers, image, r.Allowed, len(patch), err, containers)
	}
	annotation := r.AuditAnnotations[PinnedAnnotation]
	var recorded []Pin
	if err := json.Unmarshal([]byte(annotation), &recorded); err != nil {
		t.Fatalf("auditAnnotations[%s] = %q: %v", PinnedAnnotation, annotation, err)
	}
	if len(annotation) > 8192 || len(recorded) == 0 || len(recorded) >= containers {
		t.Errorf("auditAnnotations[%s] = %d bytes recording %d of %d pins; want at most 8192 bytes recording some of them", PinnedAnnotation, len(annotation), len(recorded), containers)
	}
	for i, pin := range recorded {
		if want := fmt.Sprintf("a-container-with-a-rather-long-name-%03d", i); pin.Container != want || pin.Image != image || pin.Pinned != patch[i].Value || !strings.HasSuffix(pin.Pinned, "@"+pin.Digest) {
			t.Errorf("auditAnnotations[%s][%d] = %+v, want container %s's pin of %s to %s", PinnedAnnotation, i, pin, want, image, patch[i].Value)
		}
	}
}
