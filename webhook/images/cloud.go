package images

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/sync/singleflight"

	"github.com/strata-project/strata/webhook/internal/lru"
)

// CloudProvider reads strata's own credentials for a cloud registry from
// that cloud's token API, with the identity strata runs as (IRSA, GKE
// Workload Identity, Azure workload identity). webhook/images/cloud has one
// per cloud.
type CloudProvider interface {
	// Name is the provider's name in registry.credentials (ecr, google, azure).
	Name() string
	// Owns reports whether host (no port) is one of the provider's
	// registries: a provider is never consulted for any other host.
	Owns(host string) bool
	// Credentials returns credentials for req.Host and when they expire
	// (zero when the token API does not say).
	Credentials(ctx context.Context, req CloudRequest) (authn.AuthConfig, time.Time, error)
}

// CloudRequest is what a provider is asked for.
type CloudRequest struct {
	// Host is the registry host, as written in the image reference.
	Host string
	// Registry reaches the registry host through strata's guarded
	// transport (registry.allow, host mapping, CA bundle): Azure exchanges
	// its token at the registry itself.
	Registry *http.Client
	// Scheme is "https", or "http" for a host in registry.insecure.
	Scheme string
}

// CloudOptions configure the cloud registry helpers of a Resolver.
type CloudOptions struct {
	// Providers are the enabled helpers (registry.credentials). They come
	// after the pod's pull secrets and strata's own docker config.
	Providers []CloudProvider
	// Helper names the provider that owns a host whether or not it is
	// enabled ("" for none), so that a cloud registry's refusal names the
	// helper to enable.
	Helper func(host string) string
	// FailureTTL is how long a failed token request is remembered, so that
	// a broken identity cannot hammer the token API. Default: 30s.
	FailureTTL time.Duration
	// RefreshBefore is how long before its expiry a token is replaced.
	// Default: 5 minutes, at most half the token's lifetime.
	RefreshBefore time.Duration
	// UnknownLifetime is how long a token whose expiry the token API does
	// not state is reused. Default: 10 minutes.
	UnknownLifetime time.Duration
}

// CloudCredentialResults are the result label values of
// strata_registry_credentials_total.
var CloudCredentialResults = []string{"issued", "cached", "error", "error-cached"}

// cloudCacheBytes bounds the cloud tokens kept: one per registry host, a few
// KiB each (ECR tokens are about 2 KiB).
const cloudCacheBytes = 1 << 20

// cloudKeychain is the keychain of the enabled cloud helpers: each host is
// answered by the one provider that owns it, from a cache of one token per
// host (strata has one identity), refreshed by one caller at a time.
type cloudKeychain struct {
	opts      CloudOptions
	now       func() time.Time
	timeout   time.Duration // bounds one token API call, like a registry fetch
	transport http.RoundTripper
	insecure  map[string]bool
	done      <-chan struct{}

	tokens *lru.Cache[string, cloudToken]
	flight singleflight.Group

	mu       sync.Mutex
	counts   map[[2]string]uint64 // provider, result
	inFlight map[string]string    // host → provider, while its token request runs
}

// cloudToken is a provider's answer for one host: credentials, or an error
// remembered until retry.
type cloudToken struct {
	auth      authn.AuthConfig
	expires   time.Time
	refreshAt time.Time
	err       error
	retryAt   time.Time
}

func newCloudKeychain(o CloudOptions, r *Resolver) *cloudKeychain {
	if o.FailureTTL <= 0 {
		o.FailureTTL = 30 * time.Second
	}
	if o.RefreshBefore <= 0 {
		o.RefreshBefore = 5 * time.Minute
	}
	if o.UnknownLifetime <= 0 {
		o.UnknownLifetime = 10 * time.Minute
	}
	if o.Helper == nil {
		o.Helper = func(string) string { return "" }
	}
	return &cloudKeychain{
		opts:      o,
		now:       r.opts.Now,
		timeout:   r.opts.FetchTimeout,
		transport: r.transport,
		insecure:  r.insecure,
		done:      r.done,
		tokens:    lru.New[string, cloudToken](0, cloudCacheBytes),
		counts:    map[[2]string]uint64{},
		inFlight:  map[string]string{},
	}
}

// provider returns the enabled provider that owns host, if any.
func (k *cloudKeychain) provider(host string) CloudProvider {
	for _, p := range k.opts.Providers {
		if p.Owns(host) {
			return p
		}
	}
	return nil
}

func (k *cloudKeychain) enabled(name string) bool {
	return slices.ContainsFunc(k.opts.Providers, func(p CloudProvider) bool { return p.Name() == name })
}

