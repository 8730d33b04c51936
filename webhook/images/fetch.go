package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"
	"unsafe"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// refKey identifies a resolution: the same reference read with different
// credentials is a different resolution.
type refKey struct {
	scope string
	ref   string
}

// refEntry is a cached answer to "what does this reference point to now".
type refEntry struct {
	digest    Digest
	mediaType string
	checked   time.Time
	notFound  error // a remembered 404, for NotFoundTTL
}

// resolved is the top-level digest a request is bound to.
type resolved struct {
	digest    Digest
	mediaType string
	// staleCause is set when the registry failed the re-check of a tag and
	// the previous resolution, staleAge old, was used instead.
	staleCause error
	staleAge   time.Duration
	manifest   []byte // the manifest, when this call fetched it anyway
}

// resolveRef answers what ref points to: from the cache while its TTL runs,
// with one HEAD request once it has run out, with a GET when the content is
// new to strata.
func (r *Resolver) resolveRef(ctx context.Context, ref Reference, access Access) (resolved, error) {
	key := refKey{scope: access.Scope, ref: ref.String()}
	now := r.opts.Now()
	prev, cached := r.refs.Get(key)
	if cached {
		age := now.Sub(prev.checked)
		switch {
		case prev.notFound != nil && age < r.opts.NotFoundTTL:
			return resolved{}, prev.notFound
		case prev.notFound == nil && age < r.opts.TagTTL:
			return resolved{digest: prev.digest, mediaType: prev.mediaType}, nil
		}
		if prev.notFound != nil {
			prev = nil
		}
	}
	return await(ctx, r, "ref\x00"+key.scope+"\x00"+key.ref, func(ctx context.Context) (resolved, error) {
		return r.fetchRef(ctx, key, ref, access, prev)
	})
}

func (r *Resolver) fetchRef(ctx context.Context, key refKey, ref Reference, access Access, prev *refEntry) (resolved, error) {
	p, err := r.puller(access, ref)
	if err != nil {
		return resolved{}, err
	}
	// A HEAD is enough when strata may already hold the content: a tag it
	// resolved before, in this scope or another, or a digest another scope
	// fetched (this scope must still prove it can read it).
	if prev != nil || r.mayHoldContent(ref) {
		desc, err := p.Head(ctx, ref.nameRef())
		if err != nil {
			if prev != nil && isTemporary(err) && r.opts.Now().Sub(prev.checked) < r.opts.TagTTL+r.opts.StaleTTL {
				r.opts.Logger.Debug("registry failed; using the previous resolution", "ref", key.ref, "digest", prev.digest.String(), "error", redact(err.Error()))
				out := resolved{digest: prev.digest, mediaType: prev.mediaType}
				// A digest cannot move: only a tag's resolution goes stale.
				if !ref.ByDigest() {
					out.staleCause, out.staleAge = err, r.opts.Now().Sub(prev.checked)
				}
				return out, nil
			}
			r.forgetPuller(access, ref, err)
			return resolved{}, r.remember(key, err)
		}
		d, err := digestFromHash(desc.Digest)
		if err != nil {
			return resolved{}, &errContent{msg: fmt.Sprintf("the registry answered with digest %s: %v", desc.Digest, err)}
		}
		if ref.ByDigest() && d != ref.Digest {
			return resolved{}, &errContent{msg: fmt.Sprintf("asked for %s, the registry answered %s", ref.Digest, d)}
		}
		r.bind(key, ref, d, string(desc.MediaType))
		if r.contentKnown(d) {
			return resolved{digest: d, mediaType: string(desc.MediaType)}, nil
		}
		ref = ref.WithDigest(d)
	}
	desc, err := p.Get(ctx, ref.nameRef())
	if err != nil {
		r.forgetPuller(access, ref, err)
		return resolved{}, r.remember(key, fmt.Errorf("manifest %s: %w", ref, err))
	}
	d, err := digestFromHash(desc.Digest)
	if err != nil {
		return resolved{}, &errContent{msg: fmt.Sprintf("manifest digest %s: %v", desc.Digest, err)}
	}
	if ref.ByDigest() && d != ref.Digest {
		return resolved{}, &errContent{msg: fmt.Sprintf("asked for %s, the registry served content whose digest is %s", ref.Digest, d)}
	}
	r.opts.Logger.Debug("resolved image reference", "ref", key.ref, "digest", d.String(), "mediaType", string(desc.MediaType))
	r.bind(key, ref, d, string(desc.MediaType))
	return resolved{digest: d, mediaType: string(desc.MediaType), manifest: desc.Manifest}, nil
}

