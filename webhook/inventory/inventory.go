// Package inventory is what a set of workloads runs, as strata sees it:
// workloads → containers → images (their digests and platforms) → lineage
// (the bases each is built on), each workload evaluated by the same Checker
// as the webhook. It is built from a cluster, from manifests or from the
// demo, and is what `strata audit` and `strata graph` report on.
package inventory

import (
	"cmp"
	"context"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/manifest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// Object is one workload as a source found it: a cluster object (with its
// UID and the pods found running under it) or a manifest (with its file).
type Object struct {
	Workload   *workload.Workload
	APIVersion string
	UID        string
	// Pods counts the running pods whose top-level owner this is.
	Pods int
	File string
	Line int
}

// FromManifests turns what manifest.Read found into objects.
func FromManifests(ms []manifest.Manifest) []Object {
	out := make([]Object, len(ms))
	for i, m := range ms {
		out[i] = Object{Workload: m.Workload, File: m.File, Line: m.Line}
	}
	return out
}

// Inventory is what the objects run, deduplicated: one Image per resolved
// digest, one Base per base digest.
type Inventory struct {
	// Mode is the mode the violations were decided in.
	Mode      policy.Action `json:"mode"`
	Workloads []Workload    `json:"workloads"`
	// Images are sorted by reference, then digest.
	Images []Image `json:"images"`
	// Bases are every image found in a lineage chain, sorted by name, then
	// digest. A tag that moved has two: the digest images were built on,
	// not Current, and the one it points to now, when the catalog read it.
	Bases []Base `json:"bases"`
}

// Workload is one evaluated object.
type Workload struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	UID        string `json:"uid,omitempty"`
	Pods       int    `json:"pods,omitempty"`
	File       string `json:"file,omitempty"`
	Line       int    `json:"line,omitempty"`
	// Exempt is set for a workload in an exempt namespace: not evaluated.
	Exempt bool `json:"exempt,omitempty"`
	// Allowed is the decision in Mode; Violations carry their effective
	// action (the milder of the mode's and the policy's).
	Allowed    bool               `json:"allowed"`
	Violations []policy.Violation `json:"violations,omitempty"`
	Containers []Container        `json:"containers"`
}

// Container is one checked container of a workload.
type Container struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Image string `json:"image"` // as written
	// Digest is what the image resolved to (an index or a manifest), the
	// key of its Image; zero when it did not resolve, and Error says why.
	Digest    images.Digest `json:"digest,omitzero"`
	Error     string        `json:"error,omitempty"`
	ErrorKind images.Kind   `json:"errorKind,omitempty"`
	// Platforms are the platforms its image was evaluated on for this
	// container: fewer than its Image's when the pod names its OS.
	Platforms []string `json:"platforms,omitempty"`
}

// Image is one resolved image digest and the platforms evaluated.
type Image struct {
	// Ref is the canonical reference of the first container that named it;
	// Refs every canonical reference that resolved to it.
	Ref       string        `json:"ref"`
	Refs      []string      `json:"refs"`
	Digest    images.Digest `json:"digest"`
	Platforms []Platform    `json:"platforms"`
}

// Platform is one evaluated platform manifest of an image, with its lineage.
type Platform struct {
	Platform string          `json:"platform"`
	Ref      string          `json:"ref"`
	Digest   images.Digest   `json:"digest"`
	Layers   int             `json:"layers"`
	Size     int64           `json:"size"`
	Lineage  lineage.Lineage `json:"lineage"`
}

// Base is one image found in a lineage chain.
type Base struct {
	Refs   []string      `json:"refs"`
	Digest images.Digest `json:"digest"`
	Role   string        `json:"role"`
	// Current is false when its tag (MovedTag) now points elsewhere
	// (CurrentDigest): images built on it are on an outdated base.
	Current       bool          `json:"current"`
	MovedTag      string        `json:"movedTag,omitempty"`
	CurrentDigest images.Digest `json:"currentDigest,omitzero"`
}

// Options configure Build.
type Options struct {
	Checker *webhook.Checker
	// Mode decides the violations: enforce, warn or audit.
	Mode policy.Action
	// Operation is the request's operation the policies see. Default:
	// "CREATE", what the webhook sees when the workload is next admitted (a
	// rollout, a restore), so that a policy deciding on the operation, which
	// the input schema documents as CREATE, UPDATE or CHECK, decides here as
	// the webhook would.
	Operation string
	// Concurrency bounds the workloads evaluated at once; each resolves its
	// own images concurrently too, and the resolver shares fetches of the
	// same image. Default: 16.
	Concurrency int
	// Timeout bounds one workload's evaluation. Default: the registry budget
	// plus 2 s (webhook.DefaultResolveBudget when unset).
	Timeout time.Duration
	// Evaluated, when set, is called after each workload is evaluated, for
	// progress; calls may come from several goroutines.
	Evaluated func()
}