// Resolve implements authn.Keychain.
func (k *cloudKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), target)
}

// ResolveContext implements authn.ContextKeychain. The token is read when the
// registry asks for it, not here, so that a session outliving a token
// presents the refreshed one.
func (k *cloudKeychain) ResolveContext(_ context.Context, target authn.Resource) (authn.Authenticator, error) {
	host := target.RegistryStr()
	hostname, _ := splitHostPort(host)
	p := k.provider(hostname)
	if p == nil {
		return authn.Anonymous, nil
	}
	return &cloudAuthenticator{keychain: k, provider: p, host: host}, nil
}

type cloudAuthenticator struct {
	keychain *cloudKeychain
	provider CloudProvider
	host     string
}

func (a *cloudAuthenticator) Authorization() (*authn.AuthConfig, error) {
	return a.AuthorizationContext(context.Background())
}

func (a *cloudAuthenticator) AuthorizationContext(ctx context.Context) (*authn.AuthConfig, error) {
	auth, err := a.keychain.credentials(ctx, a.provider, a.host)
	if err != nil {
		return nil, err
	}
	return &auth, nil
}

// credentials returns p's credentials for host from the cache, or from the
// token API by one call shared by every concurrent caller. The call is
// detached from any one caller (its answer warms the cache) but bounded by
// the fetch timeout; each caller gives up at its own deadline.
func (k *cloudKeychain) credentials(ctx context.Context, p CloudProvider, host string) (authn.AuthConfig, error) {
	key := p.Name() + "\x00" + host
	if auth, ok, err := k.cached(p, key); ok {
		return auth, err
	}
	if err := ctx.Err(); err != nil {
		return authn.AuthConfig{}, &CloudError{Provider: p.Name(), Host: host, Err: fmt.Errorf("the resolution budget ended before the token API was asked: %w", err)}
	}
	ch := k.flight.DoChan(key, func() (any, error) {
		fctx, cancel := detach(ctx, k.done, k.timeout)
		defer cancel()
		return k.refresh(fctx, p, host, key)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return authn.AuthConfig{}, res.Err
		}
		return res.Val.(authn.AuthConfig), nil
	case <-ctx.Done():
		return authn.AuthConfig{}, &CloudError{Provider: p.Name(), Host: host, Err: fmt.Errorf("waiting for the %s token API: %w", p.Name(), ctx.Err())}
	}
}

// cached answers from the cache when it may (ok): the token until it is due
// for refresh, the old token while a failed refresh waits to be retried,
// a failure until then.
func (k *cloudKeychain) cached(p CloudProvider, key string) (auth authn.AuthConfig, ok bool, err error) {
	t, found := k.tokens.Get(key)
	if !found {
		return authn.AuthConfig{}, false, nil
	}
	now := k.now()
	switch {
	case t.err == nil && now.Before(t.refreshAt):
		k.count(p.Name(), "cached")
		return t.auth, true, nil
	case now.Before(t.retryAt) && t.err != nil && now.Before(t.expires):
		// The refresh failed lately but the token still holds.
		k.count(p.Name(), "cached")
		return t.auth, true, nil
	case now.Before(t.retryAt):
		k.count(p.Name(), "error-cached")
		return authn.AuthConfig{}, true, t.err
	}
	return authn.AuthConfig{}, false, nil
}

// refresh is the one call of the callers that found no token to present:
// it asks the token API, unless a call that ended since they looked has
// answered them (a caller can find the token due, then start its call only
// once another's is over and the token is new).
func (k *cloudKeychain) refresh(ctx context.Context, p CloudProvider, host, key string) (authn.AuthConfig, error) {
	if auth, ok, err := k.cached(p, key); ok {
		return auth, err
	}
	return k.fetch(ctx, p, host, key)
}

