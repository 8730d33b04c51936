package cloud

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/google"
	"golang.org/x/oauth2"
	googauth "golang.org/x/oauth2/google"

	"github.com/strata-project/strata/webhook/images"
)

// cloudPlatformScope is the OAuth scope Google's registries accept.
const cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// Google reads access tokens from Application Default Credentials: on GKE
// the metadata server, which answers for the Google service account
// strata's Kubernetes service account is bound to (Workload Identity). It
// is go-containerregistry's google keychain without its two faults for a
// webhook: that keychain resolves once for the life of the process (a
// first failure stays anonymous forever) and falls back to running gcloud.
type Google struct {
	opts Options

	mu     sync.Mutex
	source oauth2.TokenSource
}

// NewGoogle returns the Google helper.
func NewGoogle(opts Options) *Google { return &Google{opts: opts} }

func (*Google) Name() string { return "google" }

func (*Google) Owns(host string) bool { return ownsGoogle(host) }

// ownsGoogle reports Container Registry (gcr.io and its regional hosts) and
// Artifact Registry (<location>-docker.pkg.dev).
func ownsGoogle(host string) bool {
	return host == "gcr.io" || strings.HasSuffix(host, ".gcr.io") || strings.HasSuffix(host, "-docker.pkg.dev") && !strings.Contains(strings.TrimSuffix(host, "-docker.pkg.dev"), ".")
}

// Credentials returns an access token of strata's Google identity.
func (g *Google) Credentials(ctx context.Context, _ images.CloudRequest) (authn.AuthConfig, time.Time, error) {
	ts, err := g.tokenSource(ctx)
	if err != nil {
		return authn.AuthConfig{}, time.Time{}, err
	}
	tok, err := ts.Token()
	if err != nil {
		return authn.AuthConfig{}, time.Time{}, fmt.Errorf("reading an access token: %w", err)
	}
	auth, err := google.NewTokenSourceAuthenticator(oauth2.StaticTokenSource(tok)).Authorization()
	if err != nil {
		return authn.AuthConfig{}, time.Time{}, err
	}
	return *auth, tok.Expiry, nil
}

// tokenSource finds the default credentials once they are found; a failure
// to find them is retried on the next call (the keychain caches failures).
func (g *Google) tokenSource(ctx context.Context) (oauth2.TokenSource, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.source != nil {
		return g.source, nil
	}
	// The source keeps this context for its token requests: a detached
	// one, so that the first caller's deadline does not end later ones.
	sctx := context.WithoutCancel(ctx)
	if g.opts.HTTPClient != nil {
		sctx = context.WithValue(sctx, oauth2.HTTPClient, g.opts.HTTPClient)
	}
	creds, err := googauth.FindDefaultCredentials(sctx, cloudPlatformScope)
	if err != nil {
		return nil, fmt.Errorf("finding Google credentials: %w", err)
	}
	// Not a ReuseTokenSource: the keychain above caches the token and knows
	// when to ask again.
	g.source = creds.TokenSource
	return g.source, nil
}
