package lineage

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/internal/lru"
)

// CatalogImage is one configured known image: a tag, a digest, or a pattern
// over the tags of one repository ("registry.example.com/base/debian:12*").
type CatalogImage struct {
	Ref  string
	Role string
}

// Options configure a Catalog; the zero value of each field is a default.
type Options struct {
	Images []CatalogImage
	// History is how many digests per tag are remembered, so that an image
	// built on last month's base is still recognised. Default: 20.
	History int
	// MaxClaimDepth caps how far base claims are followed. Default: 8.
	MaxClaimDepth int
	// Concurrency bounds parallel registry reads during a refresh. Default: 8.
	Concurrency int
	// FetchTimeout bounds each registry call of a refresh that no shared
	// fetch bounds already: listing a pattern entry's tags. Give it the
	// resolver's FetchTimeout (registry.timeout). Default:
	// images.DefaultFetchTimeout.
	FetchTimeout time.Duration
	// ClaimTTL is how long a computed lineage is reused while the catalog
	// does not change; claimed bases and their tags are read again after
	// it. Default: images.DefaultTagTTL.
	ClaimTTL time.Duration
	// CacheBytes bounds the computed lineages remembered, by the bytes they
	// are estimated to hold (claims carry names tenants write). Default:
	// DefaultCacheBytes.
	CacheBytes int64
	// Now is the clock for ClaimTTL. Default: time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Moved, when set, is called once for each catalog tag a refresh sees
	// pointing elsewhere than at the refresh before, after the new index is
	// in place: the images built on the old digest need a rebuild. It is
	// called from the refresh, and must not block.
	Moved func(Move)
}

// Move is a catalog tag seen pointing to a new image by a refresh.
type Move struct {
	// Tag is the canonical reference of the catalog tag.
	Tag  string
	Role string
	// From and To are what the tag resolved to before and now: an index
	// or a single manifest.
	From, To images.Digest
	// Platforms are the platforms whose image changed; an image built on
	// one of their From digests is built on an outdated base.
	Platforms []PlatformMove
}

// PlatformMove is one platform of a moved tag. A platform may have more
// than one manifest (an index can list two for one platform).
type PlatformMove struct {
	Platform string
	From, To []images.Digest
}

// Catalog holds the known images and answers lineage questions against
// them. Lineage reads an immutable index that Refresh swaps atomically.
type Catalog struct {
	resolver Resolver
	lister   TagLister
	opts     Options
	entries  []catalogEntry
	seed     maphash.Seed

	mu      sync.Mutex // serialises refreshes and guards the state below
	nodes   map[images.Digest]*node
	history map[string][]resolution  // tag → its resolutions, newest first
	roles   map[string]string        // tag → role
	tops    map[string]images.Digest // tag → what it resolved to at the last refresh
	pinned  map[string]bool          // digest references of the catalog
	// unmatched are the tag patterns whose repository listed tags at the
	// last refresh, none of them matching.
	unmatched []string

	current atomic.Pointer[index]
	loaded  atomic.Bool

	lineages *lru.Cache[lineageKey, lineageEntry]
}

type catalogEntry struct {
	ref     images.Reference
	role    string
	pattern *images.Pattern // tag pattern, nil for an exact tag or digest
	raw     string          // as configured
}