// bind records that ref, read in key's scope, is d now. A tag's answer also
// binds its repository@d in the same scope: the scope has just read that
// manifest, and a pod pinned to the digest (the mutating webhook's patch)
// is then validated from the cache, without a second request.
func (r *Resolver) bind(key refKey, ref Reference, d Digest, mediaType string) {
	now := r.opts.Now()
	r.rememberRef(key, &refEntry{digest: d, mediaType: mediaType, checked: now})
	if !ref.ByDigest() {
		r.rememberRef(refKey{scope: key.scope, ref: ref.WithDigest(d).String()}, &refEntry{digest: d, mediaType: mediaType, checked: now})
	}
}

// remember caches a "not found" briefly and passes every error on; transient
// failures are never cached. What is cached is a small copy of the error
// (errRemembered), never go-containerregistry's, which holds the request.
func (r *Resolver) remember(key refKey, err error) error {
	if isNotFound(err) {
		r.refs.Add(key, &refEntry{notFound: newRemembered(err), checked: r.opts.Now()}, key.cost())
	}
	return err
}

// rememberRef caches a resolution and the hint that key.ref was last seen
// at e.digest.
func (r *Resolver) rememberRef(key refKey, e *refEntry) {
	r.refs.Add(key, e, key.cost()+int64(len(e.mediaType)))
	r.hints.Add(key.ref, e.digest, int64(len(key.ref))+int64(unsafe.Sizeof(Digest{})))
}

// cost estimates what a cache entry keyed by k holds besides the key's
// strings: the entry, and a remembered error whose message is at most
// maxRememberedMessage bytes.
func (k refKey) cost() int64 {
	return int64(len(k.scope)+len(k.ref)) + int64(unsafe.Sizeof(refEntry{})) + maxRememberedMessage + 64
}

// mayHoldContent reports whether ref probably names content strata holds:
// a digest it has, or a tag some scope last saw at a digest it has.
func (r *Resolver) mayHoldContent(ref Reference) bool {
	if ref.ByDigest() {
		return r.contentKnown(ref.Digest)
	}
	d, ok := r.hints.Get(ref.String())
	return ok && r.contentKnown(d)
}

func (r *Resolver) contentKnown(d Digest) bool {
	if _, ok := r.facts.Get(d); ok {
		return true
	}
	_, ok := r.indexes.Get(d)
	return ok
}

// child is a manifest of an index that strata checks, with the platform
// its index entry lists it under (nil when the entry states none). The
// listed platform is what the runtime chose it by; it is never a fact about
// the manifest, whose platform comes from its config alone.
type child struct {
	digest Digest
	listed *v1.Platform
	// attestation is the attestation manifest the index lists for this
	// manifest (zero when none): where its build provenance is read.
	attestation Digest
}

// content is what a manifest digest holds: an image's facts, or the
// children of an index that are checked.
type content struct {
	facts    *Facts
	children []child
}

// platformFacts returns the facts of every checked platform of the image
// pinned to top's digest.
func (r *Resolver) platformFacts(ctx context.Context, pinned Reference, top resolved, access Access) ([]*Facts, error) {
	c, err := r.contentOf(ctx, pinned, top.mediaType, top.manifest, access)
	if err != nil {
		return nil, err
	}
	if c.facts != nil {
		return []*Facts{c.facts}, nil
	}
	out := make([]*Facts, 0, len(c.children))
	for _, ch := range c.children {
		// selectChildren read them all; one evicted since is read again.
		cc, err := r.contentOf(ctx, pinned.WithDigest(ch.digest), "", nil, access)
		if err == nil && cc.facts == nil {
			err = &errUnsupported{msg: fmt.Sprintf("index entry %s says it is an image manifest but holds an index", ch.digest)}
		}
		if err != nil {
			return nil, fmt.Errorf("platform %s: %w", platformOrNone(ch.listed), err)
		}
		if !ch.attestation.IsZero() && cc.facts.Provenance == nil {
			cc.facts = r.withProvenance(cc.facts, r.provenanceOf(ctx, pinned.WithDigest(ch.attestation), ch.digest, access))
		}
		out = append(out, cc.facts)
	}
	return out, nil
}

