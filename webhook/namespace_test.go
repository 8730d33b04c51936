package webhook

import (
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/policy"
)

// TestForeignNamespaceObjectCannotBorrowVictimsPullSecret: anyone who can
// reach the webhook port can post a review for their own namespace whose
// object claims another one. The victim's secret must not be read, its
// credentials must not reach the attacker's registry, and the request is
// refused in every mode: the API server never sends such a request.
func TestForeignNamespaceObjectCannotBorrowVictimsPullSecret(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var authorizations []string
	quiet := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if a := r.Header.Get("Authorization"); a != "" {
			authorizations = append(authorizations, a)
		}
		mu.Unlock()
		quiet.ServeHTTP(w, r)
	}))
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")

	secret := base64.StdEncoding.EncodeToString([]byte("victim:s3cret"))
	client := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "victim", Name: "regcred"},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, secret))},
	})
	resolver, err := images.NewResolver(images.Options{Insecure: []string{host}, Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(resolver.Close)
	p := newPipeline(t)
	checker := NewChecker(CheckerOptions{
		Resolver:    resolver,
		Lineage:     p.Catalog,
		Evaluator:   p.Engine,
		Credentials: images.NewPullSecrets(client, images.PullSecretOptions{Fallback: authn.NewMultiKeychain()}),
	})

	pod := map[string]any{
		"apiVersion": "v1",
		"kind":       "Pod",
		"metadata":   map[string]any{"name": "probe", "namespace": "victim"},
		"spec": map[string]any{
			"imagePullSecrets": []any{map[string]any{"name": "regcred"}},
			"containers":       []any{map[string]any{"name": "app", "image": host + "/private/app:1"}},
		},
	}
	body := editReview(t, reviewOf(t, "forged-uid", "Pod", "CREATE", pod, nil), func(req map[string]any) { req["namespace"] = "attacker" })

	for mode, h := range handlers(checker, nil, nil) {
		srv := serveHandler(t, h)
		r := admit(t, srv.URL, body)
		if r.Allowed || r.Result == nil || !strings.Contains(r.Result.Message, `namespace "victim"`) || !strings.Contains(r.Result.Message, `"attacker"`) {
			t.Errorf("%s: forged review = allowed %v, %+v; want refused, naming both namespaces", mode, r.Allowed, r.Result)
		}
	}
	for _, a := range client.Actions() {
		if a.GetNamespace() == "victim" {
			if g, ok := a.(k8stesting.GetAction); ok {
				t.Errorf("strata read %s %s/%s for a review of namespace attacker", a.GetResource().Resource, a.GetNamespace(), g.GetName())
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(authorizations) > 0 {
		t.Errorf("the registry received credentials %q, want none", authorizations)
	}
}

// A workload that leaves its namespace to the request is still checked in
// the request's namespace.
func TestObjectWithoutNamespaceIsCheckedInRequestNamespace(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	pod := podOf("admin", "strata-demo.local/shop/admin:1.0")
	delete(pod["metadata"].(map[string]any), "namespace")
	srv := serveHandler(t, handlers(p.Checker, nil, nil)[policy.Enforce])
	r := admit(t, srv.URL, reviewOf(t, "no-namespace-uid", "Pod", "CREATE", pod, nil))
	if r.Allowed || r.Result == nil || r.Result.Code != http.StatusForbidden {
		t.Errorf("root pod without metadata.namespace = allowed %v, %+v; want a policy denial", r.Allowed, r.Result)
	}
}
