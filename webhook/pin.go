package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/workload"
)

// PinPath is the URL path of the mutating webhook that pins a pod's images
// to the digests strata resolved.
const PinPath = "/mutate/pin"

// PinnedAnnotation is the audit annotation that lists the images pinned
// (the API server prefixes it with the webhook's name).
const PinnedAnnotation = "pinned"

// PinMatchConditions are the match conditions of a pin entry: the API
// server calls PinPath only when Handle could pin something, since the call
// itself, not strata's work, is most of what pinning costs. The chart renders
// these (charts/strata's tests compare them); the e2e and bench-apiserver
// registrations use them as they are.
//
// With failurePolicy Ignore, a condition that fails to evaluate skips the
// call, so each is written to be true whenever an image could need pinning,
// whatever the shape of the Pod: every optional list is guarded with has(),
// and CEL's || is true as soon as one side is, even when another side fails.
func PinMatchConditions() []admissionregistrationv1.MatchCondition {
	return []admissionregistrationv1.MatchCondition{
		{
			// Handle pins only images an update adds or changes: an update
			// that changes no image (labels, finalizers, status) is skipped.
			Name: "pod-update-changes-an-image",
			Expression: "request.operation != 'UPDATE' || " +
				"(has(request.subResource) && request.subResource != '') || " +
				"object.spec.containers.map(c, c.image) != oldObject.spec.containers.map(c, c.image) || " +
				"(has(object.spec.initContainers) ? object.spec.initContainers.map(c, c.image) : []) != " +
				"(has(oldObject.spec.initContainers) ? oldObject.spec.initContainers.map(c, c.image) : [])",
		},
		{
			// Handle leaves every image that contains '@' as written: it is
			// by digest, or not a valid reference (FuzzImageWithAnAtIsNeverPinned).
			// A Pod whose images all have one — pinned already, on a
			// reinvocation after another webhook's change, or from a
			// template written by digest — has nothing to pin.
			Name: "some-image-has-no-digest",
			Expression: "(has(object.spec.containers) && object.spec.containers.exists(c, has(c.image) && !c.image.contains('@'))) || " +
				"(has(object.spec.initContainers) && object.spec.initContainers.exists(c, has(c.image) && !c.image.contains('@'))) || " +
				"(has(object.spec.ephemeralContainers) && object.spec.ephemeralContainers.exists(c, has(c.image) && !c.image.contains('@')))",
		},
	}
}

// PinnerOptions configure a Pinner.
type PinnerOptions struct {
	// Checker resolves the images: the validating handlers' own, so that
	// the validating call that follows the pin finds the digest in the
	// same caches and costs no registry request.
	Checker *Checker
	Logger  *slog.Logger
}

// Pinner answers the mutating AdmissionReviews of PinPath: every container
// image of a Pod that names no digest gets the digest strata resolved it
// to, so that the kubelet pulls exactly what the validating webhook
// evaluated, whatever the tag points to later. It never denies: a
// failure leaves the image as written, and validation decides by the mode.
type Pinner struct {
	opts PinnerOptions
}

// NewPinner returns a Pinner.
func NewPinner(opts PinnerOptions) *Pinner {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pinner{opts: opts}
}

// Pin is one image strata pinned.
type Pin struct {
	Container string `json:"container"`
	// Image is the image as it was written; Pinned is what it became.
	Image  string `json:"image"`
	Pinned string `json:"pinned"`
	Digest string `json:"digest"`
}

// Handle answers one mutating admission request. Every answer allows.
func (p *Pinner) Handle(ctx context.Context, req admission.Request) admission.Response {
	resp, _ := p.handleWorkload(ctx, req, nil)
	return resp
}

// readWorkload reads a Pod's images in the review's pass (Endpoint); the
// object of any other kind is left unread.
func (p *Pinner) readWorkload(kind metav1.GroupVersionKind, d *jsontext.Decoder) (*workload.Workload, error) {
	if kind.Group != "" || kind.Kind != "Pod" {
		return nil, nil
	}
	return workload.ReadPodImages(d)
}