// contentOf returns what the manifest pinned.Digest holds, from the caches or
// by reading it (unless raw already holds it) and, for an image, its config:
// once for all concurrent callers.
func (r *Resolver) contentOf(ctx context.Context, pinned Reference, mediaType string, raw []byte, access Access) (content, error) {
	if f, ok := r.facts.Get(pinned.Digest); ok {
		return content{facts: f}, nil
	}
	if children, ok := r.indexes.Get(pinned.Digest); ok {
		return content{children: children}, nil
	}
	return await(ctx, r, "content\x00"+pinned.Digest.String(), func(ctx context.Context) (content, error) {
		if raw == nil {
			var err error
			if mediaType, raw, err = r.fetchManifest(ctx, pinned, access); err != nil {
				return content{}, err
			}
		}
		switch manifestKind(mediaType, raw) {
		case kindIndex:
			children, err := r.selectChildren(ctx, pinned, raw, access)
			if err != nil {
				return content{}, err
			}
			r.indexes.Add(pinned.Digest, children, childrenCost(children))
			return content{children: children}, nil
		case kindImage:
			f, err := r.buildFacts(ctx, pinned, mediaType, raw, access)
			if err != nil {
				return content{}, err
			}
			r.facts.Add(pinned.Digest, f, f.cost())
			return content{facts: f}, nil
		case kindSchema1:
			return content{}, &errUnsupported{msg: "the image is a Docker schema 1 manifest, which is deprecated and carries no verifiable config"}
		default:
			return content{}, &errUnsupported{msg: fmt.Sprintf("manifest %s has media type %q: it is not a container image", pinned.Digest, mediaType)}
		}
	})
}

// fetchManifest GETs a manifest by digest; go-containerregistry verifies
// that the content matches the digest.
func (r *Resolver) fetchManifest(ctx context.Context, pinned Reference, access Access) (string, []byte, error) {
	p, err := r.puller(access, pinned)
	if err != nil {
		return "", nil, err
	}
	desc, err := p.Get(ctx, pinned.nameRef())
	if err != nil {
		r.forgetPuller(access, pinned, err)
		return "", nil, fmt.Errorf("manifest %s: %w", pinned, err)
	}
	return string(desc.MediaType), desc.Manifest, nil
}

// imageConfigTypes are the config media types of runnable images; anything
// else (Helm charts, signatures, SBOMs) is an artifact.
var imageConfigTypes = map[types.MediaType]bool{types.DockerConfigJSON: true, types.OCIConfigJSON: true}

// buildFacts reads the config of the image manifest raw and builds its facts.
func (r *Resolver) buildFacts(ctx context.Context, pinned Reference, mediaType string, raw []byte, access Access) (*Facts, error) {
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, &errContent{msg: fmt.Sprintf("manifest %s does not parse: %v", pinned.Digest, err)}
	}
	// The config says what a manifest is; artifactType is a label, like an
	// annotation: containerd runs an image manifest that carries one, and
	// an entry without a platform must not be skipped for it.
	if !imageConfigTypes[m.Config.MediaType] {
		return nil, &errUnsupported{msg: fmt.Sprintf("manifest %s is an artifact of type %q, not a container image", pinned.Digest, m.Config.MediaType)}
	}
	if len(m.Layers) > maxImageLayers {
		return nil, &errTooComplex{msg: fmt.Sprintf("manifest %s lists %d layers, more than the %d strata reads for one image (no runtime mounts that many: overlayfs stacks at most 500)", pinned.Digest, len(m.Layers), maxImageLayers)}
	}
	cfgDigest, err := digestFromHash(m.Config.Digest)
	if err != nil {
		return nil, &errContent{msg: fmt.Sprintf("config digest: %v", err)}
	}
	cfg, err := r.fetchConfig(ctx, pinned, cfgDigest, access)
	if err != nil {
		return nil, err
	}
	if len(cfg.History) > maxImageHistory {
		return nil, &errTooComplex{msg: fmt.Sprintf("config %s records %d build steps, more than the %d strata reads for one image", cfgDigest, len(cfg.History), maxImageHistory)}
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, &errContent{msg: fmt.Sprintf("config %s lists %d layer diff IDs for a manifest of %d layers", cfgDigest, len(cfg.RootFS.DiffIDs), len(m.Layers))}
	}
	// Facts are cached by the thousand: every string and list that other
	// images hold too is held once (intern.go).
	f := &Facts{
		Digest:      pinned.Digest,
		Ref:         pinned.Name() + "@" + pinned.Digest.String(),
		MediaType:   intern(mediaType),
		Layers:      len(m.Layers),
		Annotations: StringsOf(m.Annotations),
		Config: Config{
			User:       internUser(ParseUser(cfg.Config.User)),
			Labels:     StringsOf(cfg.Config.Labels),
			Env:        internStrings(cfg.Config.Env),
			Entrypoint: shareStrings(cfg.Config.Entrypoint),
			Cmd:        shareStrings(cfg.Config.Cmd),
			WorkingDir: intern(cfg.Config.WorkingDir),
			Created:    cfg.Created.Time,
		},
	}
	diffIDs := make([]Digest, len(cfg.RootFS.DiffIDs))
	sizes := make([]int64, len(m.Layers))
	for i, l := range m.Layers {
		// A negative size is no descriptor a runtime pulls, and would hide
		// the other layers from the image-size policy.
		if l.Size < 0 {
			return nil, &errContent{msg: fmt.Sprintf("manifest %s declares layer %d of %d bytes", pinned.Digest, i, l.Size)}
		}
		sizes[i] = l.Size
		if diffIDs[i], err = digestFromHash(cfg.RootFS.DiffIDs[i]); err != nil {
			return nil, &errContent{msg: fmt.Sprintf("config %s: layer %d: %v", cfgDigest, i, err)}
		}
	}
	f.DiffIDs, f.LayerSizes = sharedDigests.share(diffIDs), sharedLayerSizes.share(sizes)
	f.Size = f.PrefixSize(len(f.LayerSizes))
	if len(cfg.History) > 0 {
		history := make([]History, len(cfg.History))
		for i, h := range cfg.History {
			history[i] = History{CreatedBy: intern(h.CreatedBy), EmptyLayer: h.EmptyLayer}
		}
		f.History = sharedHistories.share(history)
	}
	// The config alone says what the manifest is: the same digest may be
	// listed under different platforms by different indexes.
	f.Platform = intern(platformString(v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}))
	return f, nil
}