// NewCatalog checks the configured images and returns an empty catalog;
// call Refresh (or Run) to load it. lister may be nil when no entry uses a
// tag pattern.
func NewCatalog(resolver Resolver, lister TagLister, opts Options) (*Catalog, error) {
	if opts.History <= 0 {
		opts.History = 20
	}
	if opts.MaxClaimDepth <= 0 {
		opts.MaxClaimDepth = 8
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = images.DefaultFetchTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ClaimTTL <= 0 {
		opts.ClaimTTL = images.DefaultTagTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	c := &Catalog{
		lineages: lru.New[lineageKey, lineageEntry](0, opts.CacheBytes),
		resolver: resolver,
		lister:   lister,
		opts:     opts,
		seed:     maphash.MakeSeed(),
		nodes:    map[images.Digest]*node{},
		history:  map[string][]resolution{},
		roles:    map[string]string{},
		tops:     map[string]images.Digest{},
		pinned:   map[string]bool{},
	}
	var problems []error
	for _, img := range opts.Images {
		e, err := parseEntry(img)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if e.pattern != nil && lister == nil {
			problems = append(problems, fmt.Errorf("catalog image %q: tag patterns need a registry that can list tags", img.Ref))
		}
		c.entries = append(c.entries, e)
	}
	c.current.Store(newIndex(c.seed, nil, nil))
	return c, errors.Join(problems...)
}

// CheckImages reports the configured images NewCatalog would refuse, so
// that a configuration is refused when it loads, before any catalog is
// built.
func CheckImages(imgs []CatalogImage) error {
	var problems []error
	for _, img := range imgs {
		if _, err := parseEntry(img); err != nil {
			problems = append(problems, err)
		}
	}
	return errors.Join(problems...)
}

// parseEntry splits "repo:pattern*" entries from plain references. Tag
// patterns are images.Pattern globs, the dialect of every strata pattern.
func parseEntry(img CatalogImage) (catalogEntry, error) {
	if img.Role == "" {
		return catalogEntry{}, fmt.Errorf("catalog image %q: give it a role (os, runtime, framework, ...)", img.Ref)
	}
	raw := img.Ref
	var pattern *images.Pattern
	if strings.ContainsAny(img.Ref, images.PatternChars) {
		i := strings.LastIndex(img.Ref, ":")
		if i < 0 || strings.Contains(img.Ref[i:], "/") || strings.Contains(img.Ref, "@") {
			return catalogEntry{}, fmt.Errorf("catalog image %q: a pattern matches tags only, as in registry.example.com/base/debian:12*", img.Ref)
		}
		p, err := images.CompilePattern(img.Ref[i+1:])
		if err != nil {
			return catalogEntry{}, fmt.Errorf("catalog image %q: bad tag pattern: %w", img.Ref, err)
		}
		raw, pattern = img.Ref[:i]+":latest", &p
	}
	ref, err := images.ParseReference(raw)
	if err != nil {
		return catalogEntry{}, fmt.Errorf("catalog image %q: %w", img.Ref, err)
	}
	return catalogEntry{ref: ref, role: img.Role, pattern: pattern, raw: img.Ref}, nil
}

// Ready reports whether the first load has finished; until then lineage
// would call every image unknown.
func (c *Catalog) Ready() bool { return c.loaded.Load() }

// The intervals strata's Run uses unless configured otherwise.
const (
	// DefaultRefresh is how often the catalog is read again (catalog.refresh).
	DefaultRefresh = time.Hour
	// DefaultRetry is how soon a refresh in which an image failed is tried
	// again, rather than a whole refresh interval later.
	DefaultRetry = 30 * time.Second
)

// Run loads the catalog now and again every refresh interval until ctx
// ends. After a refresh in which some image failed, it tries again after
// retry rather than waiting a whole interval.
func (c *Catalog) Run(ctx context.Context, refresh, retry time.Duration) {
	for {
		wait := refresh
		if err := c.Refresh(ctx); err != nil {
			c.opts.Logger.Warn("catalog refresh incomplete; retrying", "error", err, "retryIn", retry.String())
			wait = min(retry, refresh)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// Refresh resolves every catalog image, asking the registry where each tag
// points now whatever the resolver's tag TTL, records it (keeping the
// digests it pointed to before), and swaps in a new index. An image that
// cannot be resolved or re-checked keeps what was known of it; the error is
// returned, and the refresh still counts as a load.
func (c *Catalog) Refresh(ctx context.Context) error {
	moves, err := c.refresh(ctx)
	if c.opts.Moved != nil {
		for _, m := range moves {
			c.opts.Moved(m)
		}
	}
	return err
}

// refresh is Refresh under the lock; it returns the tags it saw move.
func (c *Catalog) refresh(ctx context.Context) ([]Move, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	refs, role, errs := c.expand(ctx)
	results := make([]*images.Image, len(refs))
	resolveErrs := make([]error, len(refs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.Concurrency)
	for i, ref := range refs {
		g.Go(func() error {
			results[i], resolveErrs[i] = c.resolver.ResolveFresh(gctx, ref.String(), images.Access{})
			return nil
		})
	}
	_ = g.Wait()

	var moves []Move
	for i, ref := range refs {
		if resolveErrs[i] != nil {
			errs = append(errs, fmt.Errorf("catalog image %s: %w", ref, resolveErrs[i]))
			continue
		}
		if m, moved := c.record(ref, role[ref.String()], results[i]); moved {
			moves = append(moves, m)
		}
	}
	c.forgetUnreferenced()
	c.current.Store(c.buildIndex())
	c.loaded.Store(true)
	return moves, errors.Join(errs...)
}

// expand turns the configured entries into references, listing tags for patterns.
func (c *Catalog) expand(ctx context.Context) ([]images.Reference, map[string]string, []error) {
	var refs []images.Reference
	role := map[string]string{}
	var errs []error
	var unmatched []string
	add := func(ref images.Reference, r string) {
		if _, dup := role[ref.String()]; !dup {
			refs = append(refs, ref)
			role[ref.String()] = r
		}
	}
	for _, e := range c.entries {
		if e.pattern == nil {
			add(e.ref, e.role)
			continue
		}
		tags, err := c.listTags(ctx, e.ref.Name())
		if err != nil {
			errs = append(errs, fmt.Errorf("listing tags of %s: %w", e.ref.Name(), err))
			// Keep the tags already known rather than dropping them.
			for tag := range c.history {
				if ref, err := images.ParseReference(tag); err == nil && ref.Name() == e.ref.Name() {
					if e.pattern.Match(ref.Tag) {
						add(ref, e.role)
					}
				}
			}
			continue
		}
		matched := false
		for _, tag := range tags {
			if e.pattern.Match(tag) {
				if ref, err := images.ParseReference(e.ref.Name() + ":" + tag); err == nil {
					add(ref, e.role)
					matched = true
				}
			}
		}
		if !matched {
			unmatched = append(unmatched, fmt.Sprintf("catalog image %s: the pattern matches none of the %d tags of %s", e.raw, len(tags), e.ref.Name()))
		}
	}
	c.unmatched = unmatched
	return refs, role, errs
}

// Unmatched says which tag patterns matched none of their repository's
// tags at the last refresh: a typo in a pattern is a catalog that silently
// knows nothing. The refresh itself succeeded; listing again sooner would
// not help.
func (c *Catalog) Unmatched() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.unmatched)
}

// listTags lists a repository's tags within FetchTimeout: a refresh runs
// under a context that lives as long as strata, and a registry that never
// answers must not hold the refresh (and the first load /readyz waits for)
// forever.
func (c *Catalog) listTags(ctx context.Context, repository string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.FetchTimeout)
	defer cancel()
	return c.lister.Tags(ctx, repository, images.Access{})
}

// record adds a resolution of ref to the state, and reports the move when
// a tag known before now points elsewhere on some platform.
func (c *Catalog) record(ref images.Reference, role string, img *images.Image) (Move, bool) {
	name := ref.String()
	var res resolution
	for _, f := range img.Platforms {
		res = res.add(f.Platform, f.Digest)
		n, ok := c.nodes[f.Digest]
		if !ok {
			n = &node{digest: f.Digest, platform: f.Platform, diffIDs: f.DiffIDs, role: role}
			c.nodes[f.Digest] = n
		}
		if !slices.Contains(n.names, name) {
			n.names = append(n.names, name)
		}
	}
	if ref.ByDigest() {
		c.pinned[name] = true
		return Move{}, false
	}
	c.roles[name] = role
	from := c.tops[name]
	c.tops[name] = img.Digest
	h := c.history[name]
	if len(h) > 0 && h[0].equal(res) {
		return Move{}, false
	}
	var m Move
	if len(h) > 0 {
		m = Move{Tag: name, Role: role, From: from, To: img.Digest, Platforms: platformMoves(h[0], res)}
	}
	h = slices.Insert(h, 0, res)
	if len(h) > c.opts.History {
		h = h[:c.opts.History]
	}
	c.history[name] = h
	return m, len(m.Platforms) > 0
}

// platformMoves lists the platforms whose images in before are not what
// the tag points to in now; as isCurrent judges them, a platform the tag
// no longer has did not move.
func platformMoves(before, now resolution) []PlatformMove {
	var out []PlatformMove
	for _, p := range before {
		platform, old := p.platform, p.digests
		cur, ok := now.get(platform)
		if !ok || slices.Equal(old, cur) {
			continue
		}
		if gone := slices.DeleteFunc(slices.Clone(old), func(d images.Digest) bool { return slices.Contains(cur, d) }); len(gone) > 0 {
			out = append(out, PlatformMove{Platform: platform, From: gone, To: slices.Clone(cur)})
		}
	}
	slices.SortFunc(out, func(a, b PlatformMove) int { return strings.Compare(a.Platform, b.Platform) })
	return out
}

// Stale reports whether d, a catalog image, is one that a tag has since
// moved away from, with that tag and where it points now: an image built
// on d is built on an outdated base.
func (c *Catalog) Stale(d images.Digest) (tag string, now images.Digest, stale bool) {
	ix := c.current.Load()
	n, ok := ix.byDigest[d]
	if !ok {
		return "", images.Digest{}, false
	}
	current, tag, now := ix.isCurrent(n)
	return tag, now, !current
}

// forgetUnreferenced drops images no tag has pointed to within its history.
func (c *Catalog) forgetUnreferenced() {
	keep := map[images.Digest]bool{}
	for _, h := range c.history {
		for _, res := range h {
			for _, p := range res {
				for _, d := range p.digests {
					keep[d] = true
				}
			}
		}
	}
	for d, n := range c.nodes {
		pinned := slices.ContainsFunc(n.names, func(name string) bool { return c.pinned[name] })
		if !keep[d] && !pinned {
			delete(c.nodes, d)
		}
	}
}

// buildIndex copies the state into an immutable index.
func (c *Catalog) buildIndex() *index {
	nodes := make([]*node, 0, len(c.nodes))
	for _, n := range c.nodes {
		cp := *n
		cp.names = slices.Clone(n.names)
		nodes = append(nodes, &cp)
	}
	tags := make(map[string]*tagState, len(c.history))
	for name, h := range c.history {
		// A resolution is never changed once recorded (record makes a new
		// one), so the index shares it rather than holding a copy per tag.
		tags[name] = &tagState{role: c.roles[name], current: h[0]}
	}
	return newIndex(c.seed, nodes, tags)
}

// Len returns the number of platform images the catalog knows, current and past.
func (c *Catalog) Len() int { return len(c.current.Load().byDigest) }
