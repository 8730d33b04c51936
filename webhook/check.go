// Package webhook joins the pipeline's stages into one evaluation — a
// workload's images resolved, their lineage found, the policies evaluated —
// and serves it as a Kubernetes validating admission webhook.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/input"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// Resolver reads image facts; *images.Resolver is one.
type Resolver interface {
	Resolve(ctx context.Context, image string, access images.Access) (*images.Image, error)
}

// cachedResolver is a Resolver that can answer from its caches alone;
// *images.Resolver is one.
type cachedResolver interface {
	Cached(image string, access images.Access) (*images.Image, bool)
}

// Lineager finds an image's lineage; *lineage.Catalog is one.
type Lineager interface {
	Lineage(ctx context.Context, f *images.Facts, access images.Access) lineage.Lineage
}

// Evaluator runs the policies on one input; *policy.Engine is one.
type Evaluator interface {
	Evaluate(ctx context.Context, container, platform string, input policy.Input) []policy.Violation
}

// Credentials gives a pod's registry credentials; *images.PullSecrets is one.
type Credentials interface {
	Access(ctx context.Context, namespace, serviceAccount string, secrets []string) (images.Access, error)
}

// DefaultResolveBudget bounds the registry work of one check unless
// registry.timeout says otherwise: well within the 5 s webhook timeout the
// chart sets.
const DefaultResolveBudget = 3 * time.Second

// CheckerOptions configure a Checker.
type CheckerOptions struct {
	Resolver  Resolver
	Lineage   Lineager
	Evaluator Evaluator
	// Credentials, when set, reads each pod's pull secrets; otherwise
	// strata's own credentials are used for every image.
	Credentials Credentials
	// ExemptNamespaces are never evaluated, by name: never by a label or
	// annotation a tenant could set.
	ExemptNamespaces []string
	// ExemptImages are images.Pattern globs on canonical references of
	// images that are never checked.
	ExemptImages []string
	// Concurrency bounds parallel image resolutions per workload. Default: 8.
	Concurrency int
	// ResolveBudget bounds the registry work of one check (registry.timeout).
	// Default: DefaultResolveBudget.
	ResolveBudget time.Duration
	// MaxEvaluations bounds the containers × platforms evaluated for one
	// workload, so that a request naming thousands of images is answered in
	// time: past it the workload gets one image-resolution violation that
	// names the bound, and no registry work is done. Default: 1000.
	MaxEvaluations int
	// EvalReserve is kept from ctx's deadline for evaluating the policies
	// after the registry work. Default: 200ms.
	EvalReserve time.Duration
	// Inputs, when set, remembers the image and lineage parts of the policy
	// input, so that an image's facts and lineage are built into input
	// once, not for every container, pod and request that runs it.
	Inputs *input.Parts
	// Logger receives one line per cause of failed resolutions, not one per
	// container. Default: discard.
	Logger *slog.Logger
}

// Checker evaluates a workload: the one evaluation path behind the webhook
// and `strata check`. It owns the exemptions, so that every front end
// exempts the same namespaces and images.
type Checker struct {
	opts         CheckerOptions
	platforms    int
	exemptImages []images.Pattern
}

