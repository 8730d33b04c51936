package images

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/google/go-containerregistry/pkg/authn"
)

// requireBasicAuth makes every request for repositories under private/ need
// user:pass, as a registry with per-repository access control does.
func requireBasicAuth(user, pass string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.HasPrefix(req.URL.Path, "/v2/private/") {
				u, p, ok := req.BasicAuth()
				if !ok || u != user || p != pass {
					w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
					http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
					return
				}
			}
			next.ServeHTTP(w, req)
		})
	}
}

func dockerConfigSecret(namespace, name, host, user, pass string) *corev1.Secret {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(cfg)},
	}
}

func TestPullSecretsArePerNamespace(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	reg.push(t, "private/app:1", testImage(t, 1, "1000", "linux/amd64"))
	reg.mu.Lock()
	reg.wrap = requireBasicAuth("alice", "s3cret")
	reg.mu.Unlock()

	client := fake.NewClientset(
		dockerConfigSecret("team-a", "regcred", reg.host, "alice", "s3cret"),
		// Team B has a secret of the same name, for another registry.
		dockerConfigSecret("team-b", "regcred", "other.example.com", "alice", "s3cret"),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "default"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "default"}},
		&corev1.ServiceAccount{
			ObjectMeta:       metav1.ObjectMeta{Namespace: "team-a", Name: "builder"},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
		},
	)
	secrets := NewPullSecrets(client, PullSecretOptions{Fallback: authn.NewMultiKeychain()})
	r := newTestResolver(t, reg, Options{})
	image := reg.ref("private/app:1")

	for _, tc := range []struct {
		name, namespace, serviceAccount string
		pullSecrets                     []string
		wantKind                        Kind // "" for success
	}{
		{"team A with the pod's pull secret", "team-a", "", []string{"regcred"}, ""},
		{"team A through its service account", "team-a", "builder", nil, ""},
		{"team B names a secret of the same name", "team-b", "", []string{"regcred"}, KindUnauthorized},
		{"team B with no secret, after team A resolved it", "team-b", "", nil, KindUnauthorized},
		{"team A without the secret", "team-a", "", nil, KindUnauthorized},
	} {
		access, err := secrets.Access(testContext(t, 5*time.Second), tc.namespace, tc.serviceAccount, tc.pullSecrets)
		if err != nil {
			t.Fatalf("%s: Access: %v", tc.name, err)
		}
		img, err := r.Resolve(testContext(t, 5*time.Second), image, access)
		if KindOf(err) != tc.wantKind {
			t.Errorf("%s: Resolve(%s) = %v, want kind %q", tc.name, image, err, tc.wantKind)
			continue
		}
		if tc.wantKind == "" && img.Platforms[0].Config.User.Raw != "1000" {
			t.Errorf("%s: Resolve(%s) user = %q, want 1000", tc.name, image, img.Platforms[0].Config.User.Raw)
		}
		if tc.wantKind == KindUnauthorized && !strings.Contains(err.Error(), "add an imagePullSecret") {
			t.Errorf("%s: error %q does not say how to fix it", tc.name, err)
		}
		if strings.Contains(fmt.Sprint(err), "s3cret") {
			t.Errorf("%s: error %q contains the password", tc.name, err)
		}
	}
}

func TestPullSecretsScopesDiffer(t *testing.T) {
	t.Parallel()
	secrets := NewPullSecrets(fake.NewClientset(), PullSecretOptions{Fallback: authn.NewMultiKeychain()})
	ctx := testContext(t, 5*time.Second)
	a, err := secrets.Access(ctx, "team-a", "", []string{"x", "y"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := secrets.Access(ctx, "team-b", "", []string{"x", "y"})
	a2, _ := secrets.Access(ctx, "team-a", "default", []string{"y", "x", "x"})
	if a.Scope == b.Scope {
		t.Errorf("Access scopes of two namespaces are both %q, want distinct", a.Scope)
	}
	if a.Scope != a2.Scope {
		t.Errorf("Access scopes of the same pod identity = %q and %q, want equal", a.Scope, a2.Scope)
	}
}
