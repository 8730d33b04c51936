// Package images turns image references, exactly as written in pod specs,
// into verified, platform-specific image facts read from their registries.
package images

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/singleflight"

	"github.com/strata-project/strata/webhook/internal/lru"
)

// The defaults of the Options strata's configuration also sets (platforms,
// registry.tagTTL): config takes them from here, so that they are defined
// once.
const (
	DefaultTagTTL       = 5 * time.Minute
	DefaultFetchTimeout = 10 * time.Second
)

// DefaultPlatforms returns the platforms of a multi-platform image that are
// checked when none are configured: a new slice each time.
func DefaultPlatforms() []string { return []string{"linux/amd64", "linux/arm64"} }

// Options configure a Resolver. The zero value is a working configuration.
type Options struct {
	// Platforms are the platforms of a multi-platform image that are checked,
	// as "os/arch[/variant]". Default: DefaultPlatforms().
	Platforms []string
	// TagTTL is how long a tag → digest resolution is trusted before a HEAD
	// request re-checks it. Default: DefaultTagTTL.
	TagTTL time.Duration
	// StaleTTL is how long past TagTTL a resolution may still be used when the
	// registry fails to answer (stale-if-error). Default: 1 hour.
	StaleTTL time.Duration
	// NotFoundTTL is how long a "not found" answer is remembered. Default: 30s.
	NotFoundTTL time.Duration
	// FetchTimeout bounds a registry fetch shared by concurrent callers. Each
	// caller still gives up at its own ctx deadline; the fetch goes on until
	// this timeout so that its answer warms the cache for the next request.
	// Default: DefaultFetchTimeout. strata sets it to registry.timeout.
	FetchTimeout time.Duration
	// Allow, when not empty, lists the only registry hosts strata may contact.
	Allow []string
	// Insecure lists registry hosts reached over plain HTTP.
	Insecure []string
	// MaxRequests bounds the registry requests in flight at once, all hosts
	// together, and MaxRequestsPerHost those to one host: a request that
	// names thousands of images, or a registry that hangs, cannot make strata
	// hold more connections than this. A request waits for a slot within its
	// own deadline. Defaults: 64 and 16.
	MaxRequests        int
	MaxRequestsPerHost int
	// MaxBodyBytes caps every registry response body (manifests, configs,
	// tokens). Default: 4 MiB.
	MaxBodyBytes int64
	// CacheBytes bounds, by the bytes its entries are estimated to hold,
	// everything the resolver remembers: image facts, index children, tag
	// resolutions and remembered failures, tag hints, parsed references and
	// registry sessions, each within its share (cacheShares). Eviction is
	// least recently used, one entry at a time. Default: DefaultCacheBytes.
	CacheBytes int64
	// Keychain supplies credentials when a call gives none. Default:
	// authn.DefaultKeychain (the docker config.json of strata's own user).
	Keychain authn.Keychain
	// Cloud are the cloud registry helpers (registry.credentials), consulted
	// after every other credential, each for its own hosts only. Default:
	// none.
	Cloud CloudOptions
	// Transport is the HTTP transport under strata's guard. Default: one that
	// refuses link-local and cloud metadata addresses after DNS resolution.
	Transport http.RoundTripper
	// Hosts maps registry host names to the host:port dialled instead, as
	// /etc/hosts would (the demo registry is strata-demo.local). Only used
	// by the default Transport.
	Hosts map[string]string
	// RootCAs are the certificate authorities registries' TLS certificates
	// are verified against. Default: the system's. Only used by the
	// default Transport.
	RootCAs *x509.CertPool
	// MaxIndexEntries bounds the index entries read for one image, over the
	// index and every index nested in it; an image with more is an error
	// that names the bound. Default: 256.
	MaxIndexEntries int
	// MaxIndexDepth bounds how deep strata walks into indexes nested in
	// indexes, the top one counting as 1. Default: 4.
	MaxIndexDepth int
	// Now is the clock for TTLs. Default: time.Now.
	Now func() time.Time
	// Logger receives debug lines about registry fetches. Default: discard.
	Logger *slog.Logger
}

