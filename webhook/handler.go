package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	Checker *Checker
	// Mode is what a violation does on this handler's path.
	Mode    policy.Action
	Metrics *Metrics
	Logger  *slog.Logger
	// Recorder, when set, receives what each allowed review that is not a
	// dry run saw: strata serve --graph draws it. The handler examines
	// every review (the decision log names the images and their lineage),
	// recorded or not.
	Recorder Recorder
	// RequirePins makes every Pod image the pin webhook (PinPath), called
	// before this one, should have pinned and did not a violation of
	// UnpinnedImage: the handler of PinnedPaths, for namespaces where
	// pinning is on.
	RequirePins bool
}

// Recorder keeps what reviews saw; *inventory.Recorder is one. Record must
// not block: it is called on the admission path.
type Recorder interface {
	Record(mode policy.Action, w *workload.Workload, ex Examination)
}

// Handler answers AdmissionReviews for one mode. It is a controller-runtime
// admission.Handler, served by Endpoint, which decodes the review, bounds its
// body and recovers from panics.
type Handler struct {
	opts    HandlerOptions
	metrics *modeMetrics
}

// NewHandler returns a Handler.
func NewHandler(opts HandlerOptions) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{opts: opts, metrics: opts.Metrics.forMode(opts.Mode)}
}

// InvalidObject is the id of the violation a request strata cannot read
// becomes (an object not valid for its kind, a panic while deciding it): it
// is decided by the mode like any other, so that it denies in enforce and
// never in warn or audit.
const InvalidObject = "invalid-object"

// UnpinnedImage is the id of the violation of a Pod image that names no
// digest where pinning is on (HandlerOptions.RequirePins): the pin leaves
// an image as written when the registry fails its request, and a registry
// that fails only that request would otherwise choose to stay unpinned and
// serve the kubelet another image later. It is decided by the mode.
const UnpinnedImage = "unpinned-image"

// Handle decides one admission request.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	resp, line := h.handleWorkload(ctx, req, nil)
	line.write(&req, &resp)
	return resp
}

// readWorkload reads the request's object in the review's pass (Endpoint).
func (h *Handler) readWorkload(kind metav1.GroupVersionKind, d *jsontext.Decoder) (*workload.Workload, error) {
	return workload.Read(schema.GroupKind{Group: kind.Group, Kind: kind.Kind}, d)
}

// handleWorkload decides req, given its object as a workload when the
// review's pass read it, or nil to decode it from its bytes. The metrics
// count the decision before it returns; its log line is left to line
// (nothing when the log is off), which Endpoint writes once the answer is
// on the wire: the API server waits for the answer, not for the log.
func (h *Handler) handleWorkload(ctx context.Context, req admission.Request, read *workload.Workload) (resp admission.Response, line decisionLine) {
	start := time.Now()
	var (
		w *workload.Workload
		d *Decision
	)
	defer func() {
		// controller-runtime would recover too, but answer a denial (500)
		// whatever the mode.
		if p := recover(); p != nil {
			h.opts.Logger.Error("panic while deciding an admission", "uid", string(req.UID), "panic", p, "stack", string(debug.Stack()))
			resp, d = h.failure(http.StatusInternalServerError, fmt.Errorf("panic: %v", p), "strata failed; report it with the decision log")
		}
		line = h.record(w, d, resp, time.Since(start))
	}()
	resp, w, d = h.handle(ctx, req, read)
	return resp, decisionLine{}
}

// failure decides a request strata could not read by the mode, as a
// violation: enforce answers the error (code and message, so that the
// client sees what is wrong with its object); warn allows with a warning;
// audit allows and records it in the audit annotation, the log and the
// violations metric.
func (h *Handler) failure(code int32, err error, advice string) (admission.Response, *Decision) {
	d := Decide(h.opts.Mode, []policy.Violation{{
		Policy: InvalidObject,
		Action: policy.Enforce,
		Msg:    fmt.Sprintf("%v; %s", err, advice),
	}})
	if !d.Allowed {
		return admission.Errored(code, errors.New(d.Violations[0].Msg)), &d
	}
	return respond(d), &d
}

// respond turns a decision into the admission response.
func respond(d Decision) admission.Response {
	var resp admission.Response
	if d.Allowed {
		resp = admission.Allowed("")
	} else {
		resp = admission.Denied(d.Message)
	}
	resp = resp.WithWarnings(d.Warnings...)
	if d.Audit != "" {
		resp.AuditAnnotations = map[string]string{"violations": d.Audit}
	}
	return resp
}

