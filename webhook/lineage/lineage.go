// Package lineage finds what an image is built on: the known images whose
// layers are a prefix of its own, and the base images it claims in its
// annotations, verified the same way.
package lineage

import (
	"context"

	"github.com/strata-project/strata/webhook/images"
)

// Evidence says how an ancestor was found.
const (
	// EvidenceLayers: the ancestor's rootfs.diff_ids are a prefix of the image's.
	EvidenceLayers = "layers"
	// EvidenceAnnotation: the image (or a verified ancestor) claims it in
	// org.opencontainers.image.base.*, and its layers confirm the claim.
	EvidenceAnnotation = "annotation"
	// EvidenceProvenance: the build provenance of the image (or of a
	// verified ancestor) lists it, and its layers confirm it is the base.
	EvidenceProvenance = "provenance"
)

// Sources of a chain entry (Entry.Sources): who named the ancestor. Every
// one is verified the same way (Entry.Verified): its layers are a prefix of
// the image's.
const (
	SourceCatalog    = "catalog"
	SourceAnnotation = "annotation"
	SourceProvenance = "provenance"
	VerifiedLayers   = "layers"
)

// Claim statuses.
const (
	ClaimVerified    = "verified"    // the claimed base's layers are a prefix of the claimant's
	ClaimMismatch    = "mismatch"    // the layers say otherwise: a spoofed or stale claim
	ClaimUnreachable = "unreachable" // the claimed base could not be read
)

// Lineage is what an image is built on, as the policies see it.
type Lineage struct {
	// Chain lists the ancestors, root first; the image itself is not in it.
	Chain []Entry `json:"chain"`
	// Depth is the number of images in the chain, this one included.
	Depth int `json:"depth"`
	// Complete is true when the chain starts at a known root (a catalog
	// image of role os), so nothing below it is unknown.
	Complete bool `json:"complete"`
	// Self is set when the image is itself a catalog image.
	Self *Entry `json:"self,omitempty"`
	// Claims are the base claims read from annotations and labels, each with
	// the result of checking it.
	Claims []Claim `json:"claims"`
	// ID is not zero for a lineage the catalog remembers, and names it:
	// until the catalog forgets it, every Lineage with that ID is that
	// one, unchanged, so that what is built from it can be kept by its ID
	// rather than by a hash of its content made each time it is served.
	// A lineage computed anew, or copied and changed, has ID zero.
	ID uint64 `json:"-"`
}

// Entry is one image of the chain.
type Entry struct {
	// Refs are the catalog names of the image (several tags may share content);
	// for an image found only through a claim, the claimed name.
	Refs        []string      `json:"refs"`
	ClaimedName string        `json:"claimedName,omitempty"`
	Digest      images.Digest `json:"digest"`
	Role        string        `json:"role"`
	Layers      int           `json:"layers"`
	Evidence    []string      `json:"evidence"`
	// Sources say who named this ancestor (catalog, annotation,
	// provenance), Verified how strata checked it: "layers", its layers
	// are a prefix of the image's.
	Sources  []string `json:"sources,omitempty"`
	Verified string   `json:"verified,omitempty"`
	// Current is false when the image's tag has since moved to another
	// digest (a rebuilt, usually patched, base); MovedTag is then that tag
	// (one of Refs, or ClaimedName) and CurrentDigest where it points now.
	Current       bool          `json:"current"`
	MovedTag      string        `json:"movedTag,omitempty"`
	CurrentDigest images.Digest `json:"currentDigest,omitzero"`
}

// Claim is one org.opencontainers.image.base.* claim and its verification.
type Claim struct {
	// By is the digest of the image that makes the claim.
	By     images.Digest `json:"by"`
	Name   string        `json:"name,omitempty"`
	Digest string        `json:"digest,omitempty"`
	// Source is "annotation", "label" or "provenance" (an image the build
	// provenance lists; one that is not a base, a build stage's, is a
	// mismatch that says so).
	Source string `json:"source"`
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// Resolver reads image facts from registries; *images.Resolver is one.
type Resolver interface {
	Resolve(ctx context.Context, image string, access images.Access) (*images.Image, error)
	// ResolveFresh asks the registry where a tag points now, whatever the
	// resolver's tag TTL, and fails rather than answer with a stale digest:
	// a catalog refresh must see a re-pointed base when it happens.
	ResolveFresh(ctx context.Context, image string, access images.Access) (*images.Image, error)
}

// TagLister lists a repository's tags, for catalog entries with patterns;
// *images.Resolver is one.
type TagLister interface {
	Tags(ctx context.Context, repository string, access images.Access) ([]string, error)
}
