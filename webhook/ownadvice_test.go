package webhook

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/internal/imagetest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// A registry that refuses strata: where pods' pull secrets are read, the
// advice is an imagePullSecret; where they are not (strata check, a webhook
// without --pull-secrets), it is strata's own credentials, since a pull
// secret would never be read.
func TestRefusalAdviceFitsWhereStrataReadsCredentials(t *testing.T) {
	t.Parallel()
	host := imagetest.BasicAuthRegistry(t, "user", "password")
	p := newPipeline(t)
	resolver, err := images.NewResolver(images.Options{Insecure: []string{host}, Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(resolver.Close)
	w := &workload.Workload{Kind: "Pod", Name: "p", Namespace: "shop", Containers: []workload.Container{{Name: "app", Type: workload.TypeContainer, Image: host + "/private/app:1"}}}
	for _, tc := range []struct {
		name  string
		creds Credentials
		want  string
	}{
		{"own credentials only", nil, "give strata credentials that can pull it (docker login, or DOCKER_CONFIG"},
		{"pods' pull secrets read", images.NewPullSecrets(fake.NewClientset(), images.PullSecretOptions{Fallback: authn.NewMultiKeychain()}), "add an imagePullSecret that can pull it"},
	} {
		c := NewChecker(CheckerOptions{Resolver: resolver, Lineage: p.Catalog, Evaluator: p.Engine, Credentials: tc.creds})
		vs := c.Check(t.Context(), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, w)
		if !slices.ContainsFunc(vs, func(v policy.Violation) bool {
			return v.Policy == "image-resolution" && strings.Contains(v.Msg, tc.want)
		}) {
			t.Errorf("%s: violations %v, want image-resolution advising %q", tc.name, vs, tc.want)
		}
	}
}