func (h *Handler) handle(ctx context.Context, req admission.Request, read *workload.Workload) (admission.Response, *workload.Workload, *Decision) {
	// The API server always sends a uid and matches the answer's to it: a
	// review without one is not an admission, and no answer to it can
	// admit or refuse anything. It is refused as malformed in every mode.
	if req.UID == "" {
		return admission.Errored(http.StatusBadRequest, errors.New("the AdmissionReview request has no uid")), nil, nil
	}
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Allowed(""), nil, nil
	}
	if h.opts.Checker.NamespaceExempt(req.Namespace) {
		return admission.Allowed("namespace " + req.Namespace + " is exempt"), nil, nil
	}
	// Of the subresources, only pods/ephemeralcontainers adds containers;
	// it is told by its resource, as its kind is Pod or, before Kubernetes
	// 1.22, EphemeralContainers.
	if req.SubResource != "" && !(req.Resource.Group == "" && req.Resource.Resource == "pods" && req.SubResource == "ephemeralcontainers") {
		return admission.Allowed(""), nil, nil
	}
	kind := schema.GroupKind{Group: req.Kind.Group, Kind: req.Kind.Kind}
	w, err := read, error(nil)
	if w == nil {
		w, err = workload.Decode(kind, req.Object.Raw)
	}
	if errors.Is(err, workload.ErrNoPodTemplate) {
		return admission.Allowed("no pod template"), nil, nil
	}
	if err != nil {
		resp, d := h.failure(http.StatusBadRequest, err, "its pod template was not checked: fix the object")
		return resp, nil, d
	}
	// The namespace whose pull secrets and service account are read is the
	// request's, which the API server sets, never the object's: a review
	// posted straight to the port could otherwise borrow another namespace's
	// credentials. The API server never sends a disagreeing pair, so
	// refusing it in every mode cannot block a real object.
	if w.Namespace != "" && w.Namespace != req.Namespace {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("the object's namespace %q is not the request's namespace %q: refusing a review the API server would not send", w.Namespace, req.Namespace)), nil, nil
	}
	w.Namespace = req.Namespace
	if w.Name == "" {
		w.Name = req.Name
	}
	requirePins := h.opts.RequirePins && kind.Group == "" && kind.Kind == "Pod"
	// The old object, read once for both its uses; nil when unreadable,
	// and then every container counts as changed.
	var old *workload.Workload
	if req.Operation == admissionv1.Update && (requirePins || h.opts.Checker.containersDecide()) {
		old, _ = workload.Decode(kind, req.OldObject.Raw)
	}
	// A scale, label or annotation change must never depend on a
	// registry: only a change to what runs, and as whom, is evaluated,
	// when the policies read nothing else an update could change.
	if old != nil && h.opts.Checker.containersDecide() && !workload.ContainersChanged(old, w) {
		return admission.Allowed("no container changed"), w, nil
	}
	dryRun := req.DryRun != nil && *req.DryRun
	preq := policy.Request{
		Operation: string(req.Operation), DryRun: dryRun, Namespace: req.Namespace, User: req.UserInfo.Username,
		Mode: h.opts.Mode,
	}
	ex := h.opts.Checker.Examine(ctx, preq, w)
	violations := ex.Violations
	if requirePins {
		violations = append(violations, h.unpinned(w, old, ex)...)
	}
	d := Decide(h.opts.Mode, violations)
	// Neither a dry run nor a denied review creates anything that will
	// run; recorded, a stream of them (free of quota) pushed what runs out
	// of the bounded record.
	if h.opts.Recorder != nil && !dryRun && d.Allowed {
		h.opts.Recorder.Record(h.opts.Mode, w, ex)
	}
	d.Images = judgedImages(ex)
	d.Lineage = lineageOf(ex)
	return respond(d), w, &d
}

// containersDecide reports whether the policies read only what
// workload.ContainersChanged compares (and what the registry says); an
// evaluator that cannot say so is assumed to read everything.
func (c *Checker) containersDecide() bool {
	e, ok := c.opts.Evaluator.(interface{ ReadsOnlyContainerFacts() bool })
	return ok && e.ReadsOnlyContainerFacts()
}

// record counts the decision in the metrics and returns what writes its
// one log line: nothing when the log is off.
func (h *Handler) record(w *workload.Workload, d *Decision, resp admission.Response, took time.Duration) decisionLine {
	decision := "allowed"
	if !resp.Allowed {
		decision = "denied"
		if resp.Result != nil && resp.Result.Code != http.StatusForbidden {
			decision = "error"
		}
	}
	h.metrics.observe(decision, d, took)
	if !h.opts.Logger.Enabled(context.Background(), slog.LevelInfo) {
		return decisionLine{}
	}
	return decisionLine{h: h, w: w, d: d, decision: decision, took: took}
}

// decisionLine is what a decision's log line needs beyond the request and
// the answer, which its writer is given: a value, not a closure holding
// copies of both, which were three allocations an admission.
type decisionLine struct {
	h        *Handler // nil: no line
	w        *workload.Workload
	d        *Decision
	decision string
	took     time.Duration
}

// write writes the line of the decision on req answered by resp, if any.
func (l decisionLine) write(req *admission.Request, resp *admission.Response) {
	if l.h != nil {
		l.h.logDecision(req, l.w, l.d, resp, l.decision, l.took)
	}
}

