package images

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	k8schain "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	k8serrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-project/strata/webhook/internal/lru"
)

// PullSecretOptions configure PullSecrets; the zero value is usable.
type PullSecretOptions struct {
	// Fallback is consulted after the pod's secrets, for registries they do
	// not cover. Default: authn.DefaultKeychain (strata's own docker config).
	Fallback authn.Keychain
	// TTL is how long the secrets read for one namespace, service account and
	// secret list are reused before they are read again. Default: 1 minute.
	TTL time.Duration
	// Now is the clock for TTL. Default: time.Now.
	Now func() time.Time
	// CacheBytes bounds the credentials kept for all scopes, by the bytes
	// they are estimated to hold: tenants write both the secrets and the
	// lists that make scopes. Default: DefaultPullSecretCacheBytes.
	CacheBytes int64
	// NamespaceRate bounds the API reads made for one namespace's pods, per
	// second, in bursts of one pod naming the most secrets strata reads:
	// its tenants choose how many reads each pod costs, and a namespace
	// that reads fast must not delay another's. Default:
	// DefaultNamespaceRate.
	NamespaceRate float64
}

// DefaultPullSecretCacheBytes is the pull-secret cache's share of the
// default cache budget (cache.maxBytes): thousands of scopes of ordinary
// (kilobyte) secrets.
const DefaultPullSecretCacheBytes = 4 << 20

// secretRetention is how many bytes of credentials a scope keeps per byte
// of secret data read, measured (TestLargePullSecretsCannotHoldTheCredentialsCachePastItsBudget:
// about 3.5): the parsed docker config keeps the encoded and decoded auth.
const secretRetention = 4

// PullSecrets builds the credentials of a pod the way the kubelet does: its
// imagePullSecrets plus its service account's, read from the pod's own
// namespace only. Each secret only authenticates to the registry hosts it
// names, and its credentials are sent to a registry's token service only
// when the secret names that host too (or it is the registry's well-known
// token service), so they never reach a host the secret does not name.
type PullSecrets struct {
	client kubernetes.Interface
	opts   PullSecretOptions
	cache  *lru.Cache[string, accessEntry]

	mu       sync.Mutex
	limiters *lru.Cache[string, *rate.Limiter] // by namespace
}

type accessEntry struct {
	access  Access
	created time.Time
}

// NewPullSecrets returns a PullSecrets that reads secrets through client.
func NewPullSecrets(client kubernetes.Interface, opts PullSecretOptions) *PullSecrets {
	if opts.Fallback == nil {
		opts.Fallback = authn.DefaultKeychain
	}
	if opts.TTL <= 0 {
		opts.TTL = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = DefaultPullSecretCacheBytes
	}
	if opts.NamespaceRate <= 0 {
		opts.NamespaceRate = DefaultNamespaceRate
	}
	return &PullSecrets{
		client: client, opts: opts, cache: lru.New[string, accessEntry](0, opts.CacheBytes),
		limiters: lru.New[string, *rate.Limiter](maxNamespaceLimiters, maxNamespaceLimiters*(lru.EntryOverhead+63+limiterBytes)),
	}
}

// DefaultNamespaceRate is the API reads per second strata makes for one
// namespace's pods unless told.
const DefaultNamespaceRate = 10

// maxNamespaceLimiters bounds the namespaces whose read rate is
// remembered; one forgotten starts again with a full burst, which only
// tenants of many namespaces could use.
const maxNamespaceLimiters = 10_000

// limiterBytes is what a rate.Limiter holds (its mutex, rate, burst,
// tokens and times).
const limiterBytes = 96

// limiter is namespace's bound on reads: a full burst covers one pod that
// names maxPullSecrets secrets, and its service account.
func (p *PullSecrets) limiter(namespace string) *rate.Limiter {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.limiters.Get(namespace)
	if !ok {
		l = rate.NewLimiter(rate.Limit(p.opts.NamespaceRate), maxPullSecrets+1)
		p.limiters.Add(namespace, l, int64(len(namespace))+limiterBytes)
	}
	return l
}

