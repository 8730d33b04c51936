package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	specs "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// Bounds on what strata reads of one multi-platform image, so that a hostile
// index costs a few requests and one clear answer, not thousands of fetches.
const (
	defaultMaxIndexEntries = 256
	defaultMaxIndexDepth   = 4
	// walkFetches bounds the concurrent manifest and config reads of one
	// index walk: a 256-entry index is read 8 at a time, not all at once.
	walkFetches = 8
)

// node is one kind of node a configured platform stands for, with the
// matcher containerd uses on such a node to choose from an index.
type node struct {
	spec  specs.Platform
	match platforms.MatchComparer
}

// The variants a node of each architecture may report. A configured platform
// without a variant stands for all of them: "linux/amd64" is every amd64
// node, whatever its micro-architecture level, because an index may hold a
// linux/amd64/v3 image that only v3 and v4 nodes pull.
var nodeVariants = map[string][]string{
	"amd64": {"", "v2", "v3", "v4"},
	"arm64": {"", "v8.1", "v8.2", "v8.3", "v8.4", "v8.5", "v8.6", "v8.7", "v8.8", "v8.9", "v9", "v9.1", "v9.2", "v9.3", "v9.4", "v9.5", "v9.6", "v9.7"},
	"arm":   {"v5", "v6", "v7", "v8"},
}

// nodesOf returns the nodes a configured platform stands for: with a
// variant, nodes of that variant; without one, every node of the
// architecture (nodeVariants).
func nodesOf(p v1.Platform) []node {
	spec := specs.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, OSVersion: p.OSVersion}
	norm := platforms.Normalize(spec)
	// containerd normalizes linux/arm to arm/v7 and linux/amd64/v1 to amd64:
	// whether the configuration named a variant is read before that.
	stated := p.Variant != "" && !(norm.Architecture == "amd64" && norm.Variant == "") && !(norm.Architecture == "arm64" && norm.Variant == "")
	variants, known := nodeVariants[norm.Architecture]
	if stated || !known {
		return []node{{spec: norm, match: platforms.Only(norm)}}
	}
	out := make([]node, 0, len(variants))
	for _, v := range variants {
		n := norm
		n.Variant = v
		out = append(out, node{spec: n, match: platforms.Only(n)})
	}
	return out
}

// anyRunnable matches every platform but the unknown/unknown of attestations,
// ranking none above another: the choice when no configured node pulls
// anything from an index.
type anyRunnable struct{}

func (anyRunnable) Match(p specs.Platform) bool {
	return !(p.OS == "unknown" && p.Architecture == "unknown")
}
func (anyRunnable) Less(specs.Platform, specs.Platform) bool { return false }

// indexWalk chooses the manifests of one index (and the indexes nested in
// it) that nodes of the configured platforms may pull, the way containerd
// chooses: among the entries whose platform the node matches, the one it
// ranks best (all of them on a tie, which a runtime breaks by position);
// entries without a platform only when no entry with one matches, and then
// by their config's os/architecture; a chosen index is walked into.
type indexWalk struct {
	r      *Resolver
	pinned Reference
	access Access

	entries int                        // entries read, over every index walked
	indexes map[Digest][]v1.Descriptor // the indexes read by this walk
	leaves  map[Digest]*Facts          // entries without a platform that are images
	chosen  []child
}

