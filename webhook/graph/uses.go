package graph

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/inventory"
)

// Ref is a base asked about: a tag (every digest it has pointed to that
// something here is built on), or a digest, bare or as repo@digest.
type Ref struct {
	// Tag is the canonical tag reference, when a tag was asked about.
	Tag string
	// Digest is set when a digest was asked about.
	Digest string
}

// ParseRef reads a base reference as --base and --uses take it. Names are
// compared canonically (debian:12 is index.docker.io/library/debian:12),
// never as text prefixes: debian:12.7, debian-slim:12 and
// other.registry/debian:12 are other bases.
func ParseRef(ref string) (Ref, error) {
	if strings.HasPrefix(ref, "sha256:") {
		// Parsed as a reference, it would be Docker Hub's sha256 repository.
		d, err := images.ParseDigest(ref)
		if err != nil {
			return Ref{}, fmt.Errorf("base %q: %w; want sha256: and 64 hex digits", ref, err)
		}
		return Ref{Digest: d.String()}, nil
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return Ref{}, fmt.Errorf("base %q: %w; want a tag (registry/repository:tag), a digest (sha256:<64 hex digits>) or repository@sha256:<64 hex digits>", ref, err)
	}
	if d, ok := r.(name.Digest); ok {
		return Ref{Digest: d.DigestStr()}, nil
	}
	return Ref{Tag: r.Name()}, nil
}

// String is the reference as the rebuild list names it.
func (r Ref) String() string { return cmp.Or(r.Tag, r.Digest) }

// match says whether base is the asked base and, if so, whether it is the
// current digest of the asked tag.
func (r Ref) match(base inventory.Base) (current, ok bool) {
	if r.Digest != "" {
		return base.Current, base.Digest.String() == r.Digest
	}
	if canonical(base.MovedTag) == r.Tag {
		return false, true
	}
	// Another of its tags may have moved (the digest the dated
	// debian:12.7 names is no longer debian:12): it is still current
	// under the tag asked about.
	return true, slices.ContainsFunc(base.Refs, func(ref string) bool { return canonical(ref) == r.Tag })
}

// canonical is a tag reference's full name, or "" when it is not one.
func canonical(ref string) string {
	if ref == "" {
		return ""
	}
	t, err := name.NewTag(ref)
	if err != nil {
		return ""
	}
	return t.Name()
}

// Uses lists every image built on the base ref names (at any depth of any
// platform's chain) and who runs it: a tag's outdated digests first, then
// by base, base digest and image.
func Uses(inv *inventory.Inventory, ref Ref) []Use {
	out := []Use{}
	runBy := runners(inv)
	for _, base := range candidates(inv) {
		current, ok := ref.match(base)
		if !ok {
			continue
		}
		name := ref.String()
		if ref.Tag == "" {
			name = cmp.Or(base.MovedTag, firstRef(base.Refs), base.Digest.String())
		}
		out = append(out, usesOf(inv, runBy, base, name, current)...)
	}
	sortUses(out)
	return out
}

// Rebuild is the rebuild list of every base that is not the current digest
// of its tag.
func Rebuild(inv *inventory.Inventory) []Use {
	out := []Use{}
	runBy := runners(inv)
	for _, base := range candidates(inv) {
		if !base.Current {
			out = append(out, usesOf(inv, runBy, base, cmp.Or(base.MovedTag, firstRef(base.Refs), base.Digest.String()), false)...)
		}
	}
	sortUses(out)
	return out
}

func firstRef(refs []string) string {
	if len(refs) == 0 {
		return ""
	}
	return refs[0]
}

// candidates are the bases a rebuild list may name: every base of a chain,
// and every image that is itself a catalog image (a workload may run a
// base directly, and must be redeployed when its tag moves).
func candidates(inv *inventory.Inventory) []inventory.Base {
	out := slices.Clone(inv.Bases)
	for _, img := range inv.Images {
		for _, p := range img.Platforms {
			self := p.Lineage.Self
			if self == nil || slices.ContainsFunc(out, func(b inventory.Base) bool { return b.Digest == self.Digest }) {
				continue
			}
			refs := slices.Clone(self.Refs)
			if self.ClaimedName != "" && !slices.Contains(refs, self.ClaimedName) {
				refs = append(refs, self.ClaimedName)
			}
			out = append(out, inventory.Base{
				Refs: refs, Digest: self.Digest, Role: self.Role,
				Current: self.Current, MovedTag: self.MovedTag, CurrentDigest: self.CurrentDigest,
			})
		}
	}
	return out
}

// usesOf lists the images whose chains hold base, or that are base, each
// once.
func usesOf(inv *inventory.Inventory, runBy map[images.Digest][]string, base inventory.Base, name string, current bool) []Use {
	var out []Use
	for _, img := range inv.Images {
		if !builtOn(img, base.Digest) {
			continue
		}
		u := Use{
			Base: name, BaseDigest: base.Digest.String(), Current: current,
			Image: img.Ref, ImageDigest: img.Digest.String(), Workloads: append([]string{}, runBy[img.Digest]...),
		}
		if !current {
			u.CurrentDigest = zeroless(base.CurrentDigest)
		}
		out = append(out, u)
	}
	return out
}

func builtOn(img inventory.Image, base images.Digest) bool {
	for _, p := range img.Platforms {
		if p.Digest == base || (p.Lineage.Self != nil && p.Lineage.Self.Digest == base) {
			return true
		}
		for _, e := range p.Lineage.Chain {
			if e.Digest == base {
				return true
			}
		}
	}
	return false
}

// runners maps each image to the workloads with a container on it, sorted.
func runners(inv *inventory.Inventory) map[images.Digest][]string {
	out := map[images.Digest][]string{}
	for _, w := range inv.Workloads {
		name := workloadName(w)
		for _, c := range w.Containers {
			if !c.Digest.IsZero() && !slices.Contains(out[c.Digest], name) {
				out[c.Digest] = append(out[c.Digest], name)
			}
		}
	}
	for _, ws := range out {
		slices.Sort(ws)
	}
	return out
}

// sortUses puts outdated digests first, then sorts by base, digest and image.
func sortUses(us []Use) {
	slices.SortFunc(us, func(a, b Use) int {
		return cmp.Or(
			compareBool(a.Current, b.Current),
			cmp.Compare(a.Base, b.Base), cmp.Compare(a.BaseDigest, b.BaseDigest),
			cmp.Compare(a.Image, b.Image), cmp.Compare(a.ImageDigest, b.ImageDigest),
		)
	})
}

// compareBool orders false before true.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