// handleWorkload pins req's images, given its Pod's images when the
// review's pass read them, or nil to decode them from its bytes. Its log
// line is written before it returns: it leaves none to write.
func (p *Pinner) handleWorkload(ctx context.Context, req admission.Request, read *workload.Workload) (resp admission.Response, _ decisionLine) {
	start := time.Now()
	var (
		pins []Pin
		note string
	)
	defer func() {
		// Pinning is an addition to validation, never a gate: a panic
		// leaves the pod as written for the validating webhook to judge.
		if r := recover(); r != nil {
			p.opts.Logger.Error("panic while pinning images", "uid", string(req.UID), "panic", r, "stack", string(debug.Stack()))
			resp, pins, note = admission.Allowed(""), nil, "panic"
		}
		p.record(req, pins, note, time.Since(start))
	}()
	var at []pinned
	at, note = p.pins(ctx, req, read)
	resp = admission.Allowed("")
	if len(at) == 0 {
		return resp, decisionLine{}
	}
	pins = make([]Pin, len(at))
	for i := range at {
		pins[i] = at[i].Pin
	}
	resp.Patch = pinPatch(at)
	patchType := admissionv1.PatchTypeJSONPatch
	resp.PatchType = &patchType
	resp.AuditAnnotations = map[string]string{PinnedAnnotation: pinsAuditJSON(pins)}
	return resp, decisionLine{}
}

// pinned is a Pin and where its image stands in the Pod.
type pinned struct {
	Pin
	slot
}

// slot is where a container stands in the Pod: its list and index.
type slot struct {
	list  string // "initContainers", "containers" or "ephemeralContainers"
	index int
}

// pins returns what to pin in the request's Pod, or nothing and why.
func (p *Pinner) pins(ctx context.Context, req admission.Request, read *workload.Workload) ([]pinned, string) {
	if req.UID == "" {
		return nil, "no uid"
	}
	if req.Kind.Group != "" || req.Kind.Kind != "Pod" || req.Resource.Group != "" || req.Resource.Resource != "pods" {
		return nil, "not a Pod"
	}
	switch {
	case req.Operation == admissionv1.Create && req.SubResource == "":
	case req.Operation == admissionv1.Update && (req.SubResource == "" || req.SubResource == "ephemeralcontainers"):
	default:
		return nil, "no container added"
	}
	if p.opts.Checker.NamespaceExempt(req.Namespace) {
		return nil, "namespace " + req.Namespace + " is exempt"
	}
	// Only what pinning reads is decoded: most of a Pod as the API server
	// sends it (managedFields, volumes, probes, status) is skipped unread.
	w, err := read, error(nil)
	if w == nil {
		w, err = workload.DecodePodImages(req.Object.Raw)
	}
	if err != nil {
		return nil, "the object is not a valid Pod"
	}
	// The same refusal as the validating handler's: the namespace whose
	// pull secrets are read is the request's.
	if w.Namespace != "" && w.Namespace != req.Namespace {
		return nil, "the object's namespace is not the request's"
	}
	w.Namespace = req.Namespace
	if w.Name == "" {
		w.Name = req.Name
	}
	var old *workload.Workload
	if req.Operation == admissionv1.Update {
		if old, err = workload.DecodePodImages(req.OldObject.Raw); err != nil {
			return nil, "the old object is not a valid Pod"
		}
	}
	// Validation refuses such a workload without resolving anything: so
	// does the pin, before any per-container work.
	if p.opts.Checker.pastEvaluationBound(w) {
		return nil, "past the bound on evaluations per request"
	}
	candidates := p.opts.Checker.pinCandidates(w, old)
	if len(candidates) == 0 {
		return nil, ""
	}
	refs := make([]string, 0, len(candidates))
	seen := make(map[string]bool, len(candidates))
	for _, c := range candidates {
		if !seen[c.Image] {
			seen[c.Image] = true
			refs = append(refs, c.Image)
		}
	}
	digests := p.opts.Checker.pinnable(ctx, w, refs)
	var out []pinned
	for _, c := range candidates {
		d, ok := digests[c.Image]
		if !ok {
			continue
		}
		pinned, ok := p.opts.Checker.pinnedForm(c.Image, d)
		if !ok {
			continue
		}
		c.Digest, c.Pinned = d.String(), pinned
		out = append(out, c)
	}
	return out, ""
}