// logDecision writes the decision's one log line.
func (h *Handler) logDecision(req *admission.Request, w *workload.Workload, d *Decision, resp *admission.Response, decision string, took time.Duration) {
	var violated []string
	if d != nil {
		for _, v := range d.Violations {
			if !slices.Contains(violated, v.Policy) {
				violated = append(violated, v.Policy)
			}
		}
	}
	name := req.Name
	if w != nil && w.Name != "" {
		name = w.Name
	}
	// Names, users, messages and violations come from tenants and
	// registries: the budget bounds the line (maxDecisionLogLine) and
	// records what it cut, so one pod cannot write megabytes.
	var lb logBudget
	// Room for every attribute the line can have, on the stack: the
	// record copies them.
	var room [maxDecisionAttrs]slog.Attr
	attrs := append(room[:0],
		slog.String("uid", lb.field(string(req.UID))),
		slog.String("mode", string(h.opts.Mode)),
		slog.String("operation", lb.field(string(req.Operation))),
		slog.String("kind", lb.field(req.Kind.Kind)),
		slog.String("namespace", lb.field(req.Namespace)),
		slog.String("name", lb.field(name)),
		slog.String("user", lb.field(req.UserInfo.Username)),
		slog.Bool("dryRun", req.DryRun != nil && *req.DryRun),
		slog.String("decision", decision),
		slog.Any("policies", policiesLog(lb.policies(violated))),
		slog.Duration("duration", took),
	)
	if d != nil && len(d.Images) > 0 {
		kept, omitted := lb.images(d.Images)
		attrs = append(attrs, slog.Any("images", imagesLog(kept)))
		if omitted > 0 {
			attrs = append(attrs, slog.Int("imagesOmitted", omitted))
		}
	}
	if d != nil && len(d.Violations) > 0 {
		kept, omitted := lb.violations(d.Violations)
		attrs = append(attrs, slog.Any("violations", violationsLog(kept)))
		if omitted > 0 {
			attrs = append(attrs, slog.Int("violationsOmitted", omitted))
		}
	}
	if d != nil && len(d.Lineage) > 0 {
		kept, omitted := lb.lineage(d.Lineage)
		attrs = append(attrs, slog.Any("lineage", lineageLog(kept)))
		if omitted > 0 {
			attrs = append(attrs, slog.Int("lineageOmitted", omitted))
		}
	}
	if !resp.Allowed && resp.Result != nil {
		attrs = append(attrs, slog.String("message", lb.message(resp.Result.Message)))
	}
	if lb.cut > 0 {
		attrs = append(attrs, slog.Int("bytesCut", lb.cut))
	}
	// A record without its caller's program counter: no handler strata
	// builds adds the source, and finding it is a stack walk per admission.
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "admission decision", 0)
	r.AddAttrs(attrs...)
	_ = h.opts.Logger.Handler().Handle(context.Background(), r)
}

// maxDecisionAttrs is how many attributes a decision line can have: eleven
// always, then images, violations and lineage with what each omitted, the
// message and bytesCut.
const maxDecisionAttrs = 19

// Paths maps each mode to the URL path the API server calls for it.
var Paths = map[policy.Action]string{
	policy.Enforce: "/validate/enforce",
	policy.Warn:    "/validate/warn",
	policy.Audit:   "/validate/audit",
}

// PinnedPaths are the paths of the modes whose namespaces are pinned
// (PinPath): their handlers require the pins (HandlerOptions.RequirePins).
var PinnedPaths = map[policy.Action]string{
	policy.Enforce: "/validate/enforce/pinned",
	policy.Warn:    "/validate/warn/pinned",
	policy.Audit:   "/validate/audit/pinned",
}

// unpinned returns a violation for each image of the Pod that the pin
// would have pinned to the digest strata resolved and that still names no
// digest; old is the Pod before an update, or nil. An image strata could
// not resolve has its own violation; one whose pinned form is exempt the
// pin leaves as written on purpose.
func (h *Handler) unpinned(w, old *workload.Workload, ex Examination) []policy.Violation {
	resolved := make(map[string]images.Digest, len(ex.Containers))
	for _, e := range ex.Containers {
		if e.Image != nil {
			resolved[e.Container.Image] = e.Image.Digest
		}
	}
	types := make(map[string]string, len(w.Containers)) // names are unique across a pod's lists
	for _, ctr := range w.Containers {
		types[ctr.Name] = ctr.Type
	}
	var out []policy.Violation
	for _, c := range h.opts.Checker.pinCandidates(w, old) {
		d, ok := resolved[c.Image]
		if !ok {
			continue
		}
		if _, pinnable := h.opts.Checker.pinnedForm(c.Image, d); !pinnable {
			continue
		}
		out = append(out, policy.Violation{
			Policy: UnpinnedImage, Action: policy.Enforce, Container: c.Container,
			Msg: fmt.Sprintf("%s: image %q names no digest where strata pins images: the pin could not resolve it (the registry failed or was too slow), so the kubelet would pull the tag, which may by then name another image than the one checked (%s); create the pod again when the registry answers, or write the image by digest", subject(c.Container, types[c.Container]), c.Image, d),
		})
	}
	return out
}

// subject names a container as the policies do (lib.subject in
// policies/lib.rego): `container "web"`, `init container "setup"`.
func subject(name, containerType string) string {
	if containerType == "" || containerType == workload.TypeContainer {
		return fmt.Sprintf("container %q", name)
	}
	return fmt.Sprintf("%s container %q", containerType, name)
}