// selectChildren returns the manifests of the index raw (pinned) to check,
// with their facts read and checked against what the index says of them.
func (r *Resolver) selectChildren(ctx context.Context, pinned Reference, raw []byte, access Access) ([]child, error) {
	w := &indexWalk{r: r, pinned: pinned, access: access, indexes: map[Digest][]v1.Descriptor{}, leaves: map[Digest]*Facts{}}
	top, err := w.read(pinned.Digest, raw)
	if err != nil {
		return nil, err
	}
	for _, n := range r.nodes {
		if err := w.visit(ctx, top, n.match, 1); err != nil {
			return nil, err
		}
	}
	// No configured node pulls anything: check every platform the index
	// has rather than none (a windows-only or s390x-only image is still
	// checked, for the nodes strata was not told about).
	if len(w.chosen) == 0 {
		if err := w.visit(ctx, top, anyRunnable{}, 1); err != nil {
			return nil, err
		}
	}
	if len(w.chosen) == 0 {
		return nil, &errUnsupported{msg: "the index holds no container image for any platform"}
	}
	if err := w.checkChosen(ctx); err != nil {
		return nil, err
	}
	// One manifest listed twice (under two platforms) is checked once.
	var out []child
	for _, c := range w.chosen {
		if !slices.ContainsFunc(out, func(o child) bool { return o.digest == c.digest }) {
			out = append(out, c)
		}
	}
	return out, nil
}

// read parses an index and counts its entries against the bound.
func (w *indexWalk) read(d Digest, raw []byte) ([]v1.Descriptor, error) {
	if m, ok := w.indexes[d]; ok {
		return m, nil
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, &errContent{msg: fmt.Sprintf("index %s does not parse: %v", d, err)}
	}
	w.entries += len(idx.Manifests)
	if limit := w.r.opts.MaxIndexEntries; w.entries > limit {
		return nil, &errTooComplex{msg: fmt.Sprintf("index %s brings the entries to read to %d, more than the %d strata reads for one image", d, w.entries, limit)}
	}
	w.indexes[d] = idx.Manifests
	return idx.Manifests, nil
}

// visit adds what a node matching with m pulls from the index entries.
func (w *indexWalk) visit(ctx context.Context, entries []v1.Descriptor, m platforms.MatchComparer, depth int) error {
	var best *specs.Platform
	for _, e := range entries {
		if e.Platform != nil && m.Match(specOf(*e.Platform)) {
			if p := specOf(*e.Platform); best == nil || m.Less(p, *best) {
				best = &p
			}
		}
	}
	// The fallback stands for nodes strata does not know, some of which may
	// match no entry with a platform: it takes those without one as well.
	_, fallback := m.(anyRunnable)
	var pick []v1.Descriptor
	for _, e := range entries {
		switch {
		case best != nil && e.Platform != nil && m.Match(specOf(*e.Platform)) && !m.Less(*best, specOf(*e.Platform)):
			pick = append(pick, e)
		case (best == nil || fallback) && e.Platform == nil:
			pick = append(pick, e)
		}
	}
	if best == nil || fallback {
		if err := w.readLeaves(ctx, pick); err != nil {
			return err
		}
	}
	for _, e := range pick {
		d, err := digestFromHash(e.Digest)
		if err != nil {
			return &errContent{msg: fmt.Sprintf("index entry %s: %v", e.Digest, err)}
		}
		if isIndexType(e.MediaType) {
			if err := w.enter(ctx, d, m, depth+1); err != nil {
				return err
			}
			continue
		}
		if e.Platform == nil {
			f, ok := w.leaves[d]
			if !ok || !configMatches(m, f) {
				continue
			}
		}
		w.add(child{digest: d, listed: e.Platform})
	}
	return nil
}

// enter walks into a nested index, as containerd does.
func (w *indexWalk) enter(ctx context.Context, d Digest, m platforms.MatchComparer, depth int) error {
	if limit := w.r.opts.MaxIndexDepth; depth > limit {
		return &errTooComplex{msg: fmt.Sprintf("indexes are nested more than %d deep (at %s)", limit, d)}
	}
	entries, ok := w.indexes[d]
	if !ok {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("nested index %s: %w", d, err)
		}
		mt, raw, err := w.r.fetchManifest(ctx, w.pinned.WithDigest(d), w.access)
		if err != nil {
			return err
		}
		if manifestKind(mt, raw) != kindIndex {
			return &errUnsupported{msg: fmt.Sprintf("index entry %s says it is an index but holds a %q manifest", d, mt)}
		}
		if entries, err = w.read(d, raw); err != nil {
			return err
		}
	}
	return w.visit(ctx, entries, m, depth)
}