// pinCandidates lists the containers whose image names no digest, is not
// exempt, and — on an update — was not there before: an image change is
// the only moment pinning cannot itself restart a container (the kubelet
// restarts a container whose image field changes), and what was already
// running was pinned, or judged, when it was added.
func (c *Checker) pinCandidates(w, old *workload.Workload) []pinned {
	type named struct{ list, name string }
	var before map[named]string
	if old != nil {
		before = make(map[named]string, len(old.Containers))
		for i, at := range containerSlots(old) {
			before[named{at.list, old.Containers[i].Name}] = old.Containers[i].Image
		}
	}
	var out []pinned
	for i, at := range containerSlots(w) {
		ctr := w.Containers[i]
		if old != nil {
			if image, ok := before[named{at.list, ctr.Name}]; ok && image == ctr.Image {
				continue
			}
		}
		ref, err := images.ParseReference(ctr.Image)
		if err != nil || ref.ByDigest() || c.ImageExempt(ctr.Image) {
			continue
		}
		out = append(out, pinned{Pin: Pin{Container: ctr.Name, Image: ctr.Image}, slot: at})
	}
	return out
}

// containerSlots returns where each of w's containers stands, in
// w.Containers' order (init and sidecars, containers, ephemeral).
func containerSlots(w *workload.Workload) []slot {
	out := make([]slot, len(w.Containers))
	var inits, containers, ephemeral int
	for i, ctr := range w.Containers {
		switch ctr.Type {
		case workload.TypeInit, workload.TypeSidecar:
			out[i] = slot{"initContainers", inits}
			inits++
		case workload.TypeEphemeral:
			out[i] = slot{"ephemeralContainers", ephemeral}
			ephemeral++
		default:
			out[i] = slot{"containers", containers}
			containers++
		}
	}
	return out
}

// pinnedImage is image with the digest strata resolved it to. The tag stays
// for people reading the pod (the runtimes pull by the digest and ignore
// it); one left implicit is written out, so that the pinned image still says
// which tag it came from.
func pinnedImage(image string, d images.Digest) string {
	last := image[strings.LastIndex(image, "/")+1:]
	if !strings.Contains(last, ":") {
		image += ":latest"
	}
	return image + "@" + d.String()
}

// pinnedForm is image pinned to d, and whether the pin may write it: an
// exemption written for digests (repository@*) must not come to cover an
// image checked by its tag, or validation would skip the image it used to
// check.
func (c *Checker) pinnedForm(image string, d images.Digest) (string, bool) {
	pinned := pinnedImage(image, d)
	return pinned, !c.ImageExempt(pinned)
}

// pastEvaluationBound reports a workload Check refuses before resolving anything: more
// containers to check, times platforms, than MaxEvaluations.
func (c *Checker) pastEvaluationBound(w *workload.Workload) bool {
	return len(c.checkedContainers(w))*c.platforms > c.opts.MaxEvaluations
}

// pinnable resolves refs as Check does — the pod's pull secrets, the same
// budget, resolver and caches — and returns the digest of each image that
// can be pinned. An image is left out when it failed to resolve, resolved
// to no checked platform, or was resolved from a tag past its TTL that the
// registry failed to confirm: validation decides those by the mode, and a
// pinned digest would hide them from it (a digest is never stale).
func (c *Checker) pinnable(ctx context.Context, w *workload.Workload, refs []string) map[string]images.Digest {
	rctx, cancel := c.resolveContext(ctx)
	defer cancel()
	access, err := c.access(rctx, w)
	if err != nil {
		return nil
	}
	resolved := make([]*images.Image, len(refs))
	errs := make([]error, len(refs))
	c.resolve(rctx, refs, access, resolved, errs)
	out := make(map[string]images.Digest, len(refs))
	for i, ref := range refs {
		img := resolved[i]
		if errs[i] != nil || img == nil || len(img.Platforms) == 0 || img.Stale || img.Digest.IsZero() {
			continue
		}
		out[ref] = img.Digest
	}
	return out
}