// NewChecker returns a Checker.
func NewChecker(opts CheckerOptions) *Checker {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.ResolveBudget <= 0 {
		opts.ResolveBudget = DefaultResolveBudget
	}
	if opts.MaxEvaluations <= 0 {
		opts.MaxEvaluations = 1000
	}
	if opts.EvalReserve <= 0 {
		opts.EvalReserve = 200 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	// The platforms an image is checked on, known before resolving it when
	// the resolver says (*images.Resolver does), for the bound on evaluations.
	platforms := 1
	if p, ok := opts.Resolver.(interface{ Platforms() []string }); ok && len(p.Platforms()) > 0 {
		platforms = len(p.Platforms())
	}
	// A pattern that does not compile exempts nothing: Config.Validate
	// refuses it before a Checker is built from a configuration.
	var exempt []images.Pattern
	for _, s := range opts.ExemptImages {
		if p, err := images.CompilePattern(s); err == nil {
			exempt = append(exempt, p)
		}
	}
	return &Checker{opts: opts, platforms: platforms, exemptImages: exempt}
}

// Check resolves the workload's images (each distinct reference once,
// concurrently, within ctx's deadline), finds their lineage and evaluates
// every policy for every container and platform. A failure to resolve an
// image or to read pull secrets is evaluated as a resolution error, never
// skipped; so is an image that resolved to no platform, and, unless the
// request is decided in warn or audit mode, a tag resolution past its TTL
// that the registry failed to confirm.
//
// A request in an exempt namespace is not evaluated: Check returns no
// violation, and callers that report exemptions ask NamespaceExempt first.
func (c *Checker) Check(ctx context.Context, req policy.Request, w *workload.Workload) []policy.Violation {
	return c.check(ctx, req, w, nil)
}

// Examined is what one check learned of one container: the image it
// resolved, the facts and lineage of each platform evaluated, or the error
// that was evaluated in their place. The inventory, audit and graph are
// built from it, so that they see exactly what the policies saw.
type Examined struct {
	Container workload.Container
	// Image is nil when the image was not resolved; Err then says why.
	Image     *images.Image
	Err       error
	Platforms []ExaminedPlatform
}

// ExaminedPlatform is one evaluated platform of a container's image.
type ExaminedPlatform struct {
	Facts   *images.Facts
	Lineage lineage.Lineage
}

// Examination is a check's violations and what it learned on the way.
// Containers lists the checked containers in the workload's order; an
// exempt image's container is not in it, and a workload in an exempt
// namespace has none.
type Examination struct {
	Violations []policy.Violation
	Containers []Examined
}

// Examine is Check, also returning what the check learned of each
// container: the same evaluation, for front ends that report more than the
// verdict (audit, graph). A workload past MaxEvaluations or the deadline
// names the containers it did not evaluate with that cause as Err.
func (c *Checker) Examine(ctx context.Context, req policy.Request, w *workload.Workload) Examination {
	var ex Examination
	if !c.NamespaceExempt(req.Namespace) {
		// Room for every container: appending one at a time grew it twice.
		ex.Containers = make([]Examined, 0, len(w.Containers))
	}
	ex.Violations = c.check(ctx, req, w, func(e Examined) { ex.Containers = append(ex.Containers, e) })
	return ex
}

// check is Check; seen, when set, is told of each checked container.
func (c *Checker) check(ctx context.Context, req policy.Request, w *workload.Workload, seen func(Examined)) []policy.Violation {
	if c.NamespaceExempt(req.Namespace) {
		return nil
	}
	checked := c.checkedContainers(w)
	if n := len(checked) * c.platforms; n > c.opts.MaxEvaluations {
		return c.overBound(ctx, req, w, checked, n, seen)
	}
	rctx, cancel := c.resolveContext(ctx)
	defer cancel()
	access, accessErr := c.access(rctx, w)
	refs := distinctImages(checked)
	resolved := make([]*images.Image, len(refs))
	errs := make([]error, len(refs))
	if accessErr == nil {
		c.resolve(rctx, refs, access, resolved, errs)
		c.logFailures(errs)
	} else {
		// Every image is left unresolved: logged, or an audit run would
		// say so only in its reports.
		c.opts.Logger.Warn("pull secrets not read", slog.String("namespace", w.Namespace),
			slog.Int("images", len(refs)), slog.String("error", accessErr.Error()))
		for i := range errs {
			errs[i] = accessErr
		}
	}
	if c.opts.Credentials == nil {
		for i, err := range errs {
			errs[i] = images.OwnCredentialsOnly(err)
		}
	}
	index := make(map[string]int, len(refs))
	for i, ref := range refs {
		index[ref] = i
		if errs[i] == nil {
			errs[i] = c.refuse(req.Mode, ref, resolved[i])
		}
	}
	if n := c.evaluations(checked, index, resolved, errs); n > c.opts.MaxEvaluations {
		return c.overBound(ctx, req, w, checked, n, seen)
	}

	var out []policy.Violation
	common := &input.Common{}
	for n, ctr := range checked {
		if err := ctx.Err(); err != nil {
			vs := c.pastDeadline(ctx, req, w, checked[n:], err)
			if seen != nil {
				for _, left := range checked[n:] {
					seen(Examined{Container: left, Err: images.BudgetEnded(left.Image, err)})
				}
			}
			return append(out, vs...)
		}
		i := index[ctr.Image]
		s := input.Subject{Request: req, Workload: w, Container: ctr, Image: resolved[i], Err: errs[i], Common: common}
		if s.Err != nil || s.Image == nil {
			out = append(out, c.opts.Evaluator.Evaluate(ctx, ctr.Name, "", s.Value())...)
			if seen != nil {
				seen(Examined{Container: ctr, Image: s.Image, Err: s.Err})
			}
			continue
		}
		facts := forPodOS(s.Image.Platforms, ctr.OS)
		if len(facts) == 0 {
			s.Err = &images.Error{Kind: images.KindPodOS, Image: ctr.Image, Err: fmt.Errorf("the pod says spec.os.name %s; the manifests checked are for %s", ctr.OS, platformsOf(s.Image))}
			out = append(out, c.opts.Evaluator.Evaluate(ctx, ctr.Name, "", s.Value())...)
			if seen != nil {
				seen(Examined{Container: ctr, Image: s.Image, Err: s.Err})
			}
			continue
		}
		e := Examined{Container: ctr, Image: s.Image}
		if seen != nil {
			e.Platforms = make([]ExaminedPlatform, 0, len(facts))
		}
		for _, f := range facts {
			s.Facts = f
			s.Lineage = c.opts.Lineage.Lineage(rctx, f, access)
			out = append(out, c.opts.Evaluator.Evaluate(ctx, ctr.Name, f.Platform, c.opts.Inputs.Input(&s))...)
			if seen != nil {
				e.Platforms = append(e.Platforms, ExaminedPlatform{Facts: f, Lineage: s.Lineage})
			}
		}
		if seen != nil {
			seen(e)
		}
	}
	return out
}

// pastDeadline is the one violation of the containers left when the
// request's deadline ended during evaluation (a config of megabytes named by
// a thousand containers): evaluating them would answer after the API server
// gave up. It is evaluated past the deadline, once, so that its action is
// image-resolution's.
func (c *Checker) pastDeadline(ctx context.Context, req policy.Request, w *workload.Workload, left []workload.Container, cause error) []policy.Violation {
	first := left[0]
	err := &images.Error{Kind: images.KindLimit, Image: first.Image, Err: fmt.Errorf(
		"the request's deadline ended before %d of its containers were evaluated: %w", len(left), cause)}
	c.opts.Logger.Warn("workload not fully checked: the request's deadline ended during evaluation",
		slog.String("kind", w.Kind), slog.String("namespace", w.Namespace), slog.String("name", w.Name),
		slog.Int("containersLeft", len(left)))
	s := input.Subject{Request: req, Workload: w, Container: first, Err: err}
	return c.opts.Evaluator.Evaluate(context.WithoutCancel(ctx), first.Name, "", s.Value())
}

// forPodOS keeps the manifests a node of the pod's OS could run: a pod that
// says spec.os.name runs only on nodes of that OS (the kubelet refuses it
// elsewhere), so a windows pod is never judged by its image's linux
// manifests, nor a linux pod by its windows ones. A pod that says nothing
// may land on any node: every manifest counts, as does one whose config
// names no OS.
func forPodOS(facts []*images.Facts, os string) []*images.Facts {
	if os == "" {
		return facts
	}
	var out []*images.Facts
	for _, f := range facts {
		if fos, _, _ := strings.Cut(f.Platform, "/"); fos == "" || strings.EqualFold(fos, os) {
			out = append(out, f)
		}
	}
	return out
}

func platformsOf(img *images.Image) string {
	var ps []string
	for _, f := range img.Platforms {
		ps = append(ps, f.Platform)
	}
	return strings.Join(ps, ", ")
}

// resolve fills resolved and errs for refs. No resolution starts once ctx
// has ended: the images left get the budget's error without a registry
// request, so that a request naming thousands of images cannot leave
// thousands of fetches running after it was answered.
//
// Images the resolver has cached are answered first, without a goroutine:
// starting and waking one per image was a tenth of a warm admission.
func (c *Checker) resolve(ctx context.Context, refs []string, access images.Access, resolved []*images.Image, errs []error) {
	cached, _ := c.opts.Resolver.(cachedResolver)
	var (
		g    *errgroup.Group
		gctx context.Context
	)
	for i, ref := range refs {
		if err := ctx.Err(); err != nil {
			errs[i] = images.BudgetEnded(ref, err)
			continue
		}
		if cached != nil {
			if img, ok := cached.Cached(ref, access); ok {
				resolved[i] = img
				continue
			}
		}
		if g == nil {
			g, gctx = errgroup.WithContext(ctx)
			g.SetLimit(c.opts.Concurrency)
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				errs[i] = images.BudgetEnded(ref, err)
				return nil
			}
			resolved[i], errs[i] = c.opts.Resolver.Resolve(gctx, ref, access)
			return nil
		})
	}
	if g != nil {
		_ = g.Wait()
	}
}