// Access says whose credentials a resolution uses. Resolutions are cached per
// Scope, so that what one namespace's pull secret could read is never handed
// to another namespace: give each distinct set of credentials its own Scope.
// The zero Access uses Options.Keychain under the shared scope "".
type Access struct {
	Scope    string
	Keychain authn.Keychain
	// Fence, when set, wraps the transport of this scope's registry
	// sessions (PullSecrets uses it to keep credentials to the hosts they
	// name).
	Fence func(http.RoundTripper) http.RoundTripper
}

// Resolver resolves image references to facts. It is safe for concurrent use.
type Resolver struct {
	opts      Options
	nodes     []node // the nodes the configured platforms stand for
	allow     map[string]bool
	insecure  map[string]bool
	transport http.RoundTripper
	backoff   remote.Backoff

	refs    *lru.Cache[refKey, *refEntry]
	hints   *lru.Cache[string, Digest] // reference → last digest seen in any scope
	parsed  *lru.Cache[string, parsedRef]
	indexes *lru.Cache[Digest, []child]
	facts   *lru.Cache[Digest, *Facts]
	// provenance holds build provenance by attestation manifest digest,
	// nil for one that holds none.
	provenance *lru.Cache[Digest, *Provenance]
	sessions   *lru.Cache[sessionKey, *session]
	pings      *lru.Cache[pingKey, *pingAnswer]
	cloud      *cloudKeychain

	pullerMu sync.Mutex
	flight   singleflight.Group
	done     chan struct{}
}

// NewResolver checks opts, fills in defaults and returns a Resolver. Close it
// to stop fetches still running for callers that have gone.
func NewResolver(opts Options) (*Resolver, error) {
	opts = withDefaults(opts)
	configured, err := parsePlatforms(opts.Platforms)
	if err != nil {
		return nil, err
	}
	var nodes []node
	for _, p := range configured {
		nodes = append(nodes, nodesOf(v1.Platform(p))...)
	}
	allow := make(map[string]bool, len(opts.Allow))
	for _, h := range opts.Allow {
		allow[canonicalHost(h)] = true
	}
	insecure := make(map[string]bool, len(opts.Insecure))
	for _, h := range opts.Insecure {
		insecure[h] = true
	}
	r := &Resolver{
		opts:     opts,
		nodes:    nodes,
		allow:    allow,
		insecure: insecure,
		transport: &guard{
			next:     opts.Transport,
			insecure: insecure,
			allow:    allow,
			lookup:   hostsLookup(opts.Hosts),
			logger:   opts.Logger,
			maxBody:  opts.MaxBodyBytes,
			now:      opts.Now,
			slots:    newRequestSlots(opts.MaxRequests, opts.MaxRequestsPerHost),
		},
		// go-containerregistry's default retry sleeps 1s then 3s and cannot be
		// interrupted; these fit inside an admission budget.
		backoff:    remote.Backoff{Duration: 50 * time.Millisecond, Factor: 2, Jitter: 0.2, Steps: 3},
		refs:       lru.New[refKey, *refEntry](0, share(opts.CacheBytes, cacheShares.refs)),
		hints:      lru.New[string, Digest](0, share(opts.CacheBytes, cacheShares.hints)),
		parsed:     lru.New[string, parsedRef](0, share(opts.CacheBytes, cacheShares.parsed)),
		indexes:    lru.New[Digest, []child](0, share(opts.CacheBytes, cacheShares.indexes)),
		facts:      lru.New[Digest, *Facts](0, share(opts.CacheBytes, cacheShares.facts)),
		sessions:   lru.New[sessionKey, *session](0, share(opts.CacheBytes, cacheShares.sessions)),
		provenance: lru.New[Digest, *Provenance](0, share(opts.CacheBytes, cacheShares.provenance)),
		pings:      lru.New[pingKey, *pingAnswer](0, share(opts.CacheBytes, cacheShares.pings)),
		done:       make(chan struct{}),
	}
	r.cloud = newCloudKeychain(opts.Cloud, r)
	return r, nil
}