// pinPatch is the JSON patch that writes each pinned image and nothing
// else. It has no "test" operations: the API server applies it to the very
// object it sent, and a patch that fails to apply fails the request
// whatever the failurePolicy, which pinning must never do.
//
// It is written directly rather than marshalled: the paths are fixed but
// for an index, and a pinned image is a reference that parsed, whose
// characters JSON never escapes (appendJSONString escapes anyway).
func pinPatch(at []pinned) []byte {
	n := 2
	for _, a := range at {
		n += len(`{"op":"replace","path":"/spec//20/image","value":""},`) + len(a.list) + len(a.Pinned)
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, a := range at {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"op":"replace","path":"/spec/`...)
		b = append(b, a.list...)
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(a.index), 10)
		b = append(b, `/image","value":`...)
		b = appendJSONString(b, a.Pinned)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendJSONString appends s as a JSON string: as it is between quotes
// when nothing in it needs escaping, through encoding/json otherwise.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			quoted, _ := json.Marshal(s)
			return append(b, quoted...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// pinsAuditJSON keeps as many pins as fit in an audit annotation's budget.
func pinsAuditJSON(pins []Pin) string {
	short := make([]Pin, len(pins))
	for i, pin := range pins {
		short[i] = Pin{Container: truncate(pin.Container, logFieldBytes), Image: truncate(pin.Image, maxWarningBytes), Pinned: truncate(pin.Pinned, maxWarningBytes), Digest: pin.Digest}
	}
	for n := len(short); n > 0; n /= 2 {
		raw, err := json.Marshal(short[:n])
		if err == nil && len(raw) <= maxAuditBytes {
			return string(raw)
		}
	}
	return fmt.Sprintf(`[{"container":"strata","image":"%d images pinned, too many to record here; see the decision log"}]`, len(pins))
}

// record writes the pin's one log line.
func (p *Pinner) record(req admission.Request, pins []Pin, note string, took time.Duration) {
	var lb logBudget
	attrs := []any{
		slog.String("uid", lb.field(string(req.UID))),
		slog.String("operation", lb.field(string(req.Operation))),
		slog.String("kind", lb.field(req.Kind.Kind)),
		slog.String("namespace", lb.field(req.Namespace)),
		slog.String("name", lb.field(req.Name)),
		slog.String("user", lb.field(req.UserInfo.Username)),
		slog.Bool("dryRun", req.DryRun != nil && *req.DryRun),
		slog.Int("pinnedCount", len(pins)),
		slog.Duration("duration", took),
	}
	if note != "" {
		attrs = append(attrs, slog.String("note", note))
	}
	if len(pins) > 0 {
		kept := make([]Pin, 0, len(pins))
		used := 0
		for _, pin := range pins {
			short := Pin{Container: lb.field(pin.Container), Image: lb.cutTo(pin.Image, logViolationBytes), Digest: pin.Digest}
			n := logViolationFixed + escapedLen(short.Container) + escapedLen(short.Image) + len(short.Digest)
			if used+n > logViolationsBytes {
				break
			}
			used += n
			kept = append(kept, short)
		}
		attrs = append(attrs, slog.Any("pinned", pinsLog(kept)))
		if omitted := len(pins) - len(kept); omitted > 0 {
			attrs = append(attrs, slog.Int("pinnedOmitted", omitted))
		}
	}
	if lb.cut > 0 {
		attrs = append(attrs, slog.Int("bytesCut", lb.cut))
	}
	p.opts.Logger.Info("admission pin", attrs...)
}