// refuse returns why a resolved image cannot be decided on, or nil.
func (c *Checker) refuse(mode policy.Action, ref string, img *images.Image) error {
	switch {
	case img == nil || len(img.Platforms) == 0:
		return images.NoPlatforms(ref)
	case img.Stale && mode != policy.Warn && mode != policy.Audit:
		// Enforce, or a mode this code does not know: the strictest.
		return img.RefuseStale()
	}
	return nil
}

// evaluations counts the policy evaluations the workload needs: one per
// platform of each container's image, one for an image that failed.
func (c *Checker) evaluations(checked []workload.Container, index map[string]int, resolved []*images.Image, errs []error) int {
	n := 0
	for _, ctr := range checked {
		i := index[ctr.Image]
		if errs[i] != nil {
			n++
		} else {
			n += len(resolved[i].Platforms)
		}
	}
	return n
}

// overBound is the one violation of a workload past MaxEvaluations,
// reported on its first container.
func (c *Checker) overBound(ctx context.Context, req policy.Request, w *workload.Workload, checked []workload.Container, evaluations int, seen func(Examined)) []policy.Violation {
	first := checked[0]
	err := &images.Error{Kind: images.KindLimit, Image: first.Image, Err: fmt.Errorf(
		"the workload has %d containers to check: %d evaluations (containers × platforms), past the bound of %d per request",
		len(checked), evaluations, c.opts.MaxEvaluations)}
	if seen != nil {
		for _, ctr := range checked {
			seen(Examined{Container: ctr, Err: err})
		}
	}
	c.opts.Logger.Warn("workload not checked: past the bound on evaluations per request",
		slog.String("kind", w.Kind), slog.String("namespace", w.Namespace), slog.String("name", w.Name),
		slog.Int("containers", len(checked)), slog.Int("evaluations", evaluations), slog.Int("maxEvaluations", c.opts.MaxEvaluations))
	s := input.Subject{Request: req, Workload: w, Container: first, Err: err}
	return c.opts.Evaluator.Evaluate(ctx, first.Name, "", s.Value())
}

