package images

import (
	"math"
	"time"
	"unsafe"
)

// Image is everything strata knows about one image reference, resolved once
// and bound to one digest: the decision is about that digest, whatever the
// tag points to a moment later.
type Image struct {
	// Written is the image string as it stands in the pod spec.
	Written string `json:"written"`
	// Ref is the canonical reference (tag or digest as written).
	Ref string `json:"ref"`
	// Digest is what Ref resolved to: an index or a single manifest.
	Digest    Digest `json:"digest"`
	MediaType string `json:"mediaType"`
	// Platforms holds the facts for each platform that is checked.
	Platforms []*Facts `json:"platforms"`
	// Stale is set when a registry error forced strata to reuse a tag
	// resolution older than its TTL; StaleAge is how old it was, and
	// StaleCause the failed re-check. Enforce mode must not decide on it
	// (RefuseStale); warn and audit may, saying so (StaleReason).
	Stale      bool          `json:"stale,omitempty"`
	StaleAge   time.Duration `json:"staleAge,omitempty"`
	StaleCause *Error        `json:"-"`
}

// Facts are the immutable facts of one platform-specific image manifest.
// They are shared between requests through the cache: never modify them.
type Facts struct {
	// Ref is the canonical repository@digest of this platform's manifest.
	Ref       string `json:"ref"`
	Digest    Digest `json:"digest"`
	Platform  string `json:"platform"`
	MediaType string `json:"mediaType"`
	Config    Config `json:"config"`
	// Layers is the literal layer count of the manifest.
	Layers int `json:"layers"`
	// Size is the sum of the compressed layer sizes the manifest declares
	// (LayerSizes), saturated at the largest int64.
	Size int64 `json:"size"`
	// LayerSizes are the compressed sizes the manifest declares for its
	// layers, in order: what a node pulls, read without another request.
	LayerSizes  []int64 `json:"layerSizes"`
	Annotations Strings `json:"annotations,omitempty"`
	// DiffIDs are the uncompressed layer digests from rootfs.diff_ids: the
	// identity of the content, unchanged by a re-push or recompression.
	DiffIDs []Digest  `json:"diffIDs"`
	History []History `json:"history,omitempty"`
	// Provenance is the build provenance the index lists for this manifest,
	// nil when it lists none: the builder's word, checked by lineage.
	Provenance *Provenance `json:"provenance,omitempty"`
}

// Config holds what the image config says about how the image runs.
type Config struct {
	User       User      `json:"user"`
	Labels     Strings   `json:"labels,omitempty"`
	Env        []string  `json:"env,omitempty"`
	Entrypoint []string  `json:"entrypoint,omitempty"`
	Cmd        []string  `json:"cmd,omitempty"`
	WorkingDir string    `json:"workingDir,omitempty"`
	Created    time.Time `json:"created,omitzero"`
}

// History is one build step; EmptyLayer steps (ENV, USER, ...) made no layer.
// It keeps what the policies read of a step: the config's created and
// comment are left out, because every cached image would hold them and
// nothing reads them.
type History struct {
	CreatedBy  string `json:"createdBy,omitempty"`
	EmptyLayer bool   `json:"emptyLayer,omitempty"`
}

// PrefixSize is the compressed size of the first n layers, as the manifest
// declares them (all of them when n is past the last), saturated at the
// largest int64: the share of the image that a base of n layers provides.
func (f *Facts) PrefixSize(n int) int64 {
	var total int64
	for _, size := range f.LayerSizes[:min(max(n, 0), len(f.LayerSizes))] {
		if total > math.MaxInt64-size {
			return math.MaxInt64
		}
		total += size
	}
	return total
}

// HistoryLayers maps each history step to the index of the layer it made,
// -1 for a step that made none (EmptyLayer). It is nil when the history
// cannot be matched to the layers (the steps that made one are not as many
// as the layers: history is optional, and some tools write it loosely), so
// that no step is ever paired with a layer it did not make.
func (f *Facts) HistoryLayers() []int {
	made := 0
	for _, h := range f.History {
		if !h.EmptyLayer {
			made++
		}
	}
	if made != len(f.LayerSizes) || made == 0 {
		return nil
	}
	out := make([]int, len(f.History))
	layer := 0
	for i, h := range f.History {
		if h.EmptyLayer {
			out[i] = -1
			continue
		}
		out[i] = layer
		layer++
	}
	return out
}

// Annotation keys of the OCI image spec that claim what an image was built on.
const (
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
)

// cost estimates the bytes a Facts value holds, for the cache's byte bound.
// It counts what dominates (strings, slices, maps) rather than every header.
func (f *Facts) cost() int64 {
	n := int64(unsafe.Sizeof(*f))
	n += int64(len(f.Ref) + len(f.Platform) + len(f.MediaType))
	n += int64(len(f.DiffIDs)) * int64(unsafe.Sizeof(Digest{}))
	n += int64(len(f.LayerSizes)) * 8
	n += sliceCost(f.Annotations) + sliceCost(f.Config.Labels)
	n += sliceCost(f.Config.Env) + sliceCost(f.Config.Entrypoint) + sliceCost(f.Config.Cmd)
	n += int64(len(f.Config.User.Raw) + len(f.Config.User.Name) + len(f.Config.User.Group) + len(f.Config.WorkingDir))
	n += f.Provenance.cost()
	for _, h := range f.History {
		n += int64(unsafe.Sizeof(h)) + roundAlloc(len(h.CreatedBy))
	}
	return n
}

func sliceCost(s []string) int64 {
	if len(s) == 0 {
		return 0
	}
	n := int64(24 + len(s)*16)
	for _, v := range s {
		n += roundAlloc(len(v))
	}
	return n
}

// roundAlloc is the size class the allocator gives a small string.
func roundAlloc(n int) int64 { return int64((n + 15) &^ 15) }
