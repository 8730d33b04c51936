package images

import (
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// docs/registries.md, "Credentials, in order": for a pod's image strata
// tries the pod's pull secrets first, then its own credentials. The
// registry takes only alice: the pod's secret (alice) wins over strata's
// own (bob), and strata's own (alice) serve a pod without a secret.
func TestPodsPullSecretsAreTriedBeforeStratasOwnCredentials(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	reg.push(t, "private/app:1", testImage(t, 1, "1000", "linux/amd64"))
	reg.setWrap(requireBasicAuth("alice", "s3cret"))
	client := fake.NewClientset(
		dockerConfigSecret("shop", "regcred", reg.host, "alice", "s3cret"),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "default"}},
	)
	for _, tc := range []struct {
		name        string
		own         authn.Authenticator
		pullSecrets []string
		wantKind    Kind
	}{
		{"the pod's secret before strata's own", &authn.Basic{Username: "bob", Password: "wrong"}, []string{"regcred"}, ""},
		{"strata's own without a pod secret", &authn.Basic{Username: "alice", Password: "s3cret"}, nil, ""},
		{"neither", &authn.Basic{Username: "bob", Password: "wrong"}, nil, KindUnauthorized},
	} {
		secrets := NewPullSecrets(client, PullSecretOptions{Fallback: staticKeychain{host: reg.host, auth: tc.own}})
		access, err := secrets.Access(testContext(t, 5*time.Second), "shop", "", tc.pullSecrets)
		if err != nil {
			t.Fatalf("%s: Access: %v", tc.name, err)
		}
		r := newTestResolver(t, reg, Options{})
		if _, err := r.Resolve(testContext(t, 5*time.Second), reg.ref("private/app:1"), access); KindOf(err) != tc.wantKind {
			t.Errorf("%s: Resolve = %v, want kind %q", tc.name, err, tc.wantKind)
		}
	}
}