// fetch asks the token API and caches its answer: a token until shortly
// before it expires, a failure for FailureTTL.
func (k *cloudKeychain) fetch(ctx context.Context, p CloudProvider, host, key string) (authn.AuthConfig, error) {
	scheme := "https"
	if k.insecure[host] {
		scheme = "http"
	}
	k.mu.Lock()
	k.inFlight[host] = p.Name()
	k.mu.Unlock()
	auth, expires, err := p.Credentials(ctx, CloudRequest{Host: host, Registry: &http.Client{Transport: k.transport}, Scheme: scheme})
	k.mu.Lock()
	delete(k.inFlight, host)
	k.mu.Unlock()
	now := k.now()
	if err != nil {
		k.count(p.Name(), "error")
		cerr := &CloudError{Provider: p.Name(), Host: host, Err: err}
		if ctx.Err() != nil && !errors.Is(err, context.DeadlineExceeded) {
			cerr.Err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		failed := cloudToken{err: cerr, retryAt: now.Add(k.opts.FailureTTL)}
		if old, ok := k.tokens.Get(key); ok && old.err == nil && now.Before(old.expires) {
			// Keep presenting the old token while it holds.
			failed.auth, failed.expires = old.auth, old.expires
			k.tokens.Add(key, failed, cloudTokenCost(key, failed.auth))
			return old.auth, nil
		}
		k.tokens.Add(key, failed, int64(len(key))+256)
		return authn.AuthConfig{}, cerr
	}
	k.count(p.Name(), "issued")
	if expires.IsZero() {
		expires = now.Add(k.opts.UnknownLifetime)
	}
	early := min(k.opts.RefreshBefore, expires.Sub(now)/2)
	k.tokens.Add(key, cloudToken{auth: auth, expires: expires, refreshAt: expires.Add(-early)}, cloudTokenCost(key, auth))
	return auth, nil
}

func cloudTokenCost(key string, auth authn.AuthConfig) int64 {
	return int64(len(key)+len(auth.Username)+len(auth.Password)+len(auth.Auth)+len(auth.IdentityToken)+len(auth.RegistryToken)) + 256
}

func (k *cloudKeychain) count(provider, result string) {
	k.mu.Lock()
	k.counts[[2]string{provider, result}]++
	k.mu.Unlock()
}

// CloudCredentialCount is how often one provider's credentials had one
// result (CloudCredentialResults).
type CloudCredentialCount struct {
	Provider, Result string
	N                uint64
}

// CloudCredentialCounts returns the cloud helpers' credential lookups so
// far, by provider and result, for strata_registry_credentials_total.
func (r *Resolver) CloudCredentialCounts() []CloudCredentialCount {
	if r.cloud == nil {
		return nil
	}
	r.cloud.mu.Lock()
	defer r.cloud.mu.Unlock()
	out := make([]CloudCredentialCount, 0, len(r.cloud.counts))
	for k, n := range r.cloud.counts {
		out = append(out, CloudCredentialCount{Provider: k[0], Result: k[1], N: n})
	}
	return out
}

// CloudError is a cloud helper's failure to give strata credentials for a
// registry host.
type CloudError struct {
	Provider string
	Host     string
	Err      error
}

func (e *CloudError) Unwrap() error { return e.Err }

func (e *CloudError) Error() string {
	return fmt.Sprintf("the %s helper for %s: %s", e.Provider, e.Host, redact(e.Err.Error()))
}

// advice says what the failure means and what to check.
func (e *CloudError) advice(kind Kind) string {
	names, ok := cloudNames[e.Provider]
	if !ok {
		names.service, names.check = e.Provider, "check strata's cloud identity"
	}
	if kind == KindTimeout {
		return fmt.Sprintf("%s did not give strata credentials for %s within the resolution budget: %s, and that its token API is reachable", names.service, e.Host, names.check)
	}
	return fmt.Sprintf("%s refused strata's identity for %s: %s", names.service, e.Host, names.check)
}

// cloudNames are what a user calls each provider's cloud, and what to
// check when it refuses strata.
var cloudNames = map[string]struct{ service, check string }{
	"ecr":    {"ECR", "check the IAM role of strata's service account (eks.amazonaws.com/role-arn, or its EKS Pod Identity association) and that it may call ecr:GetAuthorizationToken"},
	"google": {"Google's metadata server", "check the Google service account strata's Kubernetes service account is bound to (iam.gke.io/gcp-service-account) and that it has roles/artifactregistry.reader"},
	"azure":  {"Azure", "check the managed identity or app strata's service account federates with (azure.workload.identity/client-id), the pod label azure.workload.identity/use, and its AcrPull role on the registry"},
}

// blocking returns the error of a resolution whose budget ended while a
// token request for its host was still running, or nil: the cause to name
// is the token API, not the registry.
func (k *cloudKeychain) blocking(host string, cause error) *CloudError {
	k.mu.Lock()
	provider, ok := k.inFlight[host]
	k.mu.Unlock()
	if !ok {
		return nil
	}
	return &CloudError{Provider: provider, Host: host, Err: fmt.Errorf("its token API had not answered when the budget ended: %w", cause)}
}

// missingHelper returns the advice for a refusal by a cloud registry whose
// helper is not enabled, or "".
func (k *cloudKeychain) missingHelper(host string) string {
	name := k.opts.Helper(host)
	if name == "" || k.enabled(name) {
		return ""
	}
	return fmt.Sprintf("no credentials for %s: the %s helper is not enabled (registry.credentials)", host, name)
}