// Access returns the credentials of a pod in namespace running as
// serviceAccount with the named imagePullSecrets. The Scope it returns is
// distinct per namespace, so resolutions made with one namespace's secrets
// are never reused for another namespace's pods. Without a namespace no
// secret is read: the kubelet has none to read either.
func (p *PullSecrets) Access(ctx context.Context, namespace, serviceAccount string, secrets []string) (Access, error) {
	if serviceAccount == "" {
		serviceAccount = "default"
	}
	secrets = slices.Sorted(slices.Values(secrets))
	secrets = slices.Compact(secrets)
	scope := "k8s/" + namespace + "/" + serviceAccount + "/" + strings.Join(secrets, ",")
	if e, ok := p.cache.Get(scope); ok && p.opts.Now().Sub(e.created) < p.opts.TTL {
		return e.access, nil
	}
	var found []corev1.Secret
	if namespace != "" {
		var err error
		if found, err = p.read(ctx, namespace, serviceAccount, secrets); err != nil {
			return Access{}, fmt.Errorf("reading image pull secrets of namespace %s (service account %s): %w", namespace, serviceAccount, err)
		}
	}
	kc, err := k8schain.NewFromPullSecrets(ctx, found)
	if err != nil {
		return Access{}, fmt.Errorf("reading image pull secrets of namespace %s (service account %s): %w", namespace, serviceAccount, err)
	}
	hosts := secretHosts(found)
	access := Access{
		Scope:    scope,
		Keychain: authn.NewMultiKeychain(kc, p.opts.Fallback),
		Fence:    func(next http.RoundTripper) http.RoundTripper { return &credentialFence{next: next, hosts: hosts} },
	}
	cost := int64(len(scope)) + 1<<10
	for _, secret := range found {
		for _, v := range secret.Data {
			cost += secretRetention * int64(len(v))
		}
	}
	p.cache.Add(scope, accessEntry{access: access, created: p.opts.Now()}, cost)
	return access, nil
}

// maxPullSecrets bounds the secrets read for one pod, its service
// account's included; real pods name a few.
const maxPullSecrets = 64

// read returns the pod's pull secrets and its service account's, as the
// kubelet finds them: a missing secret or service account is skipped.
//
// Every read waits on the namespace's own limiter first, so that the reads
// one namespace's pods ask for never queue in front of another's.
func (p *PullSecrets) read(ctx context.Context, namespace, serviceAccount string, names []string) ([]corev1.Secret, error) {
	lim := p.limiter(namespace)
	wait := func() error {
		if err := lim.Wait(ctx); err != nil {
			return fmt.Errorf("the pods of namespace %s are reading pull secrets faster than strata reads them for one namespace (%v per second): %w", namespace, p.opts.NamespaceRate, err)
		}
		return nil
	}
	if err := wait(); err != nil {
		return nil, err
	}
	sa, err := p.client.CoreV1().ServiceAccounts(namespace).Get(ctx, serviceAccount, metav1.GetOptions{})
	switch {
	case k8serrors.IsNotFound(err):
	case err != nil:
		return nil, err
	default:
		for _, ref := range sa.ImagePullSecrets {
			names = append(names, ref.Name)
		}
	}
	// The Pod API does not bound the list: one pod must not cost the API
	// server thousands of reads on every admission of it.
	if len(names) > maxPullSecrets {
		return nil, fmt.Errorf("the pod and its service account name %d image pull secrets, more than the %d strata reads: name fewer", len(names), maxPullSecrets)
	}
	var out []corev1.Secret
	for _, name := range names {
		if err := wait(); err != nil {
			return nil, err
		}
		s, err := p.client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		if k8serrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, nil
}

// secretHost is one registry entry of a pull secret: the host it names (a
// glob per dot-separated part, with its port) and the credentials for it.
type secretHost struct {
	secret string
	host   string
	auth   authn.AuthConfig
}

// secretHosts lists the registry entries of secrets, parsed as the
// go-containerregistry keychain parses them (scheme and path ignored).
func secretHosts(secrets []corev1.Secret) []secretHost {
	var out []secretHost
	for _, s := range secrets {
		auths := map[string]authn.AuthConfig{}
		switch {
		case s.Type == corev1.SecretTypeDockerConfigJson && len(s.Data[corev1.DockerConfigJsonKey]) > 0:
			var cfg struct{ Auths map[string]authn.AuthConfig }
			if json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg) != nil {
				continue // the keychain has refused it already
			}
			auths = cfg.Auths
		case s.Type == corev1.SecretTypeDockercfg && len(s.Data[corev1.DockerConfigKey]) > 0:
			if json.Unmarshal(s.Data[corev1.DockerConfigKey], &auths) != nil {
				continue
			}
		}
		for key, auth := range auths {
			if !strings.Contains(key, "://") {
				key = "https://" + key
			}
			if u, err := url.Parse(key); err == nil && u.Host != "" {
				out = append(out, secretHost{secret: s.Name, host: u.Host, auth: auth})
			}
		}
	}
	return out
}

