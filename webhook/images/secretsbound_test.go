package images

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// imagePullSecrets is a list without a bound in the Pod API: a pod that
// names thousands of secrets made strata GET each from the API server, one
// after another, on every admission of it (the scope, and so the cache key,
// is the whole list). One request of a user who may create pods became
// thousands of API calls.
func TestThousandsOfImagePullSecretsAreNotThousandsOfAPICalls(t *testing.T) {
	t.Parallel()
	client := fake.NewClientset()
	var gets atomic.Int64
	client.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		gets.Add(1)
		return false, nil, nil
	})
	secrets := NewPullSecrets(client, PullSecretOptions{Fallback: authn.NewMultiKeychain()})
	names := make([]string, 5000)
	for i := range names {
		names[i] = fmt.Sprintf("s%d", i)
	}
	_, err := secrets.Access(testContext(t, 10*time.Second), "shop", "default", names)
	if n := gets.Load(); n > 100 {
		t.Errorf("Access with %d image pull secrets made %d secret GETs, want at most 100 (err %v)", len(names), n, err)
	}
	if err != nil && !strings.Contains(err.Error(), "5000") {
		t.Errorf("Access with %d image pull secrets = %v, want an error that says how many the pod names", len(names), err)
	}
}
