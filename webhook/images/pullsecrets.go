package images

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	k8schain "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	"k8s.io/client-go/kubernetes"
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
}

// PullSecrets builds the credentials of a pod the way the kubelet does: its
// imagePullSecrets plus its service account's, read from the pod's own
// namespace only. Each secret only authenticates to the registry hosts it
// names, so credentials are never sent to another registry.
type PullSecrets struct {
	client kubernetes.Interface
	opts   PullSecretOptions
	cache  *lru[string, accessEntry]
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
	return &PullSecrets{client: client, opts: opts, cache: newLRU[string, accessEntry](4096, 1<<62)}
}

// Access returns the credentials of a pod in namespace running as
// serviceAccount with the named imagePullSecrets. The Scope it returns is
// distinct per namespace, so resolutions made with one namespace's secrets
// are never reused for another namespace's pods.
func (p *PullSecrets) Access(ctx context.Context, namespace, serviceAccount string, secrets []string) (Access, error) {
	if serviceAccount == "" {
		serviceAccount = "default"
	}
	secrets = slices.Sorted(slices.Values(secrets))
	secrets = slices.Compact(secrets)
	scope := "k8s/" + namespace + "/" + serviceAccount + "/" + strings.Join(secrets, ",")
	if e, ok := p.cache.get(scope); ok && p.opts.Now().Sub(e.created) < p.opts.TTL {
		return e.access, nil
	}
	kc, err := k8schain.New(ctx, p.client, k8schain.Options{
		Namespace:          namespace,
		ServiceAccountName: serviceAccount,
		ImagePullSecrets:   secrets,
	})
	if err != nil {
		return Access{}, fmt.Errorf("reading image pull secrets of namespace %s (service account %s): %w", namespace, serviceAccount, err)
	}
	access := Access{Scope: scope, Keychain: authn.NewMultiKeychain(kc, p.opts.Fallback)}
	p.cache.add(scope, accessEntry{access: access, created: p.opts.Now()}, 1)
	return access, nil
}
