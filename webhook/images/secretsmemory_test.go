package images

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/strata-project/strata/webhook/internal/memtest"
)

// The credentials read for each namespace, service account and secret list
// were kept for 4,096 such scopes whatever they weighed, and tenants write
// both the secrets (up to about 1 MiB each) and the lists: 200 pods naming
// a 1 MiB secret under distinct service accounts kept every copy. The
// scopes' credentials are now bounded by their bytes.
func TestLargePullSecretsCannotHoldTheCredentialsCachePastItsBudget(t *testing.T) {
	client := fake.NewClientset(dockerConfigSecret("tenant", "big", "registry.example.com", "alice", strings.Repeat("p", 1<<20)))
	secrets := NewPullSecrets(client, PullSecretOptions{Fallback: authn.NewMultiKeychain()})
	const scopes = 200
	memtest.HeldWithin(t, memtest.Bound{What: fmt.Sprintf("%d scopes naming a 1 MiB pull secret", scopes), Budget: DefaultPullSecretCacheBytes, Slack: 4 << 20}, func() {
		for i := range scopes {
			if _, err := secrets.Access(t.Context(), "tenant", fmt.Sprintf("sa-%d", i), []string{"big"}); err != nil {
				t.Fatal(err)
			}
		}
	}, secrets)
}