func withDefaults(o Options) Options {
	if len(o.Platforms) == 0 {
		o.Platforms = DefaultPlatforms()
	}
	if o.TagTTL <= 0 {
		o.TagTTL = DefaultTagTTL
	}
	if o.StaleTTL <= 0 {
		o.StaleTTL = time.Hour
	}
	if o.NotFoundTTL <= 0 {
		o.NotFoundTTL = 30 * time.Second
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	if o.MaxRequests <= 0 {
		o.MaxRequests = 64
	}
	if o.MaxRequestsPerHost <= 0 {
		o.MaxRequestsPerHost = 16
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 4 << 20
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.Transport == nil {
		t := newBaseTransport(o.Hosts)
		t.TLSClientConfig.RootCAs = o.RootCAs
		// A registry that accepts the connection and says nothing must not
		// hold a request longer than a whole fetch may last, even where the
		// caller gave no deadline (a tag listing, a catalog refresh).
		t.ResponseHeaderTimeout = o.FetchTimeout
		o.Transport = t
	}
	if o.MaxIndexEntries <= 0 {
		o.MaxIndexEntries = defaultMaxIndexEntries
	}
	if o.MaxIndexDepth <= 0 {
		o.MaxIndexDepth = defaultMaxIndexDepth
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Close stops registry fetches that outlived their callers. A closed
// Resolver must not be used again.
func (r *Resolver) Close() { close(r.done) }

// Platforms returns the platforms this resolver checks, as "os/arch[/variant]".
func (r *Resolver) Platforms() []string { return slices.Clone(r.opts.Platforms) }

// Resolve returns the facts of image for each checked platform. The error,
// if any, is an *Error whose message names the image and says what to do.
func (r *Resolver) Resolve(ctx context.Context, image string, access Access) (*Image, error) {
	ref, canonical, err := r.parse(image)
	if err != nil {
		return nil, &Error{Kind: KindInvalidReference, Image: image, Err: err}
	}
	if len(r.allow) > 0 && !r.allow[canonicalHost(ref.Registry)] {
		return nil, &Error{Kind: KindNotAllowed, Image: image, Registry: ref.Registry, Repository: ref.Repository}
	}
	top, facts, err := r.resolveImage(ctx, ref, canonical, access)
	if err != nil {
		return nil, r.classify(ctx, image, ref, err)
	}
	return r.image(ctx, image, ref, canonical, top, facts), nil
}

// Cached is Resolve answered from the caches alone, false where Resolve
// would ask a registry or refuse the image. A caller resolving many images
// at once asks it first, so that a warm admission starts no goroutine.
func (r *Resolver) Cached(image string, access Access) (*Image, bool) {
	ref, canonical, err := r.parse(image)
	if err != nil || len(r.allow) > 0 && !r.allow[canonicalHost(ref.Registry)] {
		return nil, false
	}
	// The canonical reference is both the cache's key and the answer's.
	top, facts, ok := r.cachedImage(canonical, access)
	if !ok {
		return nil, false
	}
	return r.image(context.Background(), image, ref, canonical, top, facts), true
}

// image is what Resolve answers for image, resolved as top with facts;
// canonical is ref.String().
func (r *Resolver) image(ctx context.Context, image string, ref Reference, canonical string, top resolved, facts []*Facts) *Image {
	img := &Image{
		Written:   image,
		Ref:       canonical,
		Digest:    top.digest,
		MediaType: top.mediaType,
		Platforms: facts,
	}
	if top.staleCause != nil {
		img.Stale = true
		img.StaleAge = top.staleAge
		img.StaleCause = r.classify(ctx, image, ref, top.staleCause)
	}
	return img
}

// classify is the package's classify, naming the cloud helper behind a
// failure: the token request a timed-out resolution was waiting on, or the
// helper to enable for a cloud registry that refused strata.
func (r *Resolver) classify(ctx context.Context, image string, ref Reference, err error) *Error {
	e := classify(ctx, image, ref, err)
	if e.Kind == KindTimeout {
		if cause := r.cloud.blocking(ref.Registry, e.Err); cause != nil {
			c := *e
			c.Err = cause
			return &c
		}
	}
	if e.Kind != KindUnauthorized {
		return e
	}
	host, _ := splitHostPort(ref.Registry)
	if advice := r.cloud.missingHelper(host); advice != "" {
		c := *e
		c.missingHelper = advice
		return &c
	}
	return e
}

// parse returns the canonical reference of image, marked for plain HTTP
// when its registry is insecure, and its String (the caches' key and the
// answer's Ref); references are parsed once, since every admission names
// the same few images again, and spelling each anew was an allocation an
// image.
func (r *Resolver) parse(image string) (Reference, string, error) {
	if p, ok := r.parsed.Get(image); ok {
		return p.ref, p.canonical, nil
	}
	ref, err := ParseReference(image)
	if err != nil {
		return Reference{}, "", err
	}
	if r.insecure[ref.Registry] {
		ref = ref.plainHTTP()
	}
	canonical := ref.String()
	// The key, the reference's own canonical spelling of it, and the
	// whole canonical string.
	r.parsed.Add(image, parsedRef{ref: ref, canonical: canonical}, 2*int64(len(image))+int64(len(canonical))+64)
	return ref, canonical, nil
}

// parsedRef is a parsed image reference and its String.
type parsedRef struct {
	ref       Reference
	canonical string
}

// resolveImage answers from the caches when it can, without starting a
// goroutine; otherwise one shared fetch resolves the reference and reads its
// content, so that a caller arriving between the two steps joins the fetch
// rather than reading the manifest again. canonical is ref.String().
func (r *Resolver) resolveImage(ctx context.Context, ref Reference, canonical string, access Access) (resolved, []*Facts, error) {
	if top, facts, ok := r.cachedImage(canonical, access); ok {
		return top, facts, nil
	}
	type answer struct {
		top   resolved
		facts []*Facts
	}
	a, err := await(ctx, r, "image\x00"+access.Scope+"\x00"+canonical, func(ctx context.Context) (answer, error) {
		if top, facts, ok := r.cachedImage(canonical, access); ok {
			return answer{top, facts}, nil
		}
		top, err := r.resolveRef(ctx, ref, access)
		if err != nil {
			return answer{}, err
		}
		facts, err := r.platformFacts(ctx, ref.WithDigest(top.digest), top, access)
		if err != nil {
			return answer{}, err
		}
		return answer{top, facts}, nil
	})
	return a.top, a.facts, err
}

// cachedImage answers from fresh cache entries alone, for the reference
// whose canonical form (Reference.String) is canonical.
func (r *Resolver) cachedImage(canonical string, access Access) (resolved, []*Facts, bool) {
	e, ok := r.refs.Get(refKey{scope: access.Scope, ref: canonical})
	if !ok || e.notFound != nil || r.opts.Now().Sub(e.checked) >= r.opts.TagTTL {
		return resolved{}, nil, false
	}
	top := resolved{digest: e.digest, mediaType: e.mediaType}
	if f, ok := r.facts.Get(e.digest); ok {
		return top, []*Facts{f}, true
	}
	children, ok := r.indexes.Get(e.digest)
	if !ok {
		return resolved{}, nil, false
	}
	out := make([]*Facts, len(children))
	for i, c := range children {
		if out[i], ok = r.facts.Get(c.digest); !ok {
			return resolved{}, nil, false
		}
	}
	return top, out, true
}

// canonicalHost folds the spellings of Docker Hub together for registry.allow.
func canonicalHost(h string) string {
	switch h {
	case "index.docker.io", "registry-1.docker.io":
		return dockerHub
	}
	return h
}

// await runs fn once for all concurrent callers with the same key, detached
// from any one caller's cancellation, and returns when fn is done or ctx ends.
// A caller whose ctx has already ended starts nothing: a fetch outlives its
// callers to warm the cache, not to serve callers that were never waiting.
func await[T any](ctx context.Context, r *Resolver, key string, fn func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("the resolution budget ended before the registry was asked: %w", err)
	}
	ch := r.flight.DoChan(key, func() (any, error) {
		fctx, cancel := detach(ctx, r.done, r.opts.FetchTimeout)
		defer cancel()
		return fn(fctx)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return zero, res.Err
		}
		return res.Val.(T), nil
	case <-ctx.Done():
		return zero, fmt.Errorf("waiting for the registry: %w", ctx.Err())
	}
}

// detach returns a context with ctx's values but not its cancellation, for
// work shared by every caller waiting on it: it ends after timeout, or when
// done (the resolver's Close) is closed. Call cancel when the work is done.
func detach(ctx context.Context, done <-chan struct{}, timeout time.Duration) (context.Context, context.CancelFunc) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	go func() {
		select {
		case <-done:
			cancel()
		case <-fctx.Done():
		}
	}()
	return fctx, cancel
}

// pullerTTL is how long a registry session lives. It is longer than the
// tag TTL on purpose: a re-check after the tag TTL should cost one HEAD,
// not a new token as well.
const pullerTTL = time.Hour

// sessionKey identifies a registry session: one repository read with one
// scope's credentials (a bearer token is for one repository).
type sessionKey struct {
	scope      string
	repository string // registry/repository
}

// session is a go-containerregistry puller used for one repository only,
// so that its authenticated transport can be evicted with it; the ping it
// needs is answered by the scope's pingAnswer for the host.
type session struct {
	puller  *remote.Puller
	created time.Time
}

// sessionCost is what a session is estimated to hold before its registry
// sends anything: the puller, its options and transports, one reader and
// fetcher (about 1.5 KiB measured against an anonymous registry, 5,000
// repositories), and room for a bearer token (registries' JWTs run to
// 1–2 KiB). What the registry then sends that the session keeps (its
// token, its challenge) is added as it arrives (sessionMeter).
const sessionCost = 4 << 10

// puller returns the session of ref's repository in access's scope. A
// session keeps one authenticated transport, so bearer tokens are reused
// until they expire instead of being fetched for every request. It is
// replaced after pullerTTL, or at once when the registry refuses it
// (forgetPuller), so that rotated pull secrets take effect.
func (r *Resolver) puller(access Access, ref Reference) (*remote.Puller, error) {
	key := sessionKey{scope: access.Scope, repository: ref.nameRef().Context().Name()}
	// One session per repository and scope: two would each fetch a token.
	r.pullerMu.Lock()
	defer r.pullerMu.Unlock()
	if s, ok := r.sessions.Get(key); ok && r.opts.Now().Sub(s.created) < pullerTTL {
		return s.puller, nil
	}
	kc := access.Keychain
	if kc == nil {
		kc = r.opts.Keychain
	}
	// Pull secrets and strata's docker config first: the cloud helpers
	// only for the hosts nothing else has credentials for.
	kc = authn.NewMultiKeychain(kc, r.cloud)
	var transport http.RoundTripper = r.transport
	if access.Fence != nil {
		transport = access.Fence(transport)
	}
	s := &session{created: r.opts.Now()}
	base := sessionCost + int64(len(key.scope)+len(key.repository))
	meter := &sessionMeter{
		next: &pingReuse{next: transport, scope: access.Scope, answers: r.pings, now: r.opts.Now},
		resize: func(received int64) {
			r.sessions.Resize(key, base+2*received, func(v *session) bool { return v == s })
		},
	}
	p, err := remote.NewPuller(
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(meter),
		remote.WithRetryBackoff(r.backoff),
		// 429 is left out: a rate limit's Retry-After never fits in an admission budget.
		remote.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout),
		remote.WithUserAgent("strata"),
	)
	if err != nil {
		return nil, fmt.Errorf("creating registry client: %w", err)
	}
	s.puller = p
	r.sessions.Add(key, s, base)
	return p, nil
}

// forgetPuller drops the session of ref's repository, and the ping answer
// of its registry, after the registry refused them, so that the next
// request reads the credentials and the challenge again.
func (r *Resolver) forgetPuller(access Access, ref Reference, err error) {
	if kindOf(err, new(time.Duration)) != KindUnauthorized {
		return
	}
	r.sessions.Remove(sessionKey{scope: access.Scope, repository: ref.nameRef().Context().Name()})
	for _, scheme := range []string{"https", "http"} {
		r.pings.Remove(pingKey{scope: access.Scope, origin: scheme + "://" + ref.nameRef().Context().RegistryStr()})
	}
}

func isNotFound(err error) bool { return kindOf(err, new(time.Duration)) == KindNotFound }

// isTemporary reports failures worth serving a stale resolution through.
func isTemporary(err error) bool {
	switch kindOf(err, new(time.Duration)) {
	case KindRateLimited, KindUnavailable, KindTimeout, KindNetwork:
		return true
	}
	return false
}

// Tags lists the tags of repository (e.g. "registry.example.com/base/debian"),
// for catalog entries that match tags by pattern.
func (r *Resolver) Tags(ctx context.Context, repository string, access Access) ([]string, error) {
	ref, err := ParseReference(repository)
	if err != nil {
		return nil, &Error{Kind: KindInvalidReference, Image: repository, Err: err}
	}
	if len(r.allow) > 0 && !r.allow[canonicalHost(ref.Registry)] {
		return nil, &Error{Kind: KindNotAllowed, Image: repository, Registry: ref.Registry, Repository: ref.Repository}
	}
	if r.insecure[ref.Registry] {
		ref = ref.plainHTTP()
	}
	p, err := r.puller(access, ref)
	if err != nil {
		return nil, err
	}
	tags, err := p.List(ctx, ref.nameRef().Context())
	if err != nil {
		return nil, r.classify(ctx, repository, ref, err)
	}
	return tags, nil
}

// sessionMeter costs a session by what its registry sent that the session
// keeps: a registry chooses the size of its bearer token and of its
// challenge, and a session's transport holds both for as long as it lives.
// The largest of each seen so far counts, not their sum: a refreshed token
// replaces the old one.
type sessionMeter struct {
	next   http.RoundTripper
	resize func(received int64)

	mu               sync.Mutex
	token, challenge int64
}

func (m *sessionMeter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := m.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	var challenge int64
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		challenge += int64(len(v))
	}
	m.observe(&m.challenge, challenge)
	// Anything outside the registry API is a token service's answer: the
	// session keeps the token it carries.
	if !strings.HasPrefix(req.URL.Path, "/v2/") && resp.Body != nil {
		resp.Body = &meteredBody{ReadCloser: resp.Body, closed: func(n int64) { m.observe(&m.token, n) }}
	}
	return resp, nil
}

// observe raises *largest to n and resizes the session if n is a new high.
func (m *sessionMeter) observe(largest *int64, n int64) {
	m.mu.Lock()
	if n <= *largest {
		m.mu.Unlock()
		return
	}
	*largest = n
	received := m.token + m.challenge
	m.mu.Unlock()
	m.resize(received)
}

// meteredBody counts the bytes read from a body and reports them once,
// when it is closed.
type meteredBody struct {
	io.ReadCloser
	n      int64
	closed func(int64)
	once   sync.Once
}

func (b *meteredBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *meteredBody) Close() error {
	b.once.Do(func() { b.closed(b.n) })
	return b.ReadCloser.Close()
}
