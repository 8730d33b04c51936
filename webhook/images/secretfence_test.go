package images

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// tokenService is a Bearer token realm that records the Authorization
// headers it receives and hands out a token the registry accepts.
type tokenService struct {
	*recordingServer
	host string // as the realm names it: localhost:port
}

func newTokenService(t *testing.T) *tokenService {
	t.Helper()
	ts := &tokenService{recordingServer: newRecordingServer(t, func(req *http.Request) string { return req.Header.Get("Authorization") },
		func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"token":"registry-token"}`) })}
	// A name, not 127.0.0.1: go-containerregistry itself refuses realms on
	// loopback addresses of another host.
	ts.host = strings.Replace(strings.TrimPrefix(ts.URL, "http://"), "127.0.0.1", "localhost", 1)
	return ts
}

// requireBearer makes the registry send every request without its token to
// realm, as a registry with a separate token service does.
func requireBearer(realm string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Header.Get("Authorization") != "Bearer registry-token" {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="registry"`, realm))
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, req)
		})
	}
}

func pullSecret(namespace, name string, hosts ...string) *corev1.Secret {
	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	var entries []string
	for _, h := range hosts {
		entries = append(entries, fmt.Sprintf("%q:{\"auth\":%q}", h, auth))
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{` + strings.Join(entries, ",") + `}}`)},
	}
}

// TestTokenRealmOnAnotherHostDoesNotReceivePullSecret: a registry named in a
// pull secret answers with a Bearer challenge whose token realm is another
// host. go-containerregistry would send the secret's basic credentials there;
// strata refuses unless the secret names that host too.
func TestTokenRealmOnAnotherHostDoesNotReceivePullSecret(t *testing.T) {
	t.Parallel()
	tokens := newTokenService(t)
	reg := newTestRegistry(t)
	reg.push(t, "private/app:1", testImage(t, 1, "1000", "linux/amd64"))
	reg.mu.Lock()
	reg.wrap = requireBearer("http://" + tokens.host + "/token")
	reg.mu.Unlock()

	client := fake.NewClientset(
		pullSecret("team-a", "regcred", reg.host),
		pullSecret("team-b", "regcred", reg.host, tokens.host),
	)
	secrets := NewPullSecrets(client, PullSecretOptions{Fallback: authn.NewMultiKeychain()})
	r := newTestResolver(t, reg, Options{Insecure: []string{tokens.host}})
	image := reg.ref("private/app:1")

	access, err := secrets.Access(testContext(t, 5*time.Second), "team-a", "", []string{"regcred"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Resolve(testContext(t, 5*time.Second), image, access)
	if got := tokens.seen(); len(got) > 0 {
		t.Fatalf("the token realm %s, which the pull secret does not name, received %q", tokens.host, got)
	}
	if err == nil || !strings.Contains(err.Error(), "regcred") || !strings.Contains(err.Error(), tokens.host) {
		t.Errorf("Resolve(%s) = %v, want an error naming the secret and the realm host", image, err)
	}
	if strings.Contains(fmt.Sprint(err), "s3cret") {
		t.Errorf("error %q contains the password", err)
	}

	// A secret that names the token service's host too is sent there.
	access, err = secrets.Access(testContext(t, 5*time.Second), "team-b", "", []string{"regcred"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(testContext(t, 5*time.Second), image, access); err != nil {
		t.Errorf("Resolve(%s) with a secret naming the realm = %v, want success", image, err)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	if got := tokens.seen(); len(got) == 0 || got[0] != want {
		t.Errorf("the token realm named in the secret received %q, want the secret's credentials", got)
	}
}

// TestRequestWithoutNamespaceReadsNoSecrets: the kubelet reads pull secrets
// in the pod's namespace; a request that names none must not fall back to
// the "default" namespace's secrets.
func TestRequestWithoutNamespaceReadsNoSecrets(t *testing.T) {
	t.Parallel()
	client := fake.NewClientset(pullSecret("default", "regcred", "registry.example.com"))
	secrets := NewPullSecrets(client, PullSecretOptions{Fallback: authn.NewMultiKeychain()})
	if _, err := secrets.Access(testContext(t, 5*time.Second), "", "", []string{"regcred"}); err != nil {
		t.Fatal(err)
	}
	for _, a := range client.Actions() {
		t.Errorf("Access without a namespace made API call %s %s in namespace %q, want none", a.GetVerb(), a.GetResource().Resource, a.GetNamespace())
	}
}

func TestTokenRealmPairings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		registry, realm string
		want            bool
	}{
		{"index.docker.io", "auth.docker.io", true},
		{"registry-1.docker.io", "auth.docker.io", true},
		{"registry.gitlab.com", "gitlab.com", true},
		{"index.docker.io", "gitlab.com", false},
		{"registry.example.com", "auth.docker.io", false},
	} {
		if got := knownTokenService(tc.registry, tc.realm); got != tc.want {
			t.Errorf("knownTokenService(%q, %q) = %v, want %v", tc.registry, tc.realm, got, tc.want)
		}
	}
}

// TestTokenRealmNamedWithOtherCredentialsIsRefused: the realm must be named
// with the same credentials that the registry's entry would send there;
// another secret naming the realm host does not make it a destination for
// this one's credentials.
func TestTokenRealmNamedWithOtherCredentialsIsRefused(t *testing.T) {
	t.Parallel()
	alice := authn.AuthConfig{Username: "alice", Password: "s3cret"}
	bob := authn.AuthConfig{Username: "bob", Password: "hunter2"}
	f := &credentialFence{hosts: []secretHost{
		{secret: "corp", host: "*.corp.example", auth: alice},
		{secret: "corp", host: "sso.example", auth: alice},
		{secret: "other", host: "tokens.example", auth: bob},
	}}
	for _, tc := range []struct {
		registry, realm string
		allowed         bool
	}{
		{"registry.corp.example", "registry.corp.example", true},
		{"registry.corp.example", "sso.example", true},
		{"registry.corp.example", "auth.corp.example", true}, // the wildcard names it
		{"registry.corp.example", "tokens.example", false},   // named, but with bob's credentials
		{"registry.corp.example", "evil.example", false},
		{"registry.corp.example:5000", "evil.example", true}, // no secret has credentials for port 5000
		{"public.example", "evil.example", true},             // nor for this registry
	} {
		err := f.check(tc.registry, tc.realm)
		if (err == nil) != tc.allowed {
			t.Errorf("check(%q, %q) = %v, want allowed %v", tc.registry, tc.realm, err, tc.allowed)
		}
		if err != nil && (strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "pull secret corp")) {
			t.Errorf("check(%q, %q) = %q, want the secret named and no password", tc.registry, tc.realm, err)
		}
	}
	for in, want := range map[string]string{
		"https://auth.example:443/token": "auth.example",
		"http://auth.example:80/token":   "auth.example",
		"https://auth.example:8443/t":    "auth.example:8443",
		"http://auth.example:443/token":  "auth.example:443",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := withoutDefaultPort(u); got != want {
			t.Errorf("withoutDefaultPort(%s) = %q, want %q", in, got, want)
		}
	}
}
