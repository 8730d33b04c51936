package cloud

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/webhook/images"
)

const garHost = "europe-west1-docker.pkg.dev"

// metadataStandIn stands in for the GKE metadata server on loopback, set
// through GCE_METADATA_HOST as the Google client libraries read it: it
// issues access token for the Workload Identity of strata's pod.
func metadataStandIn(t *testing.T, token string) *standIn {
	t.Helper()
	s := &standIn{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "missing Metadata-Flavor", http.StatusForbidden)
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		switch {
		case strings.HasPrefix(req.URL.Path, "/computeMetadata/v1/instance/service-accounts/default/token"):
			s.Calls.Add(1)
			if s.Hang.Load() {
				wait(t, req)
				return
			}
			if s.Refuse.Load() {
				http.Error(w, "Workload Identity: the Kubernetes service account is not bound to a Google service account", http.StatusForbidden)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":%q,"expires_in":3599,"token_type":"Bearer"}`, token)
		case req.URL.Path == "/computeMetadata/v1/project/project-id":
			fmt.Fprint(w, "strata-project")
		case req.URL.Path == "/computeMetadata/v1/universe/universe-domain":
			fmt.Fprint(w, "googleapis.com")
		default:
			http.NotFound(w, req)
		}
	}))
	t.Cleanup(srv.Close)
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(srv.URL, "http://"))
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("HOME", t.TempDir()) // no gcloud application default credentials
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	return s
}

func TestGooglePrivateImageResolvesWithTheHelpersToken(t *testing.T) {
	reg := newPrivateRegistry(t, "_token", "gke-access-token")
	reg.push(t, "proj/repo/app:1")
	md := metadataStandIn(t, "gke-access-token")
	r := resolver(t, reg, images.Options{Cloud: images.CloudOptions{Providers: []images.CloudProvider{NewGoogle(Options{})}}}, garHost)

	if _, err := r.Resolve(testContext(t, 30*time.Second), garHost+"/proj/repo/app:1", images.Access{}); err != nil {
		t.Fatalf("resolving a private Artifact Registry image with the google helper: %v", err)
	}
	if n := md.Calls.Load(); n != 1 {
		t.Errorf("%d token requests to the metadata server, want 1", n)
	}
}

func TestGoogleImageWithoutTheHelperNamesTheMissingHelper(t *testing.T) {
	reg := newPrivateRegistry(t, "_token", "gke-access-token")
	reg.push(t, "proj/repo/app:1")
	md := metadataStandIn(t, "gke-access-token")
	r := resolver(t, reg, images.Options{}, garHost)

	_, err := r.Resolve(testContext(t, 30*time.Second), garHost+"/proj/repo/app:1", images.Access{})
	want := "no credentials for " + garHost + ": the google helper is not enabled (registry.credentials)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an error saying %q", err, want)
	}
	if n := md.Calls.Load(); n != 0 {
		t.Errorf("the metadata server was asked %d times with the helper off", n)
	}
}

func TestGoogleRefusalNamesTheServiceAccountBinding(t *testing.T) {
	reg := newPrivateRegistry(t, "_token", "gke-access-token")
	reg.push(t, "proj/repo/app:1")
	md := metadataStandIn(t, "gke-access-token")
	md.Refuse.Store(true)
	r := resolver(t, reg, images.Options{Cloud: images.CloudOptions{Providers: []images.CloudProvider{NewGoogle(Options{})}}}, garHost)

	_, err := r.Resolve(testContext(t, 30*time.Second), garHost+"/proj/repo/app:1", images.Access{})
	want := "Google's metadata server refused strata's identity for " + garHost + ": check the Google service account"
	if images.KindOf(err) != images.KindUnauthorized || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an unauthorized error saying %q", err, want)
	}
}
