// Package webhook joins the pipeline's stages into one evaluation — a
// workload's images resolved, their lineage found, the policies evaluated —
// and serves it as a Kubernetes validating admission webhook.
package webhook

import (
	"context"
	"path"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// Resolver reads image facts; *images.Resolver is one.
type Resolver interface {
	Resolve(ctx context.Context, image string, access images.Access) (*images.Image, error)
}

// Lineager finds an image's lineage; *lineage.Catalog is one.
type Lineager interface {
	Lineage(ctx context.Context, f *images.Facts, access images.Access) lineage.Lineage
}

// Evaluator runs the policies on one input; *policy.Engine is one.
type Evaluator interface {
	Evaluate(ctx context.Context, container, platform string, input policy.Value) []policy.Violation
}

// Credentials gives a pod's registry credentials; *images.PullSecrets is one.
type Credentials interface {
	Access(ctx context.Context, namespace, serviceAccount string, secrets []string) (images.Access, error)
}

// CheckerOptions configure a Checker.
type CheckerOptions struct {
	Resolver  Resolver
	Lineage   Lineager
	Evaluator Evaluator
	// Credentials, when set, reads each pod's pull secrets; otherwise
	// strata's own credentials are used for every image.
	Credentials Credentials
	// ExemptImages are glob patterns (* stops at /) on canonical references
	// of images that are never checked.
	ExemptImages []string
	// Concurrency bounds parallel image resolutions per workload. Default: 8.
	Concurrency int
	// ResolveBudget bounds the registry work of one check (registry.timeout).
	// Default: 3s.
	ResolveBudget time.Duration
	// EvalReserve is kept from ctx's deadline for evaluating the policies
	// after the registry work. Default: 200ms.
	EvalReserve time.Duration
}

// Checker evaluates a workload: the one evaluation path behind the webhook
// and `strata check`.
type Checker struct {
	opts CheckerOptions
}

// NewChecker returns a Checker.
func NewChecker(opts CheckerOptions) *Checker {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.ResolveBudget <= 0 {
		opts.ResolveBudget = 3 * time.Second
	}
	if opts.EvalReserve <= 0 {
		opts.EvalReserve = 200 * time.Millisecond
	}
	return &Checker{opts: opts}
}

// Check resolves the workload's images (each distinct reference once,
// concurrently, within ctx's deadline), finds their lineage and evaluates
// every policy for every container and platform. A failure to resolve an
// image or to read pull secrets is evaluated as a resolution error, never
// skipped.
func (c *Checker) Check(ctx context.Context, req policy.Request, w *workload.Workload) []policy.Violation {
	rctx, cancel := c.resolveContext(ctx)
	defer cancel()
	access, accessErr := c.access(rctx, w)
	refs := c.distinctImages(w)
	resolved := make([]*images.Image, len(refs))
	errs := make([]error, len(refs))
	if accessErr == nil {
		g, gctx := errgroup.WithContext(rctx)
		g.SetLimit(c.opts.Concurrency)
		for i, ref := range refs {
			g.Go(func() error {
				resolved[i], errs[i] = c.opts.Resolver.Resolve(gctx, ref, access)
				return nil
			})
		}
		_ = g.Wait()
	}

	var out []policy.Violation
	for _, ctr := range w.Containers {
		i := slices.Index(refs, ctr.Image)
		if i < 0 {
			continue // exempt
		}
		s := policy.Subject{Request: req, Workload: w, Container: ctr, Image: resolved[i], Err: errs[i]}
		if accessErr != nil {
			s.Err = accessErr
		}
		if s.Err != nil || s.Image == nil {
			out = append(out, c.opts.Evaluator.Evaluate(ctx, ctr.Name, "", s.Input())...)
			continue
		}
		for _, f := range s.Image.Platforms {
			s.Facts = f
			s.Lineage = c.opts.Lineage.Lineage(rctx, f, access)
			out = append(out, c.opts.Evaluator.Evaluate(ctx, ctr.Name, f.Platform, s.Input())...)
		}
	}
	return out
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

// distinctImages lists the images to resolve, each once, exempt ones left out.
func (c *Checker) distinctImages(w *workload.Workload) []string {
	var out []string
	for _, ctr := range w.Containers {
		if !slices.Contains(out, ctr.Image) && !c.exempt(ctr.Image) {
			out = append(out, ctr.Image)
		}
	}
	return out
}

// exempt matches the canonical form only, so that another spelling of an
// image cannot claim an exemption meant for a different one.
func (c *Checker) exempt(image string) bool {
	if len(c.opts.ExemptImages) == 0 {
		return false
	}
	ref, err := images.ParseReference(image)
	if err != nil {
		return false
	}
	for _, pattern := range c.opts.ExemptImages {
		if ok, _ := path.Match(pattern, ref.String()); ok {
			return true
		}
	}
	return false
}