// readLeaves reads the image entries among pick that state no platform, so
// that their config says which nodes pull them. An entry that is no image
// (an attestation, an artifact) is pulled by no node and left out.
func (w *indexWalk) readLeaves(ctx context.Context, pick []v1.Descriptor) error {
	var todo []Digest
	for _, e := range pick {
		d, err := digestFromHash(e.Digest)
		if err != nil {
			return &errContent{msg: fmt.Sprintf("index entry %s: %v", e.Digest, err)}
		}
		if _, done := w.leaves[d]; !done && !isIndexType(e.MediaType) && !slices.Contains(todo, d) {
			todo = append(todo, d)
		}
	}
	found := make([]*Facts, len(todo))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(walkFetches)
	for i, d := range todo {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return fmt.Errorf("index entry %s: %w", d, err)
			}
			c, err := w.r.contentOf(gctx, w.pinned.WithDigest(d), "", nil, w.access)
			var unsupported *errUnsupported
			switch {
			case errors.As(err, &unsupported):
				// containerd matches the entry by its config blob's platform
				// whatever the config's media type: one a node would pull is
				// kept, so that checkChosen refuses it rather than skip it.
				p, err := w.r.artifactPlatform(gctx, w.pinned.WithDigest(d), w.access)
				if p != "" {
					found[i] = &Facts{Digest: d, Platform: p}
				}
				return err
			case err != nil:
				return fmt.Errorf("index entry %s without a platform: %w", d, err)
			}
			found[i] = c.facts
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, d := range todo {
		w.leaves[d] = found[i]
	}
	return nil
}

func (w *indexWalk) add(c child) {
	for _, have := range w.chosen {
		if have.digest == c.digest && platformOrNone(have.listed) == platformOrNone(c.listed) {
			return
		}
	}
	w.chosen = append(w.chosen, c)
}

// checkChosen reads the facts of every chosen manifest, once each, and
// refuses an entry whose platform its own config contradicts.
func (w *indexWalk) checkChosen(ctx context.Context) error {
	w.findAttestations()
	facts := make([]*Facts, len(w.chosen))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(walkFetches)
	for i, ch := range w.chosen {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return fmt.Errorf("platform %s: %w", platformOrNone(ch.listed), err)
			}
			// The attestation manifest is read while the image manifest and
			// its config are: provenance costs one more round trip (its
			// blob), and an image without one costs nothing.
			var prov *Provenance
			done := make(chan struct{})
			go func() {
				defer close(done)
				if !ch.attestation.IsZero() {
					prov = w.r.provenanceOf(gctx, w.pinned.WithDigest(ch.attestation), ch.digest, w.access)
				}
			}()
			c, err := w.r.contentOf(gctx, w.pinned.WithDigest(ch.digest), "", nil, w.access)
			<-done
			c.facts = w.r.withProvenance(c.facts, prov)
			if err == nil && c.facts == nil {
				err = &errUnsupported{msg: fmt.Sprintf("index entry %s says it is an image manifest but holds an index", ch.digest)}
			}
			if err != nil {
				return fmt.Errorf("platform %s: %w", platformOrNone(ch.listed), err)
			}
			facts[i] = c.facts
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, ch := range w.chosen {
		if ch.listed == nil {
			continue
		}
		if err := contradiction(ch.digest, *ch.listed, facts[i]); err != nil {
			return err
		}
	}
	return nil
}

// findAttestations notes, for each chosen manifest, the attestation
// manifest an index of this walk lists for it.
func (w *indexWalk) findAttestations() {
	for _, entries := range w.indexes {
		atts := attestationsOf(entries)
		for i := range w.chosen {
			if a, ok := atts[w.chosen[i].digest]; ok && w.chosen[i].attestation.IsZero() {
				w.chosen[i].attestation = a
			}
		}
	}
}