// maxImageLayers and maxImageHistory bound what one image's facts hold:
// every policy passes over its layers and build steps, and the publisher
// chooses how many there are; thousands held one evaluation past the
// engine's bound. Real images are far below them (overlayfs stacks at most
// 500 layers, Docker builds at most 127).
const (
	maxImageLayers  = 1000
	maxImageHistory = 2000
)

// fetchConfig reads and verifies the config blob.
func (r *Resolver) fetchConfig(ctx context.Context, pinned Reference, d Digest, access Access) (*v1.ConfigFile, error) {
	raw, err := r.fetchBlob(ctx, pinned, d, access)
	if err != nil {
		return nil, fmt.Errorf("config %w", err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, &errContent{msg: fmt.Sprintf("config blob %s does not parse: %v", d, err)}
	}
	r.opts.Logger.Debug("read image config", slog.String("repository", pinned.Name()), slog.String("config", d.String()))
	return cfg, nil
}

// fetchBlob reads a small blob of pinned's repository (a config, a
// provenance statement: never a layer) and checks it against its digest.
// The guard's body cap bounds what is read.
func (r *Resolver) fetchBlob(ctx context.Context, pinned Reference, d Digest, access Access) ([]byte, error) {
	p, err := r.puller(access, pinned)
	if err != nil {
		return nil, err
	}
	layer, err := p.Layer(ctx, pinned.nameRef().Context().Digest(d.String()))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		r.forgetPuller(access, pinned, err)
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	defer rc.Close()
	raw, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	if got := Digest(sha256.Sum256(raw)); got != d {
		return nil, &errContent{msg: fmt.Sprintf("blob %s: the registry served content whose digest is %s", d, got)}
	}
	return raw, nil
}

type manifestType int

const (
	kindUnknown manifestType = iota
	kindImage
	kindIndex
	kindSchema1
)

// manifestKind classifies a manifest by its Content-Type, falling back to its
// own mediaType field for registries that send a generic Content-Type.
func manifestKind(mediaType string, raw []byte) manifestType {
	switch types.MediaType(mediaType) {
	case types.DockerManifestSchema2, types.OCIManifestSchema1:
		return kindImage
	case types.DockerManifestList, types.OCIImageIndex:
		return kindIndex
	case types.DockerManifestSchema1, types.DockerManifestSchema1Signed:
		return kindSchema1
	}
	var probe struct {
		SchemaVersion int             `json:"schemaVersion"`
		MediaType     string          `json:"mediaType"`
		Manifests     json.RawMessage `json:"manifests"`
		Config        json.RawMessage `json:"config"`
	}
	if json.Unmarshal(raw, &probe) != nil {
		return kindUnknown
	}
	if probe.MediaType != "" && probe.MediaType != mediaType {
		return manifestKind(probe.MediaType, nil)
	}
	switch {
	case probe.SchemaVersion == 1:
		return kindSchema1
	case probe.Manifests != nil:
		return kindIndex
	case probe.Config != nil:
		return kindImage
	}
	return kindUnknown
}

type platform v1.Platform

func parsePlatforms(specs []string) ([]platform, error) {
	out := make([]platform, 0, len(specs))
	for _, s := range specs {
		p, err := v1.ParsePlatform(s)
		if err != nil || p.OS == "" || p.Architecture == "" {
			return nil, fmt.Errorf("platform %q: write os/arch[/variant], e.g. linux/arm64", s)
		}
		out = append(out, platform(*p))
	}
	return out, nil
}

// platformString writes p as os/arch[/variant], and a platform that states
// nothing as "".
func platformString(p v1.Platform) string {
	if p.OS == "" && p.Architecture == "" && p.Variant == "" {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}