// logFailures logs one line per kind of failure and registry, with how many
// images it hit and one of their errors: a registry that is down for a pod
// of a thousand images is one cause, not a thousand lines.
func (c *Checker) logFailures(errs []error) {
	type cause struct {
		kind     images.Kind
		registry string
	}
	counts := map[cause]int{}
	example := map[cause]error{}
	var order []cause
	for _, err := range errs {
		if err == nil {
			continue
		}
		k := cause{kind: images.KindOf(err)}
		var e *images.Error
		if errors.As(err, &e) {
			k.registry = e.Registry
		}
		if counts[k] == 0 {
			order = append(order, k)
			example[k] = err
		}
		counts[k]++
	}
	for _, k := range order {
		c.opts.Logger.Warn("images not resolved",
			slog.String("kind", string(k.kind)), slog.String("registry", k.registry),
			slog.Int("images", counts[k]), slog.String("example", example[k].Error()))
	}
}

// resolveContext bounds registry work by the budget, and by ctx's deadline
// less the time the evaluation needs afterwards.
func (c *Checker) resolveContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(c.opts.ResolveBudget)
	if d, ok := ctx.Deadline(); ok && d.Add(-c.opts.EvalReserve).Before(deadline) {
		deadline = d.Add(-c.opts.EvalReserve)
	}
	return context.WithDeadline(ctx, deadline)
}

func (c *Checker) access(ctx context.Context, w *workload.Workload) (images.Access, error) {
	if c.opts.Credentials == nil {
		return images.Access{}, nil
	}
	return c.opts.Credentials.Access(ctx, w.Namespace, w.ServiceAccountName, w.ImagePullSecrets)
}

// checkedContainers lists the containers whose images are checked: all
// but the exempt ones.
func (c *Checker) checkedContainers(w *workload.Workload) []workload.Container {
	out := make([]workload.Container, 0, len(w.Containers))
	for _, ctr := range w.Containers {
		if !c.ImageExempt(ctr.Image) {
			out = append(out, ctr)
		}
	}
	return out
}

// distinctImages lists the images of containers, each once, in order.
func distinctImages(containers []workload.Container) []string {
	seen := make(map[string]bool, len(containers))
	var out []string
	for _, ctr := range containers {
		if !seen[ctr.Image] {
			seen[ctr.Image] = true
			out = append(out, ctr.Image)
		}
	}
	return out
}

// NamespaceExempt reports whether workloads in namespace are never
// evaluated. The namespace must be the request's, which the API server
// sets, never one the object says of itself.
func (c *Checker) NamespaceExempt(namespace string) bool {
	return slices.Contains(c.opts.ExemptNamespaces, namespace)
}

// ImageExempt reports whether image is never checked. It matches the
// canonical form only, so that another spelling of an image cannot claim an
// exemption meant for a different one.
func (c *Checker) ImageExempt(image string) bool {
	if len(c.exemptImages) == 0 {
		return false
	}
	ref, err := images.ParseReference(image)
	if err != nil {
		return false
	}
	for _, p := range c.exemptImages {
		if p.Match(ref.String()) {
			return true
		}
	}
	return false
}