// hostMatches matches host:port against a secret's host glob as the kubelet
// and go-containerregistry's keychain do: same port, same number of
// dot-separated parts, each matched as a glob (*.example.com).
func hostMatches(glob, host string) bool {
	gh, gp := splitHostPort(glob)
	th, tp := splitHostPort(host)
	gparts, tparts := strings.Split(gh, "."), strings.Split(th, ".")
	if gp != tp || len(gparts) != len(tparts) {
		return false
	}
	for i := range gparts {
		if ok, err := filepath.Match(gparts[i], tparts[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

// withoutDefaultPort is u's host as a pull secret would name it:
// registry.example.com, not registry.example.com:443.
func withoutDefaultPort(u *url.URL) string {
	if p := u.Port(); p == "443" && u.Scheme == "https" || p == "80" && u.Scheme == "http" {
		return u.Hostname()
	}
	return u.Host
}

func splitHostPort(hostport string) (string, string) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		return h, p
	}
	return hostport, ""
}

// knownTokenService reports the public registries whose token service lives
// on another host, so that a secret naming only the registry still works.
func knownTokenService(registry, realm string) bool {
	switch registry {
	case "index.docker.io", "registry-1.docker.io", "docker.io":
		return realm == "auth.docker.io"
	case "registry.gitlab.com":
		return realm == "gitlab.com"
	}
	return false
}

// credentialFence refuses a Bearer challenge that would make
// go-containerregistry send a pull secret's credentials (basic auth or an
// identity token) to a token realm on a host the secret does not name: a
// registry must not be able to forward a namespace's credentials anywhere.
type credentialFence struct {
	next  http.RoundTripper
	hosts []secretHost
}

func (f *credentialFence) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := f.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	for _, c := range resp.Header.Values("WWW-Authenticate") {
		scheme, _, _ := strings.Cut(c, " ")
		m := challengeRealm.FindStringSubmatch(c)
		if m == nil || !strings.EqualFold(scheme, "bearer") {
			continue
		}
		realm, err := req.URL.Parse(m[1])
		if err != nil {
			continue // go-containerregistry refuses it
		}
		if err := f.check(withoutDefaultPort(req.URL), withoutDefaultPort(realm)); err != nil {
			drainClose(resp.Body)
			return nil, err
		}
	}
	return resp, nil
}

// check refuses realm for registry when a secret has credentials for the
// registry but names neither realm nor a known pairing of the two.
func (f *credentialFence) check(registry, realm string) error {
	if realm == registry || knownTokenService(registry, realm) {
		return nil
	}
	for _, e := range f.hosts {
		if !hostMatches(e.host, registry) {
			continue
		}
		named := slices.ContainsFunc(f.hosts, func(o secretHost) bool { return o.auth == e.auth && hostMatches(o.host, realm) })
		if !named {
			return &errRefused{msg: fmt.Sprintf("registry %s asks for the credentials of pull secret %s to be sent to the token service %s, which that secret does not name: add %s to the secret's auths if it is %s's token service", registry, e.secret, realm, realm, registry)}
		}
	}
	return nil
}