// Build evaluates every object with the Checker, each once, and collects
// what the checks saw. It returns early only when ctx ends.
func Build(ctx context.Context, objs []Object, opts Options) (*Inventory, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.Timeout <= 0 {
		opts.Timeout = webhook.DefaultResolveBudget + 2*time.Second
	}
	if opts.Operation == "" {
		opts.Operation = "CREATE"
	}
	inv := &Inventory{Mode: opts.Mode, Workloads: make([]Workload, len(objs))}
	examined := make([][]webhook.Examined, len(objs))
	var g errgroup.Group
	g.SetLimit(opts.Concurrency)
	for i, o := range objs {
		w := o.Workload
		inv.Workloads[i] = Workload{
			APIVersion: o.APIVersion, Kind: w.Kind, Namespace: w.Namespace, Name: w.Name,
			UID: o.UID, Pods: o.Pods, File: o.File, Line: o.Line, Allowed: true,
		}
		if opts.Checker.NamespaceExempt(w.Namespace) {
			inv.Workloads[i].Exempt = true
			continue
		}
		g.Go(func() error {
			if ctx.Err() != nil {
				return nil
			}
			wctx, cancel := context.WithTimeout(ctx, opts.Timeout)
			defer cancel()
			ex := opts.Checker.Examine(wctx, policy.Request{Operation: opts.Operation, Namespace: w.Namespace, Mode: opts.Mode}, w)
			d := webhook.Decide(opts.Mode, ex.Violations)
			inv.Workloads[i].Allowed, inv.Workloads[i].Violations = d.Allowed, d.Violations
			examined[i] = ex.Containers
			if opts.Evaluated != nil {
				opts.Evaluated()
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	inv.collect(examined)
	return inv, nil
}

// collect fills the workloads' containers, the images and the bases from
// what each check saw, deduplicated by digest.
func (inv *Inventory) collect(examined [][]webhook.Examined) {
	imgs := map[images.Digest]*Image{}
	bases := map[images.Digest]*Base{}
	for i, exs := range examined {
		for _, e := range exs {
			c := Container{Name: e.Container.Name, Type: e.Container.Type, Image: e.Container.Image}
			if e.Err != nil {
				c.Error, c.ErrorKind = e.Err.Error(), images.KindOf(e.Err)
			}
			if e.Image != nil && e.Err == nil {
				c.Digest = e.Image.Digest
				img := imgs[e.Image.Digest]
				if img == nil {
					img = &Image{Ref: e.Image.Ref, Digest: e.Image.Digest}
					imgs[e.Image.Digest] = img
				}
				if !slices.Contains(img.Refs, e.Image.Ref) {
					img.Refs = append(img.Refs, e.Image.Ref)
				}
				img.addPlatforms(e.Platforms, bases)
				for _, p := range e.Platforms {
					c.Platforms = append(c.Platforms, p.Facts.Platform)
				}
			}
			inv.Workloads[i].Containers = append(inv.Workloads[i].Containers, c)
		}
	}
	for _, img := range imgs {
		slices.Sort(img.Refs)
		slices.SortFunc(img.Platforms, func(a, b Platform) int { return cmp.Compare(a.Platform, b.Platform) })
		inv.Images = append(inv.Images, *img)
	}
	slices.SortFunc(inv.Images, func(a, b Image) int {
		return cmp.Or(cmp.Compare(a.Ref, b.Ref), cmp.Compare(a.Digest.String(), b.Digest.String()))
	})
	for _, b := range bases {
		inv.Bases = append(inv.Bases, *b)
	}
	slices.SortFunc(inv.Bases, func(a, b Base) int {
		return cmp.Or(cmp.Compare(baseName(a), baseName(b)), cmp.Compare(a.Digest.String(), b.Digest.String()))
	})
}

// addPlatforms records the platforms an image was evaluated on (a pod
// pinned to one OS evaluates fewer than another pod of the same image) and
// the bases of their chains.
func (img *Image) addPlatforms(ps []webhook.ExaminedPlatform, bases map[images.Digest]*Base) {
	for _, p := range ps {
		if slices.ContainsFunc(img.Platforms, func(q Platform) bool { return q.Digest == p.Facts.Digest }) {
			continue
		}
		img.Platforms = append(img.Platforms, Platform{
			Platform: p.Facts.Platform, Ref: p.Facts.Ref, Digest: p.Facts.Digest,
			Layers: p.Facts.Layers, Size: p.Facts.Size, Lineage: p.Lineage,
		})
		for _, e := range p.Lineage.Chain {
			b := bases[e.Digest]
			if b == nil {
				b = &Base{Digest: e.Digest, Role: e.Role, Current: e.Current, MovedTag: e.MovedTag, CurrentDigest: e.CurrentDigest}
				bases[e.Digest] = b
			}
			for _, r := range append(slices.Clone(e.Refs), e.ClaimedName) {
				if r != "" && !slices.Contains(b.Refs, r) {
					b.Refs = append(b.Refs, r)
				}
			}
			slices.Sort(b.Refs)
		}
	}
}

// baseName is a base's first name, or its digest when it has none.
func baseName(b Base) string {
	if len(b.Refs) > 0 {
		return b.Refs[0]
	}
	return b.Digest.String()
}