// contradiction reports an index entry whose platform its config
// contradicts: the runtime pulls by the entry, so the config's word must not
// decide which rules apply. A config silent on a field contradicts nothing;
// variants are compared only when both state one.
func contradiction(d Digest, listed v1.Platform, f *Facts) error {
	cfg := configPlatform(f)
	if cfg.OS == "" && cfg.Architecture == "" {
		return nil
	}
	l := platforms.Normalize(specOf(listed))
	c := platforms.Normalize(specs.Platform{OS: orDefault(cfg.OS, l.OS), Architecture: orDefault(cfg.Architecture, l.Architecture), Variant: cfg.Variant})
	lying := l.OS != c.OS || l.Architecture != c.Architecture ||
		(listed.Variant != "" && cfg.Variant != "" && l.Variant != c.Variant)
	if !lying {
		return nil
	}
	return &errInconsistent{msg: fmt.Sprintf("index entry %s is listed as %s but its config says %s", d, platformString(listed), f.Platform)}
}

// configMatches is containerd's test for an entry without a platform: its
// config's os and architecture, normalized, must match the node. A config
// that names no os is taken to be the node's.
func configMatches(m platforms.MatchComparer, f *Facts) bool {
	if f == nil {
		return false
	}
	cfg := configPlatform(f)
	if _, any := m.(anyRunnable); any {
		return true
	}
	if cfg.OS == "" {
		// Normalize would read strata's own OS; try the OSes nodes run.
		for _, os := range []string{"linux", "windows"} {
			if m.Match(platforms.Normalize(specs.Platform{OS: os, Architecture: cfg.Architecture})) {
				return true
			}
		}
		return false
	}
	return m.Match(platforms.Normalize(specs.Platform{OS: cfg.OS, Architecture: cfg.Architecture}))
}

// configPlatform is the platform an image's config states (Facts.Platform).
func configPlatform(f *Facts) v1.Platform {
	parts := strings.SplitN(f.Platform, "/", 3)
	var p v1.Platform
	p.OS = parts[0]
	if len(parts) > 1 {
		p.Architecture = parts[1]
	}
	if len(parts) > 2 {
		p.Variant = parts[2]
	}
	return p
}

func specOf(p v1.Platform) specs.Platform {
	return specs.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, OSVersion: p.OSVersion, OSFeatures: p.OSFeatures}
}

func platformOrNone(p *v1.Platform) string {
	if p == nil {
		return "(entry without a platform)"
	}
	return platformString(*p)
}

func isIndexType(mt types.MediaType) bool {
	return mt == types.OCIImageIndex || mt == types.DockerManifestList
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// artifactPlatform is the platform an artifact's config blob states, read
// as containerd reads it to match an index entry without a platform: "" when
// the manifest has no readable config or the config states none (or
// unknown/unknown, an attestation's).
func (r *Resolver) artifactPlatform(ctx context.Context, pinned Reference, access Access) (string, error) {
	_, raw, err := r.fetchManifest(ctx, pinned, access)
	if err != nil {
		return "", fmt.Errorf("index entry %s without a platform: %w", pinned.Digest, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return "", nil
	}
	d, err := digestFromHash(m.Config.Digest)
	if err != nil {
		return "", nil
	}
	cfg, err := r.fetchConfig(ctx, pinned, d, access)
	var invalid *errContent
	switch {
	case errors.As(err, &invalid):
		return "", nil // containerd cannot read it either
	case err != nil:
		return "", fmt.Errorf("index entry %s without a platform: %w", pinned.Digest, err)
	case cfg.OS == "unknown" || cfg.Architecture == "unknown" || cfg.OS == "" && cfg.Architecture == "":
		return "", nil
	}
	return platformString(v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}), nil
}
